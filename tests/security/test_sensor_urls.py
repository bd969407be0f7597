"""Attack through a sensor (`wait_for:`) in a clone's gitpipe.yaml. A
sensor is polled on this machine, also where the user keeps the stages'
commands off it (`repro --executor kubernetes`), and its URL went to fsspec
as written: any protocol, any chain of wrappers over this machine's files.
`reference://x::file:///dev/zero` had the poll read /dev/zero into memory
until none was left (the MemoryError was then taken for "not there yet").
A sensor names the storage a committed remote may name (pipeline/
committedoptions.url_protocol_problem, through pipeline/itemcheck.
sensor_problem), as written and as each foreach item renders it; anything
else is refused before a stage runs, naming the stage and the path."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import assert_only_changed, snapshot

ZERO = "reference://x::file:///dev/zero"


def _at_most_2_gib() -> None:
    """The poll of /dev/zero ends in a MemoryError here, not in the machine's swap."""
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize("how", ["written", "a foreach item", "a wrapper alone"])
def test_a_sensor_never_opens_a_wrapper_over_this_machine_s_files(
        make_repo: Any, tmp_path: Path, how: str) -> None:
    origin = make_repo("origin")
    stage: dict[str, Any] = {"cmd": "echo ran > out.txt", "outs": ["out.txt"],
                             "wait_for": {"path": ZERO, "timeout": "2s", "poke": "1s"}}
    if how == "a foreach item":
        stage = {**stage, "foreach": {"zero": ZERO}, "do": {}}
        stage["do"] = {key: stage.pop(key) for key in ("cmd", "outs", "wait_for")}
        stage["do"]["wait_for"]["path"] = "${item}"
    elif how == "a wrapper alone":
        stage["wait_for"]["path"] = "memory://landing/_SUCCESS"
    origin.spec({"a": stage})
    origin.commit("a sensor on a wrapper")
    clone = origin.clone_to(tmp_path / "clone")
    before = snapshot(tmp_path)
    done = clone.run("repro", preexec_fn=_at_most_2_gib)
    said = done.stdout + done.stderr
    assert "Traceback" not in said, said
    assert done.returncode == 2, said
    assert "wait_for" in done.stderr and "stage 'a'" in done.stderr, said
    assert not (clone.path / "out.txt").exists(), said
    assert_only_changed(before, snapshot(tmp_path), ["clone/.gitpipe", "clone/.gitignore"])


def test_a_sensor_on_a_folder_url_still_waits_for_its_file(make_repo: Any,
                                                           tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "_SUCCESS").write_text("")
    repo = make_repo("origin")
    repo.spec({"a": {"cmd": "echo ran > out.txt", "outs": ["out.txt"],
                     "wait_for": {"path": f"file://{landing}/_SUCCESS", "timeout": "20s",
                                  "poke": "1s"}}})
    done = repo.run("repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo.path / "out.txt").read_text() == "ran\n"
