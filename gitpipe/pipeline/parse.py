"""`gitpipe.yaml` → a frozen Pipeline of Stages (model.py); every problem names file:line.

Parsing collects all problems before raising, so `gitpipe validate` reports
everything at once instead of one error per run. A valid parse is remembered
as a signed pickle, so a no-op command does not validate again.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import xxhash

from gitpipe.core.errors import SpecError, did_you_mean
from gitpipe.core.parsecache import cached_parse
from gitpipe.core.yamlio import NodeCheck, line_of, parse_plain, parse_yaml
from gitpipe.hashing.statsig import ReadLog, read_noted
from gitpipe.pipeline import model
from gitpipe.pipeline.model import SPEC_FILE, Pipeline, Stage
from gitpipe.trust import signedcache
from gitpipe.trust.checks import resolves_inside

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from gitpipe.pipeline.expand import Vars
    from gitpipe.pipeline.stage import Collector

    ReadFile = Callable[[str], "str | None"]

# stage.py (every check, its regular expressions) is imported only to
# validate: a no-op status loads the valid pipeline from its signed pickle.
VALIDATING_SOURCES = tuple(str(Path(__file__).with_name(name)) for name in (
    "stage.py", "expand.py", "items.py", "itemcheck.py", "templates.py"))


def parse_pipeline(data: Any, source: str = SPEC_FILE,
                   read_file: ReadFile | None = None) -> Pipeline:
    """Validate parsed YAML into a Pipeline; SpecError lists every problem.

    `read_file(path)` gives the text of a project file (None when missing) for
    `${…}` values from `vars:` and params.yaml; without it there are none.
    """
    from gitpipe.pipeline.dvcfields import top_key_hint
    from gitpipe.pipeline.expand import Vars
    from gitpipe.pipeline.stage import Collector

    errors = Collector(source)
    if not isinstance(data, dict) or "stages" not in data:
        near = [(key, hint) for key in (data if isinstance(data, dict) else ())
                if isinstance(key, str) and (hint := did_you_mean(key, ["stages"]))]
        errors.add(line_of(data, near[0][0]) if near else None,
                   "the file must be a mapping with a 'stages:' key"
                   + (f" ({near[0][0]!r}: {near[0][1]})" if near else ""))
        raise SpecError(errors.problems)
    for key in data:
        if key not in ("stages", "vars"):
            hint = top_key_hint(str(key))
            errors.add(line_of(data, key), f"unknown top-level key {key!r}"
                       + (f" ({hint})" if hint else ""))
    stages_data = data["stages"]
    if not isinstance(stages_data, dict) or not stages_data:
        errors.add(line_of(data, "stages"), "'stages' must be a non-empty mapping")
        raise SpecError(errors.problems)
    context = Vars(data.get("vars"), read_file, line_of(data, "vars"))
    stages = _parse_stages(stages_data, errors, context)
    if errors.problems:
        raise SpecError(errors.problems, _hint(data, stages_data, errors.problems))
    lines = {s.name: s.line for s in stages if s.line is not None}
    return Pipeline(tuple(stages), source, lines, tuple(context.inputs))


ITEMS_HINT = ("foreach, matrix, vars and ${...} are described in docs/reference/gitpipe-yaml.md "
              "('foreach and matrix stages')")


def _hint(data: dict[Any, Any], stages_data: dict[Any, Any], problems: list[str]) -> str | None:
    """Where `foreach`, `matrix` and `vars` are explained, for problems that
    may come from them: in a stage that uses foreach or matrix, a `${...}`
    not defined, or `vars` itself; not for a typo in a plain stage beside."""
    item_stages = [name for name, body in stages_data.items()
                   if isinstance(body, dict) and ("foreach" in body or "matrix" in body)]
    if "vars" not in data and not item_stages:
        return None
    about = ("is not defined", "'vars'", *(f"stage {name!r}:" for name in item_stages))
    return ITEMS_HINT if any(part in problem for problem in problems for part in about) \
        else None


def items_counted(source: str) -> NodeCheck:
    """Refuses, on the composed document, the stages whose items are too many
    (pipeline/itemnodes.py), before PyYAML builds them."""

    def check(root: Any) -> None:
        from gitpipe.pipeline.itemnodes import too_many_items
        from gitpipe.pipeline.stage import Collector

        found = too_many_items(root)
        if found:
            errors = Collector(source)
            for line, stage, problem in found:
                errors.add(line, problem, stage)
            raise SpecError(errors.problems, ITEMS_HINT)

    return check


def _text_body(body: Any) -> str:
    """What a stage written as `cmd python x.py` (its ':' left out) reads as:
    the text of one key and value, which YAML took for the stage's value."""
    from gitpipe.pipeline.stage import STAGE_FIELDS

    key, _, rest = body.partition(" ") if isinstance(body, str) else ("", "", "")
    rest = rest.strip()
    if key not in STAGE_FIELDS or not rest:
        return ""
    if len(rest) > 40:
        rest = rest[:39] + "…"
    return f" (it reads as the text '{key} {rest}': did you mean '{key}: {rest}'?)"


def _parse_stages(stages_data: dict[Any, Any], errors: Collector, context: Vars) -> list[Stage]:
    from gitpipe.pipeline.expand import expand_stage
    from gitpipe.pipeline.stage import StageParser
    from gitpipe.trust.checks import STAGE_NAME, STAGE_NAME_RULE

    stages = []
    for name, body in stages_data.items():
        line = line_of(stages_data, name)
        if not isinstance(name, str) or not STAGE_NAME.match(name):
            errors.add(line, f"invalid stage name {name!r} ({STAGE_NAME_RULE})")
            continue
        if not isinstance(body, dict):
            errors.add(line, "must be a mapping with at least 'cmd'" + _text_body(body), name)
            continue
        expanded = expand_stage(name, body, context, errors)
        if expanded is None:
            continue
        body, items = expanded
        stage = StageParser(name, body, errors, line, items).parse()
        if stage is not None:
            stages.append(stage)
    return stages


# What a newcomer needs when gitpipe.yaml is missing: it is written by hand,
# and this is the smallest one that runs.
FIRST_STAGE_HINT = (
    f"{SPEC_FILE} is written by hand at the repository's root; a first stage is "
    "'stages: {hello: {cmd: echo hello > hello.txt, outs: [hello.txt]}}', "
    "then run 'gitpipe repro' (docs/getting-started.md)")


def load_pipeline(root: Path, source: str = SPEC_FILE, cache_dir: Path | None = None,
                  with_lines: bool = False, reads: ReadLog | None = None) -> Pipeline:
    """Read and validate `gitpipe.yaml` at the project root (noted in `reads`).

    The fast path parses without line numbers (cached by content); only when
    validation finds a problem is the file parsed again to say which line.
    """
    try:
        text = read_inside(root, source, reads)
    except FileNotFoundError:
        raise SpecError([f"{source}: file does not exist"],
                        hint=FIRST_STAGE_HINT if source == SPEC_FILE else None) from None
    except OSError as exc:
        raise SpecError([f"{source}: cannot read: {exc}"]) from None
    read_file = project_reader(root, reads)
    counted = items_counted(source)
    if with_lines:
        return parse_pipeline(parse_yaml(text, source, counted), source, read_file)
    remembered = _remembered_pipeline(text, source, root, cache_dir)
    if remembered is not None and _inputs_hold(remembered, read_file):
        return remembered
    plain = cached_parse(text, source, cache_dir, lambda t: parse_plain(t, source, inspect=counted))
    try:
        pipeline = parse_pipeline(plain, source, read_file)
    except SpecError:
        return parse_pipeline(parse_yaml(text, source, counted), source, read_file)
    _remember_pipeline(text, source, root, cache_dir, pipeline)
    return pipeline


def spec_places(root: Path, source: str = SPEC_FILE) -> Callable[[str], str]:
    """Where each stage is declared, for messages: `gitpipe.yaml:12` (the file
    alone where the line cannot be said). The pipeline as usually loaded, from
    the parse cache, has no lines: the file is parsed again, once, at the first
    question."""
    lines: dict[str, int] = {}
    parsed = False

    def place(stage: str) -> str:
        nonlocal parsed
        if not parsed:
            parsed = True
            with contextlib.suppress(SpecError):  # changed since loaded: the file alone
                lines.update(load_pipeline(root, source, with_lines=True).stage_lines or {})
        line = lines.get(stage)
        return f"{source}:{line}" if line else source

    return place


def read_inside(root: Path, path: str, reads: ReadLog | None) -> str:
    """The text of the project's file `path` (noted in `reads`), read only where
    it lies inside the repository: a clone's symlink must not render an outside
    file into commands (and so into the committed lock), nor show its text in a
    message (a CI log of a stranger's pull request). A SpecError names the file
    otherwise; raises as `open` does."""
    if not resolves_inside(root, root / path):
        raise SpecError([f"{path}: leads outside the repository (through a symlink)"])
    return read_noted(root / path, path, reads)


def project_reader(root: Path, reads: ReadLog | None) -> ReadFile:
    """The text of a file of the project (noted in `reads`), None when it is missing."""

    def read(path: str) -> str | None:
        try:
            return read_inside(root, path, reads)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise SpecError([f"{path}: cannot read: {exc}"]) from None

    return read


def _inputs_hold(pipeline: Pipeline, read_file: ReadFile) -> bool:
    """Whether the files the pipeline's `${…}` values came from are as they were."""
    if not pipeline.inputs:
        return True
    from gitpipe.pipeline.expand import digest_of

    return all(digest_of(read_file(path)) == digest for path, digest in pipeline.inputs)


# Validating every stage into Stage objects would cost each no-op status more
# than the rest of its work, so a valid pipeline is remembered as a signed
# pickle (signedcache.py), keyed by the spec's text and by the source of the
# parsers and of the model: a changed check is applied again, a changed Stage
# class never unpickles into stale objects.
def _pipeline_key(text: str) -> bytes:
    # the model's module name too: a pickle names its classes by module
    sources = model.__name__.encode() + b"".join(Path(path).read_bytes() for path in (
        model.__file__ or "", *VALIDATING_SOURCES, sys.modules[__name__].__file__ or ""))
    return xxhash.xxh3_128_digest(sources + b"\0" + text.encode())


def _pickle_path(cache_dir: Path, source: str) -> Path:
    return cache_dir / (source.replace("/", "%") + ".pickle")


def _remembered_pipeline(text: str, source: str, root: Path,
                         cache_dir: Path | None) -> Pipeline | None:
    if cache_dir is None:
        return None
    found = signedcache.load(_pickle_path(cache_dir, source), _pipeline_key(text), root)
    return found if isinstance(found, Pipeline) else None


def _remember_pipeline(text: str, source: str, root: Path, cache_dir: Path | None,
                       pipeline: Pipeline) -> None:
    if cache_dir is not None:
        signedcache.store(_pickle_path(cache_dir, source), _pipeline_key(text), root, pipeline)


