"""`gitpipe remove STAGE` as a DVC user expects of `dvc remove`: the stage's
lines leave gitpipe.yaml (the rest as written), its lock entries leave
gitpipe.lock and its outs' lines leave .gitignore; the outs stay unless
`--outs`, and a file git tracks is never deleted."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import Repo

SPEC = """\
# the pipeline
stages:
  prepare:
    cmd: mkdir -p data && echo p > data/clean.txt
    outs: [data/clean.txt]

  # one file per day
  daily:
    partition: {by: date, start: 2024-01-01, end: 2024-01-02}
    cmd: mkdir -p days && echo ${date} > days/${date}.txt
    deps: [data/clean.txt]
    outs: ["days/${date}.txt"]
  sweep:
    foreach: [a, b]
    do:
      cmd: mkdir -p sweep && echo '{"s":1}' > sweep/${item}.json
      metrics: ["sweep/${item}.json"]

  # the model, trained on clean data
  train:
    cmd: echo m > model.txt   # keep this comment
    deps: [data/clean.txt]
    outs: [model.txt]
vars:
  - seed: 1
"""


def _ran(repo: Repo) -> Repo:
    repo.gen({"gitpipe.yaml": SPEC})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("ran")
    return repo


def test_remove_takes_the_stage_its_lock_entries_and_its_gitignore_lines(repo: Repo) -> None:
    _ran(repo)
    done = repo.run("remove", "daily", check=True)
    assert done.stdout.splitlines()[0] == (
        "removed daily from gitpipe.yaml, 2 lock entries from gitpipe.lock, "
        "1 line from .gitignore")
    assert repo.read("gitpipe.yaml") == SPEC.replace(
        "  # one file per day\n  daily:\n"
        "    partition: {by: date, start: 2024-01-01, end: 2024-01-02}\n"
        "    cmd: mkdir -p days && echo ${date} > days/${date}.txt\n"
        "    deps: [data/clean.txt]\n    outs: [\"days/${date}.txt\"]\n", "")
    assert "daily" not in repo.read("gitpipe.lock")
    assert repo.read(".gitignore").splitlines() == ["/data/clean.txt", "/model.txt"]
    # the outs stay, now seen by git, and the user is told so
    assert (repo.path / "days/2024-01-01.txt").exists()
    assert done.stderr.splitlines()[0] == (
        "note: days/2024-01-01.txt, days/2024-01-02.txt stay in the work tree, "
        "no longer ignored by git")
    assert "days/" in repo.git("status", "--porcelain")
    status = repo.run("status", check=True)
    assert status.stdout.splitlines() == ["everything is up to date"], status


def test_remove_outs_deletes_them_but_not_what_git_tracks(repo: Repo) -> None:
    _ran(repo)
    done = repo.run("remove", "train", "sweep", "--outs", check=True)
    assert "deleted the outs model.txt" in done.stdout
    assert not (repo.path / "model.txt").exists()
    assert (repo.path / "sweep/a.json").exists(), "committed metrics are git's"
    assert "note: git tracks sweep/a.json, sweep/b.json: kept" in done.stderr
    text = repo.read("gitpipe.yaml")
    assert "train" not in text and "sweep" not in text and "keep this comment" not in text
    assert text.endswith("    outs: [\"days/${date}.txt\"]\n\nvars:\n  - seed: 1\n"), text
    assert repo.read(".gitignore").splitlines() == [
        "/data/clean.txt", "/days/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].txt"]
    assert repo.run("status", check=True).stdout == "everything is up to date\n"


def test_remove_refuses_what_it_cannot_do_and_changes_nothing(repo: Repo) -> None:
    _ran(repo)
    before = {name: repo.read(name) for name in ("gitpipe.yaml", "gitpipe.lock", ".gitignore")}
    for args, said in [
        (("trian",), "error: gitpipe.yaml declares no stage 'trian' (did you mean 'train'?)"),
        (("daily@2024-01-01",), "error: 'daily@2024-01-01' is one item or partition of "
                                "stage 'daily': 'gitpipe remove' removes whole stages"),
        (("prepare", "daily", "sweep", "train"),
         "error: removing prepare, daily, sweep, train would leave gitpipe.yaml with no "
         "stage, and a pipeline has at least one"),
    ]:
        done = repo.run("remove", *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.splitlines()[0] == said
    assert {name: repo.read(name) for name in before} == before


def test_remove_names_the_deps_no_stage_writes_now(repo: Repo) -> None:
    _ran(repo)
    done = repo.run("remove", "prepare", check=True)
    assert done.stderr.splitlines() == [
        "note: data/clean.txt stays in the work tree, no longer ignored by git",
        "hint: delete it, or run 'gitpipe remove --outs' next time to delete it with the stage",
        "note: stage 'daily' reads 'data/clean.txt', which no stage writes now",
        "note: stage 'train' reads 'data/clean.txt', which no stage writes now"], done.stderr


def test_remove_refused_for_its_gitignore_changes_nothing(repo: Repo, tmp_path: Path) -> None:
    """A root .gitignore gitpipe will not read (a link) is refused before the
    stage leaves gitpipe.yaml or gitpipe.lock: nothing changed."""
    _ran(repo)
    (tmp_path / "elsewhere").write_text("/model.txt\n")
    (repo.path / ".gitignore").unlink()
    os.symlink(tmp_path / "elsewhere", repo.path / ".gitignore")
    spec, lock = repo.read("gitpipe.yaml"), repo.read("gitpipe.lock")
    done = repo.run("remove", "train")
    assert done.returncode != 0 and "'.gitignore' is a symbolic link" in done.stderr
    assert "Traceback" not in done.stderr
    assert (repo.read("gitpipe.yaml"), repo.read("gitpipe.lock")) == (spec, lock)


def test_remove_json_says_what_the_text_says(repo: Repo) -> None:
    from tests.func.test_json import document

    _ran(repo)
    doc = document(repo.run("remove", "prepare", "sweep", "--json", check=True), "remove")
    assert {key: doc[key] for key in ("ok", "stages", "spec", "lock_entries", "ignore_lines",
                                      "deleted", "left", "tracked", "beyond_range")} == {
        "ok": True, "stages": ["prepare", "sweep"], "spec": "gitpipe.yaml",
        "lock_entries": ["prepare", "sweep@a", "sweep@b"], "ignore_lines": ["/data/clean.txt"],
        "deleted": [], "left": ["data/clean.txt"], "tracked": ["sweep/a.json", "sweep/b.json"],
        "beyond_range": []}
    assert doc["unmade"] == [{"stage": "daily", "dep": "data/clean.txt"},
                             {"stage": "train", "dep": "data/clean.txt"}]
    assert doc["git_add"]["paths"] == [".gitignore", "gitpipe.lock", "gitpipe.yaml"]
    refused = repo.run("remove", "trian", "--json")
    assert refused.returncode == 2
    assert document(refused, "remove")["error"]["message"] == (
        "gitpipe.yaml declares no stage 'trian' (did you mean 'train'?)")


def test_remove_edits_a_linked_gitpipe_yaml_through_its_link(repo: Repo) -> None:
    """As git writes a linked config file, and an editor a linked file: the
    file the link leads to is edited, the link stays a link (it became a
    plain file, a type change git reports)."""
    _ran(repo)
    (repo.path / "pipelines").mkdir()
    (repo.path / "gitpipe.yaml").rename(repo.path / "pipelines/ml.yaml")
    os.symlink("pipelines/ml.yaml", repo.path / "gitpipe.yaml")
    repo.commit("the pipeline lives in pipelines/")
    done = repo.run("remove", "train", check=True)
    assert done.stdout.splitlines()[0] == (
        "removed train from gitpipe.yaml (pipelines/ml.yaml, which it links to), "
        "1 lock entry from gitpipe.lock, 1 line from .gitignore")
    assert os.readlink(repo.path / "gitpipe.yaml") == "pipelines/ml.yaml"
    assert "train:" not in repo.read("pipelines/ml.yaml")
    assert "git add .gitignore gitpipe.lock pipelines/ml.yaml" in done.stdout
    assert repo.git("status", "--porcelain", "gitpipe.yaml") == ""


def test_remove_names_the_outs_of_partitions_outside_the_range_it_keeps(repo: Repo) -> None:
    """A narrowed range leaves the lock's entries of the partitions before it
    (a backfill may run them): their outs are neither deleted by --outs (a
    lock is input, not a list of paths to delete) nor passed over in
    silence."""
    _ran(repo)
    spec = repo.read("gitpipe.yaml").replace("start: 2024-01-01, end: 2024-01-02",
                                             "start: 2024-01-02, end: 2024-01-02")
    repo.gen({"gitpipe.yaml": spec}, commit="narrowed")
    done = repo.run("remove", "daily", "--outs", check=True)
    assert "deleted the outs days/2024-01-02.txt" in done.stdout
    assert (repo.path / "days/2024-01-01.txt").exists()
    assert done.stderr.splitlines()[0] == (
        "note: days/2024-01-01.txt stays in the work tree, no longer ignored by git: outs "
        "of partitions outside the stage's declared range, which gitpipe.lock recorded "
        "('--outs' deletes only the range's)"), done.stderr
