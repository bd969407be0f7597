"""`status --rev REV` agrees with `git checkout REV` then `status` where a review
found it did not: a file name that is not UTF-8 in a directory dep, a symlink
to a directory, a chain of symlinks, files `.gitpipeignore` leaves out, and
`.gitattributes` the commit has and the work tree does not (or the other way
round)."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import Repo
from tests.func.test_staleness_holes import stale_after_checkout, stale_at


def built(repo: Repo, deps: list[str], files: dict[str, str | bytes]) -> Repo:
    """A stage listing its deps, run and committed with `files`."""
    repo.gen(files)
    repo.spec({"s": {"cmd": "ls -LR " + " ".join(deps) + " > out.txt", "deps": deps,
                     "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    return repo


def assert_agrees(repo: Repo, expected: dict[str, dict[str, list[str]]]) -> None:
    for rev, stale in expected.items():
        assert stale_at(repo, rev) == stale, rev
        assert stale_after_checkout(repo, rev) == stale, rev


@pytest.mark.parametrize("attributes", ["", "*.txt text eol=crlf\n"])
def test_a_file_name_that_is_not_utf8_in_a_directory_dep(repo: Repo, attributes: str) -> None:
    # With eol conversion the name goes through the filters as well (git's
    # warning about it would name the file in bytes the harness cannot decode).
    repo.git("config", "core.safecrlf", "false")
    eol = b"\r\n" if attributes else b"\n"  # what a checkout writes
    odd = (repo.path / "data").joinpath(os.fsdecode(b"caf\xe9.txt"))
    odd.parent.mkdir()
    odd.write_bytes(b"z" + eol)
    built(repo, ["data"], {"data/a.txt": b"a" + eol, ".gitattributes": attributes})
    odd.write_bytes(b"y" + eol)
    repo.commit("renamed file changed")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"s": ["deps: data/ modified"]}})


def test_a_symlink_to_a_directory_is_read_from_the_commit(repo: Repo) -> None:
    repo.gen({"d1/x.txt": "one\n"})
    os.symlink("d1", repo.path / "cur")
    built(repo, ["cur"], {})
    repo.gen({"d1/x.txt": "two\n"}, commit="d1 changed")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"s": ["deps: cur/ modified"]}})


def test_a_chain_of_symlinks_is_followed_in_the_commit(repo: Repo) -> None:
    repo.gen({"c.txt": "one\n"})
    os.symlink("c.txt", repo.path / "b")
    os.symlink("b", repo.path / "lnk")
    built(repo, ["lnk"], {})
    repo.gen({"c.txt": "two\n"}, commit="c changed")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"s": ["deps: lnk modified"]}})


def test_files_gitpipeignore_leaves_out_are_not_counted(repo: Repo) -> None:
    built(repo, ["data"], {"data/a.txt": "a\n", "data/notes.tmp": "n\n",
                           "data/sub/.gitpipeignore": "/keep/\n", "data/sub/keep/k.txt": "k\n",
                           "data/__pycache__/m.pyc": "p", "data/x.pyc": "p",
                           ".gitpipeignore": "*.tmp\n"})
    assert_agrees(repo, {"HEAD": {}})
    repo.gen({"data/notes.tmp": "changed\n", "data/sub/keep/k.txt": "changed\n"},
             commit="ignored files changed")
    assert_agrees(repo, {"HEAD": {}})
    repo.gen({".gitpipeignore": "*.nothing\n"}, commit="rules changed")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"s": ["deps: data/ modified"]}})


# The commit's `.gitattributes`, not the work tree's ------------------------------

TRACKED_DEPS = ("data.txt", "notes/a.txt")


def set_rules(repo: Repo, rules: str) -> None:
    """`.gitattributes` holding `rules`; none at all for no rules."""
    path = repo.path / ".gitattributes"
    if rules:
        path.write_text(rules)
    elif path.exists():
        path.unlink()


def as_a_checkout_writes(repo: Repo) -> None:
    """The tracked deps rewritten as a fresh checkout writes them (a checkout
    leaves a file alone whose blob did not change, even if its rules did)."""
    for name in TRACKED_DEPS:
        (repo.path / name).unlink()
    repo.git("checkout", "--", *TRACKED_DEPS)


def commit_rules(repo: Repo, rules: str) -> None:
    """A commit changing `.gitattributes` and nothing else. `git add -A` could
    also stage the deps: a checkout's index entry is racily clean when the file
    shares its timestamp tick with the index (likely where the kernel stamps
    files with a coarse clock), so git reads the file again and cleans the
    bytes the old rules wrote under the new ones: a new blob, holding exactly
    what the command read, and nothing would be stale."""
    set_rules(repo, rules)
    repo.git("add", "-A", "--", ".gitattributes")
    repo.git("commit", "-q", "-m", "rules changed")


def tracked_bytes(repo: Repo) -> dict[str, bytes]:
    return {name: (repo.path / name).read_bytes() for name in TRACKED_DEPS}


def stale_after_a_fresh_checkout(repo: Repo, rev: str) -> dict[str, list[str]]:
    branch = repo.git("rev-parse", "--abbrev-ref", "HEAD").strip()
    repo.git("checkout", "-q", rev)
    try:
        as_a_checkout_writes(repo)
        done = repo.run("status", "--json")
        assert done.returncode == 0, done.stderr
        return {s["name"]: s["reasons"] for s in json.loads(done.stdout)["stages"]
                if s["stale"]}
    finally:
        repo.git("checkout", "-q", branch)
        as_a_checkout_writes(repo)


@pytest.mark.parametrize("rules", ["*.txt text eol=crlf\n", "*.txt filter=upper\n",
                                   "[attr]shout filter=upper\nnotes/** shout\n"])
@pytest.mark.parametrize("in_the_commit", [True, False])
def test_the_commits_attributes_decide_how_its_deps_are_written(
        repo: Repo, rules: str, in_the_commit: bool) -> None:
    # The rules are in the built commit and not in the work tree's, or the
    # other way round: either way --rev answers as a checkout would.
    repo.git("config", "core.safecrlf", "false")
    repo.git("config", "filter.upper.smudge", "tr a-z A-Z")
    repo.git("config", "filter.upper.clean", "tr A-Z a-z")
    set_rules(repo, rules if in_the_commit else "")
    repo.gen({"data.txt": "one\n", "notes/a.txt": "two\n"})
    repo.spec({"s": {"cmd": "cat data.txt notes/a.txt > out.txt",
                     "deps": ["data.txt", "notes"], "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.commit("sources")
    as_a_checkout_writes(repo)
    read = tracked_bytes(repo)
    repo.run("repro", check=True)
    repo.commit("built")
    commit_rules(repo, "" if in_the_commit else rules)
    as_a_checkout_writes(repo)
    # Only the rules changed, not the blobs; yet a checkout writes other bytes
    # than the command read, for every dep the rules name: those are stale.
    for name in TRACKED_DEPS:
        assert repo.git("rev-parse", f"HEAD:{name}") == repo.git("rev-parse", f"HEAD~1:{name}")
    written = tracked_bytes(repo)
    changed = {"data.txt": "deps: data.txt modified", "notes/a.txt": "deps: notes/ modified"}
    due = {"s": [why for name, why in changed.items() if written[name] != read[name]]}
    assert due["s"] == [changed[name] for name in TRACKED_DEPS
                        if name.startswith("notes/") or "shout" not in rules]
    assert stale_at(repo, "HEAD~1") == {} == stale_after_a_fresh_checkout(repo, "HEAD~1")
    assert stale_at(repo, "HEAD") == due == stale_after_a_fresh_checkout(repo, "HEAD")


def test_the_commits_config_decides_the_executor_settings(repo: Repo) -> None:
    # A Kubernetes stage's image and cluster env are in its fingerprint: at a
    # commit they are the commit's `.gitpipe/config.yaml`, as after a checkout.
    config = {"kubernetes": {"image": "python:3.12", "env": {"MODE": "fast"}}}
    repo.gen({".gitpipe/config.yaml": config})
    repo.spec({"k": {"cmd": "echo $MODE > out.txt", "outs": ["out.txt"],
                     "executor": "kubernetes"}}, commit="pipeline")
    (repo.path / "out.txt").write_text("made\n")  # made by hand, never tracked by git
    done = repo.run("commit", "k")
    assert done.returncode == 0, done.stderr
    repo.commit("recorded")
    repo.gen({".gitpipe/config.yaml": {"kubernetes": {"image": "python:3.13"}}},
             commit="another image")
    assert_agrees(repo, {"HEAD~1": {}, "HEAD": {"k": ["executor settings changed"]}})
