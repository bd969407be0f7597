"""A run's log is named after its task, and a task's name comes from
gitpipe.yaml (a stage's name, a foreach item's key, a partition): whatever
its length, the log is made beside the others in `.gitpipe/logs`, and the
stage runs. Each test compares the whole temp tree before and after."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

LONG = "s" * 240  # a name the spec allows; with the time and pid, past a file name's 255 bytes


def test_a_stage_with_a_long_name_runs_and_keeps_its_log(repo: Repo, tmp_path: Path) -> None:
    """A clone's stage named with 240 characters whose command prints: its
    log's name (`<task>-<time>-<pid>.log`) was longer than a file name may
    be, so the stage was stopped at its first output and failed, for ever,
    with advice to make .gitpipe/logs writable."""
    repo.spec({LONG: {"cmd": "echo printed; echo made > o.txt", "outs": ["o.txt"]},
               "other": {"cmd": "echo other; echo x > p.txt", "outs": ["p.txt"]}},
              commit="a long name")
    repo.run("init", check=True)
    repo.commit("init")
    before = snapshot(tmp_path)
    done = repo.run("repro")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert repo.read("o.txt") == "made\n"
    logs = [path for path in (repo.path / ".gitpipe/logs").iterdir()]
    assert len(logs) == 2 and all(len(path.name.encode()) <= 255 for path in logs)
    assert sorted(path.read_text() for path in logs) == ["other\n", "printed\n"]
    assert_only_changed(before, snapshot(tmp_path),
                        [f"{repo.path.name}/{part}" for part in
                         (".gitpipe", "gitpipe.lock", "o.txt", "p.txt", ".gitignore")])
    # Each task's logs are counted apart: retention keeps the newest of each.
    repo.gen({".gitpipe/config.local.yaml": {"core": {"log_retention": 1}}})
    assert repo.run("repro", "--force").returncode == 0
    names = sorted(path.name for path in (repo.path / ".gitpipe/logs").iterdir())
    assert len(names) == 2 and names[0].startswith("other-"), names
