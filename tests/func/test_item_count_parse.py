"""A `foreach:` or `matrix:` of too many items is refused from the composed
YAML: the spec is composed once, none of its items is built into an object,
and the console script (quick door or CLI) reports it without parsing again;
the message is the one the full validation gives it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.core.errors import BadInputError, SpecError
from gitpipe.core.yamlio import parse_plain, parse_yaml
from gitpipe.pipeline import items
from gitpipe.pipeline.items import MAX_ITEMS
from gitpipe.pipeline.model import Pipeline
from gitpipe.pipeline.parse import load_pipeline, parse_pipeline
from tests.conftest import GIT_ENV, Repo

COUNT = MAX_ITEMS + 1
ITEMS = "".join(f"      - i{n}\n" for n in range(COUNT))
DO = "    do:\n      cmd: echo ${item} > o-${key}\n      outs: ['o-${key}']\n"
SPEC = ("stages:\n  ok:\n    cmd: echo > ok.txt\n    outs: [ok.txt]\n"
        f"  s:\n    foreach:\n{ITEMS}{DO}")
MESSAGE = f"gitpipe.yaml:6: stage 's': 'foreach' makes {COUNT:,} items (at most 100,000)"

# Counts each document PyYAML composes and each object it builds, as the
# console script runs a command.
COUNTING = """
import sys
from yaml.constructor import BaseConstructor
from gitpipe.cli.launch import main
from gitpipe.core import yamlio

counts = {"documents": 0, "objects": 0}
loader = yamlio._yaml().base_loader  # every loader of gitpipe's derives from it
construct_document, construct_object = (loader.construct_document,
                                        BaseConstructor.construct_object)
def documents(self, node):
    counts["documents"] += 1
    return construct_document(self, node)
def objects(self, node, deep=False):
    counts["objects"] += 1
    return construct_object(self, node, deep)
loader.construct_document, BaseConstructor.construct_object = documents, objects
try:
    main(leave_at_once=False)
finally:
    sys.stderr.write(f"COUNTS {counts['documents']} {counts['objects']}\\n")
"""


@pytest.mark.parametrize("command", [["status"], ["repro"], ["validate"], ["status", "--json"]])
@pytest.mark.parametrize("quick", [True, False])
def test_too_many_items_are_refused_from_one_parse_building_none(
        repo: Repo, command: list[str], quick: bool) -> None:
    repo.gen({"gitpipe.yaml": SPEC}, commit="many")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "GITPIPE_NO_SEAL": "1",
           **({} if quick else {"GITPIPE_NO_QUICK": "1"})}
    done = subprocess.run([sys.executable, "-c", COUNTING, *command], cwd=repo.path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    if command != ["status", "--json"]:
        assert f"error: {MESSAGE}\nhint: foreach, matrix" in done.stderr, done.stderr
    counted = [ln.split()[1:] for ln in done.stderr.splitlines() if ln.startswith("COUNTS ")]
    documents, objects = map(int, counted[-1])
    assert documents == 1, done.stderr
    assert objects < COUNT, done.stderr  # not one object per item


def test_a_revision_with_too_many_items_is_refused_building_none(repo: Repo) -> None:
    """`status --rev` (as `diff` and the pre-commit hook) reads the spec from
    git: counted there too, on the composed document."""
    repo.gen({"gitpipe.yaml": SPEC}, commit="many")
    repo.gen({"gitpipe.yaml": "stages:\n  ok:\n    cmd: echo > ok.txt\n    outs: [ok.txt]\n"})
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", COUNTING, "status", "--rev", "HEAD"],
                          cwd=repo.path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert MESSAGE.replace("gitpipe.yaml:", "gitpipe.yaml@HEAD:") in done.stderr, done.stderr
    objects = [ln.split()[2] for ln in done.stderr.splitlines() if ln.startswith("COUNTS ")]
    assert int(objects[-1]) < COUNT, done.stderr


def test_the_quick_door_reports_a_bad_spec_as_the_cli_does(repo: Repo) -> None:
    """Any invalid spec, not only a count: the same lines and exit code."""
    repo.gen({"gitpipe.yaml": "stages:\n  a:\n    cmd: 3\n    outz: [x]\n"}, commit="bad")
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", "GITPIPE_NO_SEAL": "1"}
    quick = repo.run("status", env=env)
    cli = repo.run("status", env={**env, "GITPIPE_NO_QUICK": "1"})
    assert (quick.returncode, quick.stdout, quick.stderr) == (
        cli.returncode, cli.stdout, cli.stderr)
    assert quick.returncode == 2 and "gitpipe.yaml:4" in quick.stderr, quick.stderr


MATRIX = ("stages:\n  m:\n    matrix:\n      a: [" + ",".join(map(str, range(400))) + "]\n"
          "      b: [" + ",".join(map(str, range(400))) + "]\n"
          "    cmd: echo ${key} > o-${key}\n    outs: ['o-${key}']\n")
HEAD = f"stages:\n  s:\n    foreach:\n{ITEMS}"


@pytest.mark.parametrize(("spec", "expected"), [
    (MATRIX, "gitpipe.yaml:3: stage 'm': 'matrix' makes 160,000 combinations"),
    # Another check of the stage comes first in the full validation: its
    # message is given, as before (the items are built, then refused).
    (HEAD + "    cmd: x\n", "'foreach' stage holds 'foreach' and 'do' only"),
    (f"stages:\n  s:\n    matrix: [1]\n    foreach:\n{ITEMS}{DO}", "'foreach' or 'matrix', not"),
    (f"stages:\n  9s:\n    foreach:\n{ITEMS}{DO}", "invalid stage name '9s'"),
    # Merged keys change the count only once built.
    ("x: &m\n  a: [1]\nstages:\n  s:\n    matrix:\n      <<: *m\n"
     f"      b: [{','.join(map(str, range(COUNT)))}]\n"
     "    cmd: echo ${key} > o-${key}\n    outs: ['o-${key}']\n", "unknown top-level key 'x'"),
    # Two stages of too many: both named, as the full validation names them.
    (HEAD + DO + f"  t:\n    foreach:\n{ITEMS}{DO}",
     f"stage 't': 'foreach' makes {COUNT:,} items"),
])
def test_the_early_refusal_says_what_the_full_validation_says(
        tmp_path: Path, spec: str, expected: str) -> None:
    (tmp_path / "gitpipe.yaml").write_text(spec)
    with pytest.raises(SpecError) as early:
        load_pipeline(tmp_path)
    with pytest.raises(SpecError) as full:  # no node check: built, then validated
        parse_pipeline(parse_yaml(spec, "gitpipe.yaml"), "gitpipe.yaml")
    assert expected in str(early.value), str(early.value)
    assert set(early.value.problems) <= set(full.value.problems)
    assert early.value.hint == full.value.hint


# Property: with few items allowed, every shape of foreach/matrix stage is
# judged by the early count as the full validation judges it.

def _values(count: int, mapping: bool) -> str:
    if mapping:
        return "{" + ", ".join(f"k{n}: {n}" for n in range(count)) + "}"
    return "[" + ", ".join(f"v{n}" for n in range(count)) + "]"


AROUND = st.sampled_from([0, 1, 2, 3, 3, 4, 4, 6])  # the limit is 3
RARELY = st.sampled_from([True, False, False, False])
# A tag that names another kind of node than the one it is on: PyYAML fails
# on each in its own way, the same with the count or without.
TAGGED = st.sampled_from(["!!seq abc", "!!map abc", "!!str [a, b, c, d]", "!!seq {a: 1}"])


@st.composite
def stage_texts(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["s", "t", "s", "t", "9bad", "'1'"]))
    kind = draw(st.sampled_from(["foreach", "foreach", "matrix", "matrix", "both", "none"]))
    lines = []
    if kind in ("foreach", "both"):
        shape = draw(st.sampled_from(["list", "map", "scalar", "merged", "tagged"]))
        count = draw(AROUND)
        value = {"list": _values(count, False), "map": _values(count, True),
                 "scalar": "${nothing}", "tagged": draw(TAGGED),
                 "merged": "{<<: " + _values(draw(st.integers(0, 3)), True) + ", z: 1}"}[shape]
        lines.append(f"    foreach: {value}")
        do = draw(st.sampled_from(["mapping"] * 4 + ["scalar", "missing"]))
        if do == "mapping":
            lines.append("    do: {cmd: 'echo ${key} > o-${key}', outs: ['o-${key}']}")
        elif do == "scalar":
            lines.append("    do: 1")
    if kind in ("matrix", "both"):
        names = draw(st.lists(st.sampled_from(["a", "b", "c", "<<"]), max_size=3, unique=True))
        parts = []
        for axis in names:
            count = draw(st.sampled_from([0, 1, 2]))
            if axis == "<<":
                parts.append("<<: {m: " + _values(count, False) + "}")
            else:
                parts.append(f"{axis}: " + draw(st.one_of(st.sampled_from(
                    [_values(count, False), _values(count, True), "x"]), TAGGED)))
        lines.append("    matrix: {" + ", ".join(parts) + "}")
    if kind != "foreach" or draw(RARELY):
        lines.append("    cmd: 'echo ${key} > o-${key}'\n    outs: ['o-${key}']")
    if draw(RARELY):
        lines.append("    do: {cmd: x}")
    return f"  {name}:\n" + "\n".join(dict.fromkeys(lines))


@settings(max_examples=300, deadline=None)
@given(st.lists(stage_texts(), min_size=1, max_size=3), st.booleans())
def test_the_early_count_judges_as_the_full_validation(stages: list[str], extra: bool) -> None:
    text = ("extra: 1\n" if extra else "") + "stages:\n" + "\n".join(stages) + "\n"
    with patch.object(items, "MAX_ITEMS", 3), tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "gitpipe.yaml").write_text(text)
        early = _outcome(lambda: load_pipeline(Path(folder)))
        # As the spec was read before the node check: built without lines, and
        # with them to say where when that is invalid; reading the folder's
        # files as the load does (it holds no params.yaml).
        full = _outcome(lambda: parse_pipeline(parse_plain(text, "gitpipe.yaml"), "gitpipe.yaml",
                                               _no_file))
        if isinstance(full, BadInputError):
            full = _outcome(lambda: parse_pipeline(parse_yaml(text, "gitpipe.yaml"),
                                                   "gitpipe.yaml", _no_file))
    if _by_count(early) and isinstance(full, Exception) and not isinstance(full, SpecError):
        return  # refused either way: the count before YAML another stage makes unreadable
    if isinstance(full, BadInputError) and isinstance(early, BadInputError):
        assert set(getattr(early, "problems", [early.message])) <= set(
            getattr(full, "problems", [full.message])), (str(early), str(full))
        assert early.hint == full.hint
    elif isinstance(full, Exception):
        assert (type(early), str(early)) == (type(full), str(full))
    else:
        assert early == full


def _no_file(path: str) -> str | None:
    return None


def _by_count(found: object) -> bool:
    return isinstance(found, SpecError) and all(" makes " in p for p in found.problems)


def _outcome(parse: Callable[[], Pipeline]) -> Pipeline | Exception:
    try:
        return parse()
    except Exception as exc:  # PyYAML's own, for a tag on the wrong kind of node
        return exc
