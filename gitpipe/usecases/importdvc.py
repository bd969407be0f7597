"""`gitpipe import dvc`: a dvc.yaml read and written again as gitpipe.yaml.

What both tools mean alike is carried over as it is (gitpipe reads DVC's stage
syntax: `cmd` as a string or list, `deps`, `params` with other files, `outs`,
`metrics`, `wdir`, `frozen`, `always_changed`, `desc`, `foreach`/`do`,
`matrix`, `vars`); what has no equivalent is said, one note per thing, and
left out rather than guessed. dvc.lock is never read: its hashes are DVC's
(md5), and a lock gitpipe did not write would say "up to date" about
outs it never saw. The dvc.yaml may come from anyone: it is parsed by the same
guarded YAML reader as gitpipe.yaml, and nothing of it becomes a path here
but the one file written.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any, NamedTuple

from gitpipe.core.errors import BadInputError
from gitpipe.core.yamlio import dump_yaml, load_yaml_file, plain
from gitpipe.pipeline.lockfile import atomic_write
from gitpipe.pipeline.model import SPEC_FILE

CARRIED = ("cmd", "wdir", "deps", "params", "frozen", "always_changed", "desc",
           "foreach", "do", "matrix", "vars")
_DROPPED_TOP = {
    "plots": "top-level `plots` (plot definitions) have no gitpipe equivalent",
    "artifacts": "top-level `artifacts` (the model registry) have no gitpipe equivalent",
    "metrics": "top-level `metrics` files: declare them as `metrics:` of the stage "
               "that writes them",
    "params": "top-level `params` files: name them in the `params:` of the stages that "
              "read them",
    "datasets": "top-level `datasets` have no gitpipe equivalent",
}
# Options that describe an out and change nothing that runs: left out quietly.
_DESCRIPTIVE_OPTIONS = {"desc", "type", "labels", "meta", "title", "x", "y", "template",
                     "x_label", "y_label"}


class Translation(NamedTuple):
    """The gitpipe.yaml data and what could not be carried over, as sentences."""

    spec: dict[str, Any]
    notes: list[str]


def translate(data: Any, source: str, base: str = ".") -> Translation:
    """gitpipe.yaml's data for a dvc.yaml's `data`; `base` is the dvc.yaml's
    folder relative to the gitpipe project root (DVC paths are relative to it)."""
    if not isinstance(data, dict) or not isinstance(data.get("stages", {}), dict):
        raise BadInputError(f"{source}: not a dvc.yaml: expected a mapping with `stages:`")
    notes = [f"{source}: {why}; left out" for key, why in _DROPPED_TOP.items() if key in data]
    notes += [f"{source}: unknown top-level key {key!r}; left out" for key in data
              if key not in _DROPPED_TOP and key not in ("stages", "vars")]
    spec: dict[str, Any] = {}
    if "vars" in data:
        spec["vars"] = data["vars"]
    stages: dict[str, Any] = {}
    for name, body in (data.get("stages") or {}).items():
        where = f"{source}: stage {name!r}"
        if not isinstance(body, dict):
            raise BadInputError(f"{where}: expected a mapping")
        stages[str(name)] = _stage(body, where, base, notes)
    spec["stages"] = stages
    if base != "." and ("vars" in data or "${" in json.dumps(data, default=str)):
        notes.append(f"{source}: DVC reads `vars` files and the params.yaml behind "
                     f"${{...}} from {base}/; gitpipe reads them from the project root: "
                     "move them there, or prefix their paths")
    return Translation(spec, notes)


def _stage(body: dict[str, Any], where: str, base: str, notes: list[str]) -> dict[str, Any]:
    inner = body.get("do") if isinstance(body.get("do"), dict) else None
    if inner is not None:  # foreach: the stage body is under `do:`
        translated = dict(body)
        translated["do"] = _stage(inner, f"{where} (do)", base, notes)
        return translated
    stage: dict[str, Any] = {key: body[key] for key in CARRIED if key in body}
    persist: list[str] = []
    outs = [*_outs(body.get("outs"), where, "outs", persist, notes),
            *_outs(body.get("plots"), where, "plots", persist, notes)]
    metrics = _outs(body.get("metrics"), where, "metrics", persist, notes)
    if outs:
        stage["outs"] = outs
    if metrics:
        stage["metrics"] = metrics
    if persist:
        stage["persist"] = True
        every = len(persist) == len(outs) + len(metrics)
        if not every:
            named = ", ".join(map(repr, persist))
            notes.append(f"{where}: `persist` is per out in DVC ({named}) and "
                         "per stage in gitpipe; every out of the stage now persists")
    if "plots" in body:
        notes.append(f"{where}: plots are translated as outs; their plot settings are left out")
    for key in body:
        if key not in CARRIED and key not in ("outs", "metrics", "plots"):
            notes.append(f"{where}: field {key!r} has no gitpipe equivalent; left out")
    return _with_base(stage, base)


def _with_base(stage: dict[str, Any], base: str) -> dict[str, Any]:
    """DVC paths are relative to the dvc.yaml's folder: that folder becomes part of wdir."""
    if base == ".":
        return stage
    wdir = stage.get("wdir", ".")
    joined = posixpath.normpath(posixpath.join(base, str(wdir)))
    return {**stage, "wdir": joined}


def _outs(items: Any, where: str, field: str, persist: list[str],
          notes: list[str]) -> list[str]:
    """The paths of DVC's outs/metrics/plots entries (`path` or `{path: {options}}`)."""
    if items is None:
        return []
    if not isinstance(items, list):
        items = [items]
    paths: list[str] = []
    for item in items:
        if isinstance(item, dict) and len(item) == 1:
            (path, options), = item.items()
            _out_options(str(path), options or {}, where, field, persist, notes)
        elif isinstance(item, (str, int, float)):
            path = item
        else:
            raise BadInputError(f"{where}: {field} entry {item!r} is neither a path nor "
                                "{path: {options}}")
        paths.append(str(path))
    return paths


def _out_options(path: str, options: Any, where: str, field: str, persist: list[str],
                 notes: list[str]) -> None:
    if not isinstance(options, dict):
        raise BadInputError(f"{where}: options of {field} entry {path!r} must be a mapping")
    if options.get("persist"):
        persist.append(path)
    cache = options.get("cache", field != "metrics")
    if field == "outs" and cache is False:
        notes.append(f"{where}: out {path!r} has `cache: false`; gitpipe caches every out "
                     "(declare it under `metrics:` to keep it in git instead)")
    if field == "metrics" and cache is True:
        notes.append(f"{where}: metric {path!r} has `cache: true`; gitpipe keeps metrics "
                     "in git")
    for key in options:
        if key in ("persist", "cache") or key in _DESCRIPTIVE_OPTIONS:
            continue
        notes.append(f"{where}: {field} entry {path!r}: option {key!r} has no gitpipe "
                     "equivalent; left out")


def import_file(dvc_file: Path, project_dir: Path, output: Path | None = None,
                force: bool = False) -> tuple[Path, Translation]:
    """Read `dvc_file`, write its translation to `output` (default: gitpipe.yaml
    in `project_dir`); an existing file is only replaced with `force`."""
    project_dir = project_dir.resolve()
    folder = dvc_file.resolve().parent
    if not folder.is_relative_to(project_dir):
        raise BadInputError(f"{dvc_file}: outside the project folder {project_dir}",
                            hint="run gitpipe import from the folder that holds it, or above")
    source = dvc_file.name if folder == project_dir else str(dvc_file)
    data = load_yaml_file(dvc_file, source)
    translation = translate(plain(data), source, folder.relative_to(project_dir).as_posix())
    target = output if output is not None else project_dir / SPEC_FILE
    if target.is_symlink():  # a link from the repository must not aim the write elsewhere
        raise BadInputError(f"{target} is a symlink; gitpipe import writes only a plain file",
                            hint="remove the link, or pass -o FILE")
    if target.exists() and not force:
        raise BadInputError(f"{target} already exists",
                            hint="pass --force to replace it, or -o FILE to write elsewhere")
    atomic_write(target, HEADER.format(source=source) + dump_yaml(translation.spec))
    return target, translation


HEADER = """\
# Written by `gitpipe import dvc` from {source}. dvc.lock was not read: run
# `gitpipe repro` (or `gitpipe commit` to record outs that are already here).
"""
