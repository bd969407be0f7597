"""Why a task is stale, as data: each reason's kind, subject and old/new values,
the sentence users see ("params: train.lr 0.1 -> 0.5") and its JSON object."""

from __future__ import annotations

import enum
import json
import shlex
from typing import Any, NamedTuple

from gitpipe.core.jsondoc import plain
from gitpipe.core.ranges import template
from gitpipe.hashing.canonical import same
from gitpipe.pipeline.params import ABSENT
from gitpipe.trust.checks import terminal_text
from gitpipe.trust.plaintext import quoted


class Kind(enum.Enum):
    NEW = "new stage"
    FORCED = "forced"
    ALWAYS = "always_changed"
    CMD = "cmd changed"
    DEP_MODIFIED = "modified"
    DEP_MISSING = "missing"
    DEP_ADDED = "added"
    DEP_REMOVED = "removed"
    DEP_MODE = "mode changed"
    PYTHON_MODIFIED = "python: modified"
    PYTHON_IMPORTED = "python: newly imported"
    PYTHON_DROPPED = "python: no longer imported"
    PYTHON_MISSING = "python: names no module file of the project"
    PARAM = "params"
    OUT_MISSING = "out missing"
    OUT_MODIFIED = "out modified"
    OUT_DECLARED = "outs changed"
    OUT_KIND = "out kind changed"
    OUT_MODE = "out mode changed"
    UPSTREAM = "upstream"
    WDIR = "wdir changed"
    WDIR_UNUSABLE = "wdir unusable"
    ENV = "env changed"
    RUNTIME = "executor settings changed"
    FINGERPRINT = "fingerprint changed"
    # Not a cause: a note on a stage stale for other reasons, that its
    # dependents rerun after it whatever its outs hold (`deterministic: false`).
    NONDETERMINISTIC = "non-deterministic: downstream reruns whenever it runs"
    # Not a cause either: a frozen stage is neither judged nor run, and is
    # said so instead of "up to date" (Staleness.note, never a reason).
    FROZEN = "frozen"


# Reasons that change how gitpipe records a stage, not what its command
# produces: the stage is re-recorded in the lock without running.
RECORD_ONLY = frozenset({Kind.OUT_KIND})
# Reasons that only explain, given beside a cause and never alone.
NOTES = frozenset({Kind.NONDETERMINISTIC})
# A frozen stage's note (Kind.FROZEN): what it lacks when it never ran here,
# and what lets it run.
NEVER_RUN = "never run"
FROZEN_HINT = "hint: remove 'frozen: true' to let 'gitpipe repro' run it"
# Reasons that say what a stage's outs were made from has changed since:
# recording those outs without running (`commit`) keeps them as they are.
INPUTS = frozenset({Kind.CMD, Kind.DEP_MODIFIED, Kind.DEP_MISSING, Kind.DEP_ADDED,
                    Kind.DEP_REMOVED, Kind.DEP_MODE, Kind.PYTHON_MODIFIED,
                    Kind.PYTHON_IMPORTED, Kind.PYTHON_DROPPED, Kind.PARAM, Kind.WDIR,
                    Kind.ENV, Kind.RUNTIME})


class Reason(NamedTuple):
    """One cause of staleness; `str()` is what the user reads."""

    kind: Kind
    subject: str = ""
    old: Any = None
    new: Any = None
    by: str | None = None  # the module importing a `python:` dep's module

    def __str__(self) -> str:
        # Subjects and values come from the spec, params and the work tree's names.
        return terminal_text(self._sentence())

    def _sentence(self) -> str:
        kind = self.kind
        # First: the commonest where stages are wide (an item stale for each
        # stale task upstream): the tests below compare a dozen kinds, one
        # of them by hashing the kind, which an Enum does in Python.
        if kind is Kind.UPSTREAM:
            return f"upstream: {self.subject}"
        if kind in (Kind.DEP_MODIFIED, Kind.DEP_MISSING, Kind.DEP_ADDED, Kind.DEP_REMOVED):
            return f"deps: {self.subject} {kind.value}"
        if kind is Kind.DEP_MODE:
            return (f"deps: {self.subject} mode changed "
                    f"({_exec_bit(self.old)} -> {_exec_bit(self.new)})")
        if kind in _PYTHON_KINDS:
            return _python_sentence(self)
        if kind is Kind.PARAM:
            if self.old is ABSENT:
                return f"params: {self.subject} added ({_show(self.new)})"
            if self.new is ABSENT:
                return f"params: {self.subject} removed"
            if same(self.old, self.new):  # changes_between: declared under another name
                return (f"params: {self.subject} declared differently, "
                        f"same value ({_show(self.new)})")
            old, new = _show(self.old), _show(self.new)
            if old == new:  # one text, two types (a date and a string): say which is text
                old, new = _show_typed(self.old), _show_typed(self.new)
            return f"params: {self.subject} {old} -> {new}"
        if kind in (Kind.OUT_MISSING, Kind.OUT_MODIFIED):
            return f"outs: {self.subject} {kind.value.split()[1]}"
        if kind is Kind.OUT_DECLARED:
            return f"outs: {self.subject} {self.new}"
        if kind is Kind.OUT_KIND:
            # `old` is set when other reasons make the stage run anyway.
            alone = "" if self.old else " (re-recorded, no run)"
            return f"outs: {self.subject} declared as {self.new}{alone}"
        if kind is Kind.OUT_MODE:
            return (f"outs: {self.subject} mode changed "
                    f"({_exec_bit(self.old)} -> {_exec_bit(self.new)})")
        if kind is Kind.WDIR:
            return f"wdir changed ({self.old} -> {self.new})"
        if kind is Kind.WDIR_UNUSABLE:
            return f"wdir: {self.subject} {self.new}"
        if kind is Kind.CMD:
            return _cmd_change(self.old, self.new)
        if kind is Kind.ENV and self.subject and isinstance(self.old, dict):
            return f"env changed: {_env_changes(self)}"
        if kind is Kind.ENV and isinstance(self.new, dict):
            return f"env changed ({_env_text(self.new)})"
        if kind in (Kind.ENV, Kind.RUNTIME):
            return kind.value
        if kind is Kind.FINGERPRINT:
            return "env, wdir or executor settings changed"
        if kind is Kind.FROZEN:
            return ("frozen (frozen: true) and never run: no outs recorded"
                    if self.new == NEVER_RUN else "frozen (frozen: true): not checked for changes")
        if kind is Kind.NEW and self.new is not None:
            verb = self.new if self.new == "failed" else f"was {self.new}"  # cancelled, interrupted
            return f"never completed: its last run {verb}"
        if kind is Kind.NEW and self.subject:
            return f"new {self.subject}"  # a partition is not called a stage
        return kind.value

    def shared(self, key: str, name: str | None = None) -> str:
        """The sentence with a partition's or item's own `key` written as its
        placeholder (`${date}`, `${key}`, `${name}` given one) in the names it holds (a path, a
        task, a param's name, a wdir), never in a param's or env's values: so
        the tasks of one stage stale alike read as one line."""
        kind = self.kind
        subject = template(self.subject, key, name) \
            if kind is Kind.UPSTREAM or kind in _NAMED_SUBJECTS else self.subject
        by = template(self.by, key, name) if self.by else self.by
        old, new = self.old, self.new
        if self.kind in (Kind.WDIR, Kind.CMD) and old is not None and new is not None:
            old, new = template(str(old), key, name), template(str(new), key, name)
        if subject is self.subject and by is self.by and old is self.old and new is self.new:
            return str(self)
        return str(Reason(self.kind, subject, old, new, by))  # not _replace: many of these

    def to_json(self) -> dict[str, Any]:
        """The reason as data (docs/reference/json.md, "Reasons"), beside its sentence."""
        kind = self.kind
        subject = self.subject or None
        old, new = self.old, self.new
        if kind is Kind.PARAM:
            old, new = (None if v is ABSENT else v for v in (old, new))
        elif kind is Kind.OUT_KIND:
            old = None  # a flag for the sentence, not a value the out had
        data = {"kind": kind.name.lower(), "subject": subject,
                "path": subject if kind in _PATH_KINDS else None,
                "old": plain(old), "new": plain(new), "text": str(self)}
        if kind in _PYTHON_KINDS:
            data["imported_by"] = self.by
        return data


# The results a run leaves in the history when it did not complete.
UNFINISHED = frozenset({"failed", "cancelled", "interrupted"})


def unfinished(reason: Reason, last_result: str | None) -> Reason:
    """A `new` reason for a task whose last run did not complete, saying so
    (its `new` is that run's result); any other reason as it is."""
    if reason.kind is Kind.NEW and last_result in UNFINISHED:
        return reason._replace(new=last_result)
    return reason


_PYTHON_KINDS = frozenset({Kind.PYTHON_MODIFIED, Kind.PYTHON_IMPORTED, Kind.PYTHON_DROPPED,
                           Kind.PYTHON_MISSING})
# The kinds whose subject is a dep, an out or a module (a directory's ends in "/").
_PATH_KINDS = frozenset({Kind.DEP_MODIFIED, Kind.DEP_MISSING, Kind.DEP_ADDED, Kind.DEP_REMOVED,
                         Kind.DEP_MODE, Kind.OUT_MISSING, Kind.OUT_MODIFIED, Kind.OUT_DECLARED,
                         Kind.OUT_KIND, Kind.OUT_MODE}) | _PYTHON_KINDS - {Kind.PYTHON_MISSING}

# The kinds whose subject names something a partition's or item's key may be
# part of (a path, a task, a module, a param); the others' is a word or a list.
_NAMED_SUBJECTS = _PATH_KINDS | {Kind.PYTHON_MISSING, Kind.UPSTREAM, Kind.PARAM}


_IMPORTER = {Kind.PYTHON_MODIFIED: " (imported by {})", Kind.PYTHON_IMPORTED: " (by {})"}


def _python_sentence(reason: Reason) -> str:
    """`python: src/utils.py modified (imported by src/train.py)`; a root has no importer."""
    by = _IMPORTER.get(reason.kind, "").format(reason.by) if reason.by else ""
    return f"python: {reason.subject} {reason.kind.value.removeprefix('python: ')}{by}"


# The most of a command a reason shows, before or after its change.
CMD_SHOWN = 60


def _cmd_change(old: Any, new: Any) -> str:
    """`cmd changed: python train.py 5 -> python train.py 6`: a `${item…}`
    value or an edit of the spec is seen in the command it changed. A long
    command shows the words that changed between the ones both share, a
    value after the word before it, which names it (`… --depth 5 … -> …
    --depth 6 …`, not `… 5 … -> … 6 …`); a change wider than CMD_SHOWN, or of
    a command of several lines, is only said. A change of spacing alone is
    called that (see `_spacing`)."""
    if not (isinstance(old, str) and isinstance(new, str)) or "\n" in old + new:
        return Kind.CMD.value
    was, now = _words(old), _words(new)
    spacing = _spacing(old, new) if was == now else ""
    if len(old) <= CMD_SHOWN and len(new) <= CMD_SHOWN:
        return f"{Kind.CMD.value}: {spacing + ': ' if spacing else ''}{old} -> {new}"
    if spacing:
        return f"{Kind.CMD.value}: {spacing}"
    shortest = min(len(was), len(now))
    lead = next((i for i in range(shortest) if was[i] != now[i]), shortest)
    tail = next((i for i in range(shortest - lead) if was[-1 - i] != now[-1 - i]),
                shortest - lead)

    def changed_words(words: list[str]) -> str:
        return " ".join(words[lead:len(words) - tail])

    before, after = changed_words(was), changed_words(now)
    if before and after and lead and not _is_option(was[lead]) and not _is_option(now[lead]):
        lead -= 1  # the word before a value: `--depth` for its 5
        before, after = changed_words(was), changed_words(now)
    if max(len(before), len(after)) > CMD_SHOWN:
        return Kind.CMD.value
    if not before or not after:  # words added or taken away, the rest kept
        return f"{Kind.CMD.value}: {quoted(before or after)} {'removed' if before else 'added'}"
    return (f"{Kind.CMD.value}: {'… ' if lead else ''}{before}{' …' if tail else ''} -> "
            f"{'… ' if lead else ''}{after}{' …' if tail else ''}")


def _spacing(old: str, new: str) -> str:
    """Of two commands with the same words: `spacing only` where the shell
    passes the same arguments, `spacing inside quotes` where a quoted one
    differs (`echo "a  b"`: the command run does change)."""
    try:
        same_arguments = shlex.split(old) == shlex.split(new)
    except ValueError:  # an unclosed quote: the shell itself would refuse both
        same_arguments = True
    return "spacing only" if same_arguments else "spacing inside quotes"


def _words(command: str) -> list[str]:
    """The words of a command as the shell splits them (at spaces and tabs,
    not at the other spaces Unicode knows)."""
    return [word for word in command.replace("\t", " ").split(" ") if word]


def _is_option(word: str) -> bool:
    """An option names itself (`--fast`): no word before it is shown for it."""
    return word.startswith("-")


def _env_text(env: dict[str, str | None]) -> str:
    """`now X=2, API_TOKEN=<secret>`; `now empty` for an env taken away."""
    pairs = [f"{name}={'<secret>' if value is None else value}" for name, value in env.items()]
    return f"now {', '.join(pairs) or 'empty'}"


def _env_changes(reason: Reason) -> str:
    """`MODE fast -> slow; SEED added (1); API_TOKEN changed (a secret)`: each
    variable the subject names, between the envs `old` and `new` (a secret's
    value is None in both). Names and values come from the spec: the
    sentence is escaped whole (Reason.__str__)."""
    old, new = reason.old, reason.new or {}
    parts = []
    for name in reason.subject.split(", "):
        if name not in old:
            value = new.get(name)
            parts.append(f"{name} added ({'a secret' if value is None else value})")
        elif name not in new:
            parts.append(f"{name} removed")
        elif old[name] is None or new[name] is None:
            parts.append(f"{name} changed (a secret)")
        else:
            parts.append(f"{name} {old[name]} -> {new[name]}")
    return "; ".join(parts)


def _exec_bit(executable: bool) -> str:
    return "+x" if executable else "-x"


def _show_typed(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else _show(value)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)
