"""`.gitpipeignore` found in review: a pattern git gives up on, and the root's
rules over a dep below another gitpipe.yaml. Real git, the CLI as a subprocess."""

from __future__ import annotations

import json

from tests.conftest import Repo, ran_cmd


def _states(repo: Repo) -> dict[str, list[str]]:
    done = repo.run("status", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return {row["name"]: row["reasons"] for row in json.loads(done.stdout)["stages"]}


def _data_stage(repo: Repo, dep: str = "data/") -> None:
    repo.gen({f"{dep}a.txt": "a\n"})
    repo.spec({"use": {"cmd": ran_cmd("use", f"ls {dep} > o.txt"),
                       "deps": [dep], "outs": ["o.txt"]}}, commit="pipeline")
    assert repo.run("repro").returncode == 0


def test_a_bad_character_range_matches_nothing_without_a_seal(repo: Repo) -> None:
    _data_stage(repo)
    repo.gen({"data/.gitpipeignore": "[z-a]\n"})
    assert _states(repo) == {"use": ["deps: data/ modified"]}


def test_a_bad_character_range_matches_nothing_with_a_seal(repo: Repo) -> None:
    _data_stage(repo)
    repo.age()
    for _ in range(2):  # the first leaves a seal, the second is answered from it
        done = repo.run("status", "--check")
        assert done.returncode == 0, done.stderr
    repo.gen({"data/.gitpipeignore": "[z-a]\n[!z-a]b\n"})
    done = repo.run("status", "--check")
    assert (done.returncode, done.stderr) == (1, "")
    assert "data/ modified" in done.stdout
    repo.gen({"data/b": "b"})  # ignored by `[!z-a]b`
    assert _states(repo) == {"use": ["deps: data/ modified"]}


def test_the_root_rules_reach_a_dep_below_another_gitpipe_yaml(repo: Repo) -> None:
    repo.gen({"ex/gitpipe.yaml": "stages: {}\n", ".gitpipeignore": "*.tmp\n"})
    _data_stage(repo, "ex/data/")
    repo.age()
    repo.gen({"ex/data/n.tmp": "scratch"})
    repo.age()
    assert _states(repo) == {"use": []}
    for _ in range(2):  # the second is answered from the seal the first leaves
        done = repo.run("status", "--check")
        assert done.returncode == 0, done.stdout + done.stderr
    repo.gen({"ex/data/n.txt": "counts"})
    assert _states(repo) == {"use": ["deps: ex/data/ modified"]}
