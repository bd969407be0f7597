"""A clone's `.gitpipeignore` of 100,000 rules (`z0` … `z99999`, 690 KB,
under the 1 MiB a file may hold) in a directory dep of 4,000 files: every
file was matched against every rule, and `gitpipe status` spent about
50 s of CPU (a dataset of 100,000 files: twenty minutes); a file in each of
a few nested folders multiplied it. More than 1,000 rules in force (one
file, or a file with those above it) is refused, exit 2, naming the file.

The bound is on CPU time (RLIMIT_CPU), not on the clock."""

from __future__ import annotations

import resource
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

CPU_SECONDS = 15
STATE = [f"repo/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


def _cpu_bound() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _status(repo: Repo, tmp_path: Path, files: dict[str, str]) -> str:
    repo.gen({f"data/f{n}.csv": f"{n}\n" for n in range(4000)} | files)
    repo.spec({"s": {"cmd": "ls data > o.txt", "deps": ["data"], "outs": ["o.txt"]}},
              commit="a dataset and its rules")
    repo.run("init", check=True)
    before = snapshot(tmp_path)
    done = repo.run("status", preexec_fn=_cpu_bound, env={"GITPIPE_HASH_WORKERS": "1"})
    said = done.stdout + done.stderr
    assert done.returncode == 2, (done.returncode, said[-2000:])
    assert "Traceback" not in said, said
    assert_only_changed(before, snapshot(tmp_path), STATE)
    return done.stderr


def test_a_rules_file_of_many_lines_is_refused_before_matching(repo: Repo,
                                                               tmp_path: Path) -> None:
    said = _status(repo, tmp_path, {"data/.gitpipeignore": "".join(
        f"z{n}\n" for n in range(100_000))})
    assert f"error: {repo.path}/data/.gitpipeignore: more than 1,000 rules (line 1001)" in said


def test_nested_rules_files_count_together(repo: Repo, tmp_path: Path) -> None:
    rules = "".join(f"z{n}\n" for n in range(600))
    said = _status(repo, tmp_path, {"data/.gitpipeignore": rules,
                                    "data/in/.gitpipeignore": rules, "data/in/x.csv": "x\n"})
    assert f"error: {repo.path}/data/in/.gitpipeignore: 1,200 rules in force with those " \
        "above it, more than gitpipe matches every file against (1,000)" in said, said
