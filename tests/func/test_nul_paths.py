"""A NUL character in a path gitpipe.yaml names (YAML's "\\0" escape) is no
file's name: the spec's path check said nothing of it (the common case's
pattern let it through), and the first system call ended the command in
"unexpected ValueError: embedded null byte", exit 1. It is refused like any
other bad path, naming the file, the line, the stage and the field."""

from __future__ import annotations

import pytest

from tests.conftest import Repo


@pytest.mark.parametrize(("lines", "said"), [
    ('deps: ["x\\0y"]\n    outs: [o]', "dependency 'x\\x00y'"),
    ('outs: ["o\\0p"]', "out 'o\\x00p'"),
    ('wdir: "s\\0t"\n    outs: [o]', "wdir 's\\x00t'"),
    ('params: [{"p\\0.yaml": [lr]}]\n    outs: [o]', "params file 'p\\x00.yaml'"),
], ids=["dep", "out", "wdir", "params-file"])
@pytest.mark.parametrize("command", ["status", "repro"])
def test_a_nul_in_a_spec_path_is_refused_by_name(repo: Repo, lines: str, said: str,
                                                 command: str) -> None:
    repo.gen({"gitpipe.yaml": f'stages:\n  a:\n    cmd: "true"\n    {lines}\n'})
    done = repo.run(command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"gitpipe.yaml:4: stage 'a': {said}: it holds a NUL character" in done.stderr, \
        done.stderr
    assert "unexpected" not in done.stderr
