"""A stage renamed in gitpipe.yaml, nothing else changed, is restored, not
run again: the name is no input of a fingerprint, so the lock entry of its
former name stands for its run (as DVC's run-cache, keyed without the name,
restores it). Anything else changed with the name, and it runs."""

from __future__ import annotations

import yaml

from tests.conftest import Repo, ran_cmd
from tests.func.test_json import document

TRAIN = {"cmd": ran_cmd("train", "cp data.txt model.txt"), "deps": ["data.txt"],
         "outs": ["model.txt"]}


def _ran_once(repo: Repo, stages: dict[str, dict]) -> None:
    repo.gen({"data.txt": "rows\n"})
    repo.spec(stages)
    repo.run("repro", check=True)
    assert repo.ran() == list(stages)
    repo.commit("ran")


def test_a_renamed_stage_is_restored_from_its_former_entry(repo: Repo) -> None:
    _ran_once(repo, {"train": TRAIN})
    repo.spec({"fit": TRAIN})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert repo.ran() == []
    assert "dropped the lock entry of train" in done.stdout, done.stdout
    assert "restored fit: from the cache, as gitpipe.lock recorded it for 'train'" in \
        done.stdout, done.stdout
    stages = yaml.safe_load(repo.read("gitpipe.lock"))["stages"]
    assert list(stages) == ["fit"]
    assert repo.read("model.txt") == "rows\n"
    assert repo.run("status").stdout == "everything is up to date\n"


def test_status_and_a_dry_run_say_a_renamed_stage_may_be_restored(repo: Repo) -> None:
    """Both call the renamed stage new (its name has no entry) and, before this
    note, a dry run said `would run fit` for what the repro then restored."""
    _ran_once(repo, {"train": TRAIN})
    repo.spec({"fit": TRAIN})
    note = ("note: fit declares the outs gitpipe.lock records for train (renamed?): if "
            "nothing else changed, 'gitpipe repro' restores them from the cache rather "
            "than running fit")
    status = repo.run("status")
    assert status.stdout.splitlines()[-1] == note, status.stdout
    dry = repo.run("repro", "--dry-run", check=True)
    assert dry.stdout.splitlines()[-1] == note, dry.stdout
    found = document(repo.run("status", "--json"), "status")  # the schema's too
    assert (found["orphaned"], found["renamed"]) == (
        ["train"], [{"task": "fit", "former": "train"}]), found
    repo.run("repro", check=True)
    assert repo.ran() == []


def test_a_renamed_stage_whose_command_changed_runs(repo: Repo) -> None:
    _ran_once(repo, {"train": TRAIN})
    repo.spec({"fit": {**TRAIN, "cmd": ran_cmd("train", "cp data.txt model.txt && echo v2 "
                                                        ">> model.txt")}})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert repo.ran() == ["train"]
    assert repo.read("model.txt") == "rows\nv2\n"


def test_a_renamed_stage_runs_when_asked_not_to_restore(repo: Repo) -> None:
    _ran_once(repo, {"train": TRAIN})
    repo.spec({"fit": TRAIN})
    repo.run("repro", "--no-run-cache", check=True)
    assert repo.ran() == ["train"]


def test_renamed_foreach_items_are_each_restored(repo: Repo) -> None:
    each = {"foreach": ["a", "b"], "do": {
        "cmd": ran_cmd("${item}", "echo ${item} > out-${item}.txt"),
        "outs": ["out-${item}.txt"]}}
    repo.spec({"make": each})
    repo.run("repro", check=True)
    assert sorted(repo.ran()) == ["a", "b"]
    repo.spec({"build": each})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert repo.ran() == []
    assert "recorded it for 'make@a'" in done.stdout and "recorded it for 'make@b'" in \
        done.stdout, done.stdout
    assert sorted(yaml.safe_load(repo.read("gitpipe.lock"))["stages"]) == ["build@a", "build@b"]
