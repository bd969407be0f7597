"""A symlink inside a directory dep that leads out of it is recorded as its
text, so an edit of its target leaves the stage up to date: a stage recorded
with one (run, restored, re-recorded or committed) is told so once, with the
link, its target and the remedy; declaring the target as a dep makes the
stage see the edit (project/dirlinks.py)."""

from __future__ import annotations

import os

from tests.conftest import Repo

SAID = "a directory dep holds a symlink to a file outside it"


def linked(repo: Repo, stages: dict[str, object]) -> Repo:
    repo.gen({"raw/2024.csv": "v1\n", "data/x.csv": "x\n"})
    os.symlink("../raw/2024.csv", repo.path / "data/current.csv")
    os.symlink("x.csv", repo.path / "data/alias.csv")  # its target is one of data/'s files
    repo.spec(stages)
    repo.run("init", check=True)
    return repo


def test_a_run_says_which_link_leads_out_of_a_directory_dep(repo: Repo) -> None:
    linked(repo, {"train": {"cmd": "cat data/current.csv data/alias.csv > model.txt",
                            "deps": ["data/"], "outs": ["model.txt"]}})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert SAID in done.stderr and "train" in done.stderr, done.stderr
    assert "data/current.csv -> ../raw/2024.csv" in done.stderr, done.stderr
    assert "declare the target as a dep (deps: [raw/2024.csv])" in done.stderr, done.stderr
    assert "alias" not in done.stderr, done.stderr
    # Up to date: nothing is recorded, nothing said again.
    for args in (["repro"], ["status"]):
        again = repo.run(*args)
        assert again.returncode == 0 and SAID not in again.stderr, (args, again.stderr)
    # The behaviour it warns of, and its remedy.
    (repo.path / "raw/2024.csv").write_text("v2\n")
    assert "everything is up to date" in repo.run("status").stdout
    repo.spec({"train": {"cmd": "cat data/current.csv data/alias.csv > model.txt",
                         "deps": ["data/", "raw/2024.csv"], "outs": ["model.txt"]}})
    assert repo.run("repro", check=True).returncode == 0
    assert repo.read("model.txt") == "v2\nx\n"
    (repo.path / "raw/2024.csv").write_text("v3\n")
    assert "raw/2024.csv modified" in repo.run("status").stdout


def test_the_items_sharing_a_linked_folder_are_told_once(repo: Repo) -> None:
    linked(repo, {"each": {"foreach": ["a", "b", "c"],
                           "do": {"cmd": "cat data/current.csv > ${item}.txt",
                                  "deps": ["data/"], "outs": ["${item}.txt"]}}})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(SAID) == 1, done.stderr


def test_commit_says_it_too(repo: Repo) -> None:
    linked(repo, {"train": {"cmd": "cat data/current.csv > model.txt",
                            "deps": ["data/"], "outs": ["model.txt"]}})
    repo.gen({"model.txt": "made by hand\n"})
    done = repo.run("commit")
    assert done.returncode == 0, done.stderr
    assert f"warning: stage 'train': {SAID}" in done.stderr, done.stderr
    assert "data/current.csv -> ../raw/2024.csv" in done.stderr, done.stderr


def test_links_that_stay_inside_their_folder_say_nothing(repo: Repo) -> None:
    repo.gen({"data/x.csv": "x\n", "data/sub/y.csv": "y\n"})
    os.symlink("x.csv", repo.path / "data/alias.csv")
    os.symlink("../x.csv", repo.path / "data/sub/up.csv")
    repo.spec({"train": {"cmd": "mkdir -p out && cat data/alias.csv > out/m.txt && "
                                "ln -sf m.txt out/latest",
                         "deps": ["data/"], "outs": ["out/"]}})
    repo.run("init", check=True)
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert "symlink" not in done.stderr, done.stderr
