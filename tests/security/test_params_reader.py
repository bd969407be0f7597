"""Attack on the parse cache: a clone's stage reads its params from the spec
itself (`params: [{gitpipe.yaml: [vars.lr]}]`). The spec's reader takes
`1e-4` for text, the params reader for a number; when both shared one cache
entry, whichever read first decided what the other got: the lock recorded
the text `1e-4`, and an edit to the quoted `'1e-4'` (a number become text,
for the params reader) was skipped. Each reader has its own entries: the
value recorded and judged is the params reader's, cache or none."""

from __future__ import annotations

import shutil

from tests.conftest import Repo

SPEC = """vars:
  lr: {lr}
stages:
  a:
    cmd: echo hi > out.txt
    params:
      - gitpipe.yaml:
          - vars.lr
    outs: [out.txt]
"""


def test_a_params_file_that_is_the_spec_is_read_by_the_params_reader(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": SPEC.format(lr="1e-3")}, commit="spec")
    repo.run("repro", check=True)
    repo.gen({"gitpipe.yaml": SPEC.format(lr="1e-4")})
    repo.run("status", check=True)  # the spec's reader fills the cache first
    repo.run("repro", check=True)
    assert "gitpipe.yaml:vars.lr: 0.0001" in (repo.path / "gitpipe.lock").read_text()
    repo.gen({"gitpipe.yaml": SPEC.format(lr="'1e-4'")})
    repo.run("status", check=True)
    cached = repo.run("status", "--check")
    shutil.rmtree(repo.parse_cache())
    scratch = repo.run("status", "--check")
    for done in (cached, scratch):
        assert done.returncode != 0, done.stdout + done.stderr
        assert "params: gitpipe.yaml:vars.lr 0.0001 -> 1e-4" in done.stdout, done.stdout
