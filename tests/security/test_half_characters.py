"""Attack on a params file's text: JSON alone can write half a character
(`"\\ud800"`, a lone surrogate), which Python reads as a str that no file
can hold. A clone's params.json holding one read as a changed param in
`status`; `repro` ran the stage's command, then crashed with a traceback
as the lock entry was written (its outs unrecorded, the stage failed with
no message), on every run. It is refused where the file is read, naming
file and key, before anything runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot


@pytest.mark.parametrize("text", ['{"lr": "\\ud800x"}', '{"lr": [1, {"\\udc00": 2}]}'])
@pytest.mark.parametrize("args", [("status",), ("repro",)])
def test_half_a_character_in_a_json_params_file_is_refused(
        make_repo: Callable[[str], Repo], tmp_path: Path, text: str,
        args: tuple[str, ...]) -> None:
    evil = make_repo("evil")
    evil.spec({"a": {"cmd": "echo a > a.txt", "params": [{"p.json": ["lr"]}],
                     "outs": ["a.txt"]}})
    evil.gen({"p.json": text}, commit="params")
    clone = evil.clone_to(tmp_path / "ci")
    before = snapshot(tmp_path)
    done = clone.run(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: p.json: key 'lr"), done.stderr
    assert "half a character" in done.stderr, done.stderr
    assert not (clone.path / "a.txt").exists()  # nothing ran
    assert_only_changed(before, snapshot(tmp_path), ["ci/.gitpipe"])
