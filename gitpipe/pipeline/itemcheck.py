"""Validating a foreach/matrix stage item by item: each `${item…}` and `${key}`
exists for every item and renders (a mapping only into `cmd`), and each
rendered path is a path inside the repository. Items come from git like the
rest of gitpipe.yaml, so a value such as `../../etc` is refused here, before
any node is made of it; so is a stage whose nodes (items or partitions) would
hold more rendered text than MAX_EXPANDED_CHARS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from gitpipe.pipeline.committedoptions import url_protocol_problem
from gitpipe.pipeline.items import ItemSpec
from gitpipe.pipeline.partitions import PartitionError, PartitionSpec, at_least
from gitpipe.pipeline.templates import TemplateError, names_in, render_text, root_of

Problem = Callable[[str, str], None]  # (field, message), reported at the field's line

ITEM_FIELDS = ("cmd", "deps", "outs", "metrics", "env", "wait_for")
PATH_FIELDS = ("deps", "outs", "metrics")
# What a stage's nodes may hold in all: each node is a Task with its own
# rendered command and paths, so a long command times many nodes is gigabytes
# however few bytes the spec takes.
MAX_EXPANDED_CHARS = 256 * 1024 * 1024


def _texts(body: Any) -> list[tuple[str, str]]:
    """(field, text) of every field an item may change."""
    cmd = body.get("cmd")
    texts = [("cmd", " && ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd or ""))]
    for key in PATH_FIELDS:
        value = body.get(key) or []
        texts += [(key, str(v)) for v in ([value] if isinstance(value, str) else value)
                  if isinstance(v, (str, int, float))]
    env = body.get("env")
    if isinstance(env, dict):
        texts += [("env", str(v)) for v in env.values()]
    wait = body.get("wait_for")
    wait_path = wait.get("path") if isinstance(wait, dict) else wait
    if wait_path is not None:
        texts.append(("wait_for", str(wait_path)))
    return [(field, text) for field, text in texts if "${" in text]


def sensor_problem(path: str) -> str | None:
    """Why a sensor may not poll `path` (as written, or rendered for a node), or
    None. gitpipe.yaml comes from git, and a sensor is polled on this machine
    even where the stages' commands run elsewhere (`--executor kubernetes`):
    it may name the storage a committed remote may (a path, s3://, gs://,
    https://…), never one of fsspec's wrappers over this machine's files
    (`reference::file:///dev/zero` read the file into memory until none was
    left)."""
    problem = url_protocol_problem(path)
    return None if problem is None else f"path {path!r} {problem}"


def expansion_problem(nodes: int, body: Mapping[str, Any]) -> str | None:
    """Why `nodes` nodes of `body` are too much to make, or None. Only texts
    holding `${` count: the others are shared by every node, never copied."""
    chars = sum(len(text) for _, text in _texts(body))
    if nodes * chars <= MAX_EXPANDED_CHARS:
        return None
    return (f"{nodes:,} nodes of {chars:,} characters of cmd, deps, outs and env each make "
            f"more than {MAX_EXPANDED_CHARS:,} characters")


def range_problem(spec: PartitionSpec, body: Mapping[str, Any], today: dt.date) -> str | None:
    """Why a partitioned stage's range cannot be made, or None."""
    try:
        first, stop = spec.bounds(today)
    except PartitionError as exc:
        return f"partition: {exc}"
    return expansion_problem(at_least(first, stop, spec.freq), body)


def _fixed_fields(body: Mapping[str, Any], problem: Problem) -> None:
    """`${item}` only where a node's command and paths are made: elsewhere it is refused."""
    for key, value in body.items():
        if key in ITEM_FIELDS:
            continue
        text = str(value)
        found = [n for n in names_in(text) if root_of(n) in ("item", "key")]
        if found:
            problem(key, f"${{{found[0]}}} cannot be used in {key!r}: items change "
                           f"only {', '.join(ITEM_FIELDS)}")


def check_items(stage: str, body: Mapping[str, Any], spec: ItemSpec,
                normalize: Callable[[str, bool], object], problem: Problem) -> ItemSpec | None:
    """The items, if they may make nodes of this body; else None, after reporting the
    first problem of each field with the item it is in. `normalize(path, written)`
    raises ValueError for a path that may not be one (`written`: an out's)."""
    if body.get("partition") is not None:
        problem("partition", f"a stage has 'partition' or '{spec.kind}', not both (both "
                "make the stage's nodes)")
        return None
    too_big = expansion_problem(len(spec.item_keys), body)
    if too_big:
        problem("cmd", too_big)
        return None
    _fixed_fields(body, problem)
    failed: set[str] = set()
    texts = _texts(body)
    for key, context in spec.items():
        for field, text in texts:
            if field in failed:
                continue
            try:
                value = render_text(text, context, field == "cmd")
                if field in PATH_FIELDS:
                    normalize(value, field != "deps")
                elif field == "wait_for" and (sensor := sensor_problem(value)):
                    raise ValueError(sensor)
            except (TemplateError, ValueError) as exc:
                problem(field, f"{field} of {stage}@{key}: {exc}")
                failed.add(field)
    return spec
