"""`gitpipe verify` and `repro --verify`: up-to-date stages rerun in a scratch
copy outside the project, each out compared with the lock; the project itself
is only read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Repo, ran_cmd
from tests.func.test_json import document
from tests.security.conftest import assert_only_changed, snapshot

STAMP = "(cat data.txt; date +%s%N) > stamp.txt"
RANDOM_DIR = ("mkdir -p d && echo a > d/a.txt && echo b > d/b.txt "
              "&& od -An -N8 -tx8 /dev/urandom > d/random.txt")


def built(repo: Repo, stages: dict, *targets: str) -> Repo:
    """`stages` over data.txt, run once (one at a time, in file order) and
    committed with their lock."""
    repo.gen({"data.txt": "b\na\n"})
    repo.spec(stages)
    repo.run("init", check=True)
    repo.commit("pipeline")
    repo.run("repro", "-j", "1", *targets, check=True)
    repo.commit("built")
    repo.ran()
    return repo


def pure(name: str = "pure") -> dict:
    """A sorting stage that also notes each run in $TALLY, an absolute path
    outside the project (when set): what a rerun in a scratch copy still reaches."""
    return {"cmd": ran_cmd(name, f'{{ [ -z "$TALLY" ] || echo {name} >> "$TALLY"; }} && '
                                 f"sort data.txt > {name}.txt"),
            "deps": ["data.txt"], "outs": [f"{name}.txt"]}


def test_a_deterministic_stage_verifies(repo: Repo, tmp_path: Path) -> None:
    built(repo, {"pure": pure()})
    tally = tmp_path / "tally"
    done = repo.run("verify", env={"TALLY": str(tally)})
    assert done.returncode == 0, done.stderr
    assert "ok pure" in done.stdout and "verify: 1 ok" in done.stdout
    assert tally.read_text() == "pure\n"  # it really ran again
    assert repo.ran() == []  # in the copy: the project's own run log is not there


def test_a_timestamp_stage_differs_and_shows_the_line(repo: Repo) -> None:
    built(repo, {"pure": pure(), "stamp": {"cmd": STAMP, "deps": ["data.txt"],
                                           "outs": ["stamp.txt"]}})
    locked_stamp = repo.read("stamp.txt").splitlines()[-1]
    done = repo.run("verify")
    assert done.returncode == 1, done.stdout
    assert "ok pure" in done.stdout and "differs stamp" in done.stdout
    assert "--- stamp.txt (locked)" in done.stdout and "+++ stamp.txt (rerun)" in done.stdout
    assert f"-{locked_stamp}" in done.stdout  # the locked line, read from the cache
    assert "deterministic: false' in gitpipe.yaml for: stamp" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_directory_out_names_the_file_that_differs(repo: Repo) -> None:
    built(repo, {"dir": {"cmd": RANDOM_DIR, "outs": ["d/"]}})
    done = repo.run("verify", "dir")
    assert done.returncode == 1
    assert "changed: d/random.txt" in done.stdout
    assert "a.txt" not in done.stdout and "b.txt" not in done.stdout


def test_verify_changes_nothing_in_the_project(repo: Repo, tmp_path: Path) -> None:
    built(repo, {"pure": pure(), "dir": {"cmd": RANDOM_DIR, "outs": ["d/"]},
                 "stamp": {"cmd": STAMP, "deps": ["pure.txt", "data.txt"],
                           "outs": ["stamp.txt"]}})
    repo.age().run("status", check=True)  # the stat cache as any status leaves it
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = snapshot(tmp_path)
    done = repo.run("verify", env={"TMPDIR": str(scratch)})
    assert done.returncode == 1 and "differs stamp" in done.stdout
    # The work tree, .gitpipe/ (cache, logs, state.db) and gitpipe.lock are as
    # they were, and the scratch copies are gone again. The commands' run log
    # is the one file written: it is not in git, so the copies do not have it.
    assert_only_changed(before, snapshot(tmp_path), ["repo/runs.log"])
    assert list(scratch.iterdir()) == []


def test_a_command_sees_the_copy_as_its_project(repo: Repo) -> None:
    """verify isolates by copy, not by sandbox: it gives the command the copy
    (its working directory and GITPIPE_ROOT), never the real project's path."""
    cmd = 'echo side > "$GITPIPE_ROOT/side.txt" && pwd > where.txt && echo x > "$PWD/o.txt"'
    built(repo, {"s": {"cmd": cmd, "outs": ["o.txt"]}})
    (repo.path / "side.txt").unlink()
    (repo.path / "where.txt").unlink()
    done = repo.run("verify")
    assert done.returncode == 0, done.stdout
    assert not (repo.path / "side.txt").exists() and not (repo.path / "where.txt").exists()


def test_stale_stages_are_named_and_skipped(repo: Repo) -> None:
    built(repo, {"pure": pure(), "after": {"cmd": "cat pure.txt > after.txt",
                                           "deps": ["pure.txt"], "outs": ["after.txt"]}})
    repo.gen({"data.txt": "c\n"})
    done = repo.run("verify")
    assert done.returncode == 0, done.stdout
    assert ("skipped pure (stale (deps: data.txt modified); run 'gitpipe repro pure' first)"
            in done.stdout)
    assert "skipped after (stale (upstream: pure)" in done.stdout
    assert repo.ran() == []


def test_an_unknown_target_is_bad_input(repo: Repo) -> None:
    built(repo, {"pure": pure()})
    done = repo.run("verify", "nope")
    assert done.returncode == 2 and "unknown stage 'nope'" in done.stderr


def test_foreach_items_are_selected_like_repro_targets(repo: Repo) -> None:
    built(repo, {"each": {"foreach": ["x", "y"],
                          "do": {"cmd": "echo ${item} > ${item}.txt", "outs": ["${item}.txt"]}}})
    done = repo.run("verify", "each@y")
    assert done.returncode == 0, done.stdout
    assert "ok each@y" in done.stdout and "each@x" not in done.stdout


def test_a_dep_out_of_another_stage_comes_along_and_an_undeclared_one_does_not(
        repo: Repo) -> None:
    built(repo, {"pure": pure(),
                 "uses": {"cmd": "cat pure.txt > uses.txt", "deps": ["pure.txt"],
                          "outs": ["uses.txt"]},
                 "sneaky": {"cmd": "cat pure.txt > sneaky.txt", "outs": ["sneaky.txt"]}})
    done = repo.run("verify", "uses", "sneaky")
    assert done.returncode == 1
    assert "ok uses" in done.stdout
    assert "failed sneaky" in done.stdout and "not declared" in done.stdout
    assert "pure.txt: No such file" in done.stdout  # the command's own words, from its log


def test_always_changed_and_other_executors(repo: Repo) -> None:
    built(repo, {"pure": {**pure(), "always_changed": True},
                 "k": {"cmd": "true", "outs": ["k.txt"], "executor": "kubernetes"}}, "pure")
    done = repo.run("verify")
    assert done.returncode == 0, done.stdout
    assert "ok pure (always_changed: it reruns on every repro anyway)" in done.stdout
    assert ("skipped k (runs on the 'kubernetes' executor; 'gitpipe verify --local k' "
            "reruns it on this machine instead)") in done.stdout


def test_verify_json(repo: Repo) -> None:
    built(repo, {"pure": pure(), "stamp": {"cmd": STAMP, "deps": ["data.txt"],
                                           "outs": ["stamp.txt"]},
                 "dir": {"cmd": RANDOM_DIR, "outs": ["d/"]}})
    done = repo.run("verify", "--json")
    assert done.returncode == 1
    doc = document(done, "verify")
    by_task = {t["task"]: t for t in doc["tasks"]}
    assert doc["ok"] is False and doc["totals"] == {"ok": 1, "differs": 2, "failed": 0,
                                                    "skipped": 0}
    assert by_task["pure"]["result"] == "ok" and by_task["pure"]["outs"][0]["same"] is True
    stamp = by_task["stamp"]
    assert stamp["suggest_nondeterministic"] is True
    assert stamp["outs"][0]["diff"][0] == "--- stamp.txt (locked)"
    assert by_task["dir"]["outs"][0]["changed"] == ["random.txt"]
    assert by_task["dir"]["outs"][0]["type"] == "directory"


def test_repro_verify_fails_on_a_timestamp_stage_and_keeps_its_first_run(repo: Repo) -> None:
    repo.gen({"data.txt": "b\na\n"})
    repo.spec({"pure": pure(), "stamp": {"cmd": STAMP, "deps": ["data.txt"],
                                         "outs": ["stamp.txt"]}})
    repo.run("init", check=True)
    repo.commit("pipeline")
    done = repo.run("repro", "--verify")
    assert done.returncode == 1, done.stdout
    assert "ok pure" in done.stdout and "differs stamp" in done.stdout
    assert "--- stamp.txt (locked)" in done.stdout
    first = repo.read("stamp.txt")
    # The lock keeps what the first run made: it is correct data, just not reproducible.
    assert repo.run("status", "--check").returncode == 0
    assert f"-{first.splitlines()[-1]}" in done.stdout and repo.read("stamp.txt") == first


def test_repro_verify_passes_on_pure_stages_and_checks_only_what_ran(
        repo: Repo, tmp_path: Path) -> None:
    built(repo, {"pure": pure(), "other": pure("other")})
    repo.gen({"data.txt": "c\n"})
    tally = tmp_path / "tally"
    done = repo.run("repro", "--verify", "pure", "--json", env={"TALLY": str(tally)})
    assert done.returncode == 0, done.stderr
    doc = document(done, "repro")
    assert [t["task"] for t in doc["verify"]["tasks"]] == ["pure"]
    assert doc["ok"] is True and doc["verify"]["totals"]["ok"] == 1
    assert tally.read_text() == "pure\npure\n"  # the run, then the verification


def test_repro_verify_json_fails_the_document(repo: Repo) -> None:
    repo.gen({"data.txt": "b\na\n"})
    repo.spec({"stamp": {"cmd": STAMP, "deps": ["data.txt"], "outs": ["stamp.txt"]}})
    repo.run("init", check=True)
    done = repo.run("repro", "--verify", "--json")
    assert done.returncode == 1
    doc = document(done, "repro")
    assert doc["ok"] is False and doc["tasks"][0]["outcome"] == "ran"
    assert doc["verify"]["tasks"][0]["result"] == "differs"


@pytest.mark.parametrize("args", [(), ("--verify",)])
def test_a_nondeterministic_stage_is_not_verified(repo: Repo, args: tuple[str, ...]) -> None:
    repo.gen({"data.txt": "b\na\n"})
    repo.spec({"stamp": {"cmd": STAMP, "deps": ["data.txt"], "outs": ["stamp.txt"],
                         "deterministic": False}})
    repo.run("init", check=True)
    done = repo.run("repro", *args) if args else repo.run("repro")
    assert done.returncode == 0, done.stdout
    done = repo.run("repro", "--force", "--verify") if args else repo.run("verify")
    assert done.returncode == 0, done.stdout
    assert "skipped stamp" in done.stdout and "deterministic: false" in done.stdout
    assert json.loads(repo.run("verify", "--json").stdout)["tasks"][0]["result"] == "skipped"
