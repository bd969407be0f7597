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


FORMATS = """stages:
  a:
    cmd: echo a > a.txt
    params: [{"x%json": [lr]}]
    outs: [a.txt]
  b:
    cmd: echo b > b.txt
    params: [{"x/json": [lr]}]
    outs: [b.txt]
"""


def test_params_files_read_by_two_formats_never_share_an_entry(repo: Repo) -> None:
    """A clone's params files `x/json` (read as JSON: its name's last part is
    `json`) and `x%json` (YAML) were remembered at one cache file (a `/` in a
    name is written `%` there), keyed by the text alone: the same text read as
    YAML (`Infinity` is text) was what the JSON reader got (a number). `b`'s
    edit from the text `"Infinity"` to the number `Infinity` was then skipped,
    by `status` and `repro`; from scratch it is a change. Each format's reader
    now has entries of its own."""
    repo.gen({"gitpipe.yaml": FORMATS, "x/json": '{"lr": "Infinity"}', "x%json": '{"lr": 1}'},
             commit="spec")
    repo.run("repro", check=True)
    repo.gen({"x/json": '{"lr": Infinity}', "x%json": '{"lr": Infinity}'})
    cached = repo.run("status", "--check")
    assert cached.returncode != 0, cached.stdout
    assert "b:\n    params: x/json:lr Infinity -> inf" in cached.stdout, cached.stdout
    done = repo.run("repro", check=True)
    assert "b      ran" in done.stdout, done.stdout
    assert "x/json:lr: .inf" in (repo.path / "gitpipe.lock").read_text()
    shutil.rmtree(repo.parse_cache())
    scratch = repo.run("status", "--check")
    assert scratch.returncode == 0, scratch.stdout + scratch.stderr
