"""Long lists made short: a stage's partitions as runs (`2024-01-01 … 2024-03-31`),
repeated `upstream:` reasons as one line, and a cut with a count.

Pure string work shared by the status and repro text (fastpath/render.py),
`gitpipe diff`, the pre-commit hook's refusal (usecases/hooks.py) and the
`dag` drawing (pipeline/dagviz.py); nothing heavy imported, since status's
fast path loads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class SaysShared(Protocol):
        """A reason that says its own shared form (project/reasons.py's Reason)."""

        def shared(self, key: str, name: str | None = None) -> str: ...

ELLIPSIS = " … "
MORE_HINT = "--all shows every one"
UPSTREAM = "upstream: "
RUNS_SHOWN = 8  # runs of partitions named before "and N more runs"
ENTRIES_SHOWN = 30  # stale stages (or groups of partitions) before the cut
REASONS_SHOWN = 10  # reasons of one entry before the cut


def split_task(name: str) -> tuple[str, str | None]:
    """`features@2024-01-03` as ("features", "2024-01-03"); `train` as ("train", None)."""
    stage, at, key = name.partition("@")
    return (stage, key) if at else (stage, None)


def runs(keys: Iterable[str], position: dict[str, int]) -> list[tuple[str, str]]:
    """`keys` as runs (first, last): keys whose positions in their stage's
    partition order follow each other make one run, a gap starts the next.
    Two keys that follow each other are two runs of one: `a, b` reads as the
    two names, where `a … b` would read as a range between them. Keys
    without a position (not in the plan) stand alone, after the others."""
    unique = set(keys)
    known = [k for k in unique if k in position]
    known.sort(key=position.__getitem__)
    found: list[list[str]] = []
    last = -2
    for key in known:
        at = position[key]
        if at == last + 1:
            found[-1][1] = key
        else:
            found.append([key, key])
        last = at
    pairs = [run for first, end in found for run in (
        ((first, first), (end, end)) if position[end] == position[first] + 1 else ((first, end),))]
    return pairs + [(k, k) for k in sorted(unique.difference(position))]


def runs_text(stage: str, found: list[tuple[str, str]], everything: bool = False) -> str:
    """`features@2024-01-01 … 2024-03-31, 2024-05-01`; past RUNS_SHOWN runs, a
    count of the rest. An item's run after the first is named with its stage
    too (`train@a, train@c`): a name alone after a comma reads as a stage's."""
    shown = found if everything else found[:RUNS_SHOWN]
    text = ", ".join(
        ("" if at and is_date(first) else f"{stage}@")
        + (first if first == last else f"{first}{ELLIPSIS}{last}")
        for at, (first, last) in enumerate(shown))
    rest = len(found) - len(shown)
    return text + (f", and {rest} more runs" if rest else "")


def keys_text(stage: str, keys: list[str], position: dict[str, int], everything: bool = False,
              total: int | None = None) -> str:
    """The stage's keys as runs with their count: `daily@2024-01-01 … 2024-12-31
    (366)`, or `(3 of 10)` when `total` says how many partitions the stage has."""
    count = f"{len(keys)} of {total}" if total is not None else f"{len(keys)}"
    return f"{runs_text(stage, runs(keys, position), everything)} ({count})"


def group_upstream(reasons: Iterable[str], positions: dict[str, dict[str, int]],
                   everything: bool = False) -> list[str]:
    """The reasons in order, with every `upstream: S@K` of one stage S made one
    line where the first stood: `upstream: S@2024-01-01 … 2024-12-31 (366)`."""
    keys: dict[str, list[str]] = {}
    order: list[str | tuple[str]] = []
    for reason in reasons:
        stage, key = split_task(reason[len(UPSTREAM):]) if reason.startswith(UPSTREAM) \
            else (reason, None)
        if key is None:
            order.append(reason)
            continue
        if stage not in keys:
            keys[stage] = []
            order.append((stage,))
        keys[stage].append(key)
    lines = []
    for item in order:
        if isinstance(item, str):
            lines.append(item)
            continue
        stage_keys = keys[item[0]]
        if len(stage_keys) == 1:
            lines.append(f"{UPSTREAM}{item[0]}@{stage_keys[0]}")
        else:
            text = keys_text(item[0], stage_keys, positions.get(item[0], {}), everything)
            lines.append(f"{UPSTREAM}{text}")
    return lines


def template(reason: str, key: str | None, name: str | None = None) -> str:
    """A partition's reason with its own key written as `${date}` (a foreach or
    matrix item's as `${key}`, or as `${name}` where the spec names it so), so
    that the same cause in many partitions reads as one line. The key is
    replaced where it stands alone, never as a part of a longer word or
    number: item `a` leaves `data/ab.csv` as it is. An empty `name` says no
    variable holds the key (a foreach over a list of mappings is named by
    index): the reason is left as it is."""
    if not key or name == "":
        return reason
    parts = []
    start, at = 0, reason.find(key)
    while at != -1:
        end = at + len(key)
        if _stands_alone(reason, at, end):
            parts += [reason[start:at], placeholder(key, name)]
            start, at = end, reason.find(key, end)
        else:
            at = reason.find(key, at + 1)
    return "".join([*parts, reason[start:]]) if parts else reason


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` has no letter or digit right before or after it."""
    return not ((start > 0 and text[start - 1].isalnum())
                or (end < len(text) and text[end].isalnum()))


def placeholder(key: str, name: str | None = None) -> str:
    """How a partition key is written in a line shared by many: a date
    partition's (`2024-01-02`, `2024-01`, `2024-01-02T05`) as `${date}`,
    anything else, an item's name, as `${key}`, or as `${name}` where the
    spec writes it so (`${item}`: a foreach over plain values)."""
    if name:
        return f"${{{name}}}"
    return "${date}" if is_date(key) else "${key}"


# A date partition's key as pipeline/partitions.key_of names it: the day
# (`2024-01-02`, for daily, weekly and monthly alike) or the day and hour.
_DATE_KEY = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2})?\Z")


def is_date(key: str) -> bool:
    """Whether a partition key is a date's (`2024-01-02`, `2024-01-02T05`)
    rather than a foreach or matrix item's name."""
    return _DATE_KEY.match(key) is not None


def cut(lines: list[str], limit: int, what: str = "", everything: bool = False) -> list[str]:
    """The first `limit` lines and a count of the rest (all of them with `everything`)."""
    if everything or len(lines) <= limit:
        return lines
    return [*lines[:limit], more_line(len(lines) - limit, what)]


def more_line(rest: int, what: str = "") -> str:
    """`… and 120 more; --all shows every one`."""
    return f"… and {rest} more{' ' + what if what else ''}; {MORE_HINT}"


def positions_of(names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Each partitioned stage's keys in the order `names` lists them (plan order)."""
    found: dict[str, dict[str, int]] = {}
    for name in names:
        stage, at, key = name.partition("@")
        if at:
            keys = found.setdefault(stage, {})
            keys.setdefault(key, len(keys))
    return found


def plural(count: int, word: str) -> str:
    """`1 stage`, `3 stages`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def tasks_text(names: Iterable[str], positions: dict[str, dict[str, int]],
               everything: bool = False) -> list[str]:
    """Task names with the partitions of each stage as one `stage@runs (count)`,
    in the order each stage first appears."""
    keys: dict[str, list[str]] = {}
    for name in names:
        stage, key = split_task(name)
        keys.setdefault(stage if key is not None else name, []).append(key or "")
    return [stage if found == [""] else
            f"{stage}@{found[0]}" if len(found) == 1 else
            keys_text(stage, found, positions.get(stage, {}), everything)
            for stage, found in keys.items()]


class Entry(NamedTuple):
    """One stage, or the partitions or items of one stage, with the reasons
    they share."""

    title: str
    reasons: list[str]


def entries(items: Iterable[tuple[str, Sequence[SaysShared | str]]],
            positions: dict[str, dict[str, int]], everything: bool = False,
            key_names: Mapping[str, str] | None = None) -> list[Entry]:
    """(task, reasons) pairs in plan order as entries: partitions of one stage
    whose reasons read alike once their key is `${date}` are one entry, where
    the first of them stood. `key_names`: the variable a stage's spec writes for
    its key, where it is not `${date}` or `${key}` (pipeline/items.key_names).
    The one grouping of status, the dry run, `diff` and the pre-commit hook."""
    named = key_names or {}
    groups: dict[tuple[str, tuple[str, ...]],
                 list[tuple[str, str, Sequence[SaysShared | str]]]] = {}
    for task, given in items:
        stage, at, key = task.partition("@")
        group = (stage, shared_reasons(given, key, named.get(stage))) if at else (task, ("",))
        groups.setdefault(group, []).append((task, key, given))
    found = []
    for (stage, alike), members in groups.items():
        if len(members) == 1:
            title, _, said = members[0]
            reasons = [str(reason) for reason in said]
        else:
            stage_keys = positions.get(stage, {})
            title = keys_text(stage, [key for _, key, _ in members], stage_keys,
                                            everything, len(stage_keys))
            reasons = list(alike)
        lines = group_upstream(reasons, positions, everything)
        found.append(Entry(title, cut(lines, REASONS_SHOWN, "reasons", everything)))
    return found


def shared_reasons(reasons: Sequence[SaysShared | str], key: str,
                   name: str | None = None) -> tuple[str, ...]:
    """The reasons of a partition or item with its key as `${date}` or `${key}`
    (`${name}`, given one): in the names a Reason holds (never in its values),
    or where it stands alone in a sentence given without one."""
    return tuple(template(r, key, name) if isinstance(r, str) else r.shared(key, name)
                 for r in reasons)


def entry_lines(found: list[Entry], everything: bool = False, indent: str = "") -> list[str]:
    """Each entry as its title and its reasons below it, as `status` prints
    them, the first ENTRIES_SHOWN entries and a line counting the rest."""
    blocks = [[f"{indent}{entry.title}:", *(f"{indent}    {reason}" for reason in entry.reasons)]
              for entry in found]
    return [line for block in cut_blocks(blocks, everything) for line in block]


def cut_blocks(blocks: list[list[str]], everything: bool) -> list[list[str]]:
    """The first ENTRIES_SHOWN blocks and a line counting the rest."""
    if everything or len(blocks) <= ENTRIES_SHOWN:
        return blocks
    return [*blocks[:ENTRIES_SHOWN], [more_line(len(blocks) - ENTRIES_SHOWN)]]
