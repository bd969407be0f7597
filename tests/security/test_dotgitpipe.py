"""Attacks through `.gitpipe/`: links out of the repository, machine-local state
committed to git, forged parse caches and seals, and commands run where no
project was ever initialised. Each runs the CLI on a repository built for the
attack and compares the whole temp tree before and after."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import xxhash

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

VICTIM_OBJECT = "files/xxh3/00/00000000000000000000000000000000"
STATE_DB = [f"clone/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


def built(repo: Repo) -> Repo:
    """A committed, built one-stage pipeline (its out cached, so not committed)."""
    repo.gen({"data.txt": "input\n"})
    repo.spec({"build": {"cmd": "cp data.txt out.txt", "deps": ["data.txt"],
                         "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    return repo


def victims(tmp_path: Path) -> tuple[Path, Path]:
    """A folder that looks like a cache (an object, another file) and a file,
    both outside every repository."""
    folder = tmp_path / "victim"
    (folder / VICTIM_OBJECT).parent.mkdir(parents=True)
    (folder / VICTIM_OBJECT).write_text("not what its name says\n")
    (folder / "precious.txt").write_text("precious\n")
    file = tmp_path / "victim.txt"
    file.write_text("precious\n")
    return folder, file


def commit_link(repo: Repo, part: str, target: Path) -> None:
    """Replace `.gitpipe/<part>` by a link to `target` and force it into a commit
    (.gitpipe/.gitignore ignores it: an attacker adds it anyway)."""
    place = repo.path / ".gitpipe" / part
    if place.is_dir() and not place.is_symlink():
        shutil.rmtree(place)
    elif place.exists() or place.is_symlink():
        place.unlink()
    os.symlink(target, place)
    repo.git("add", "-f", f".gitpipe/{part}")
    repo.git("commit", "-q", "-m", f"link .gitpipe/{part}")


def refused(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    """A clear refusal: non-zero exit, every expected phrase said, no traceback."""
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for phrase in expected:
        assert phrase in done.stderr, done.stderr


@pytest.mark.parametrize("command", [("repro",), ("gc",), ("fsck", "--repair"), ("checkout",),
                                     ("status",)])
def test_a_committed_cache_link_is_neither_written_nor_emptied(
        make_repo, tmp_path: Path, command: tuple[str, ...]) -> None:
    attacker = built(make_repo("attacker"))
    folder, _ = victims(tmp_path)
    commit_link(attacker, "cache", folder)
    clone = attacker.clone_to(tmp_path / "clone")
    before = snapshot(tmp_path)
    done = clone.run(*command)
    refused(done, "'.gitpipe/cache' is a symbolic link", str(folder), "never follows")
    assert_only_changed(before, snapshot(tmp_path))
    assert (folder / VICTIM_OBJECT).exists() and not clone.ran()


@pytest.mark.parametrize("part, kind", [("state.db", "file"), ("project.lock", "file"),
                                        ("config.local.yaml", "file"), ("tmp", "folder"),
                                        ("logs", "folder")])
def test_a_committed_link_in_gitpipe_dir_is_refused(make_repo, tmp_path: Path, part: str,
                                                    kind: str) -> None:
    attacker = built(make_repo("attacker"))
    folder, file = victims(tmp_path)
    target = file if kind == "file" else folder
    commit_link(attacker, part, target)
    clone = attacker.clone_to(tmp_path / "clone")
    (clone.path / "data.txt").write_text("changed\n")  # something to run
    before = snapshot(tmp_path)
    for command in (("repro",), ("status",)):
        done = clone.run(*command)
        refused(done, f"'.gitpipe/{part}' is a symbolic link", str(target))
        assert_only_changed(before, snapshot(tmp_path))
    assert file.read_text() == "precious\n" and not clone.ran()


def test_gitpipe_dir_itself_a_link_is_refused(make_repo, tmp_path: Path) -> None:
    attacker = built(make_repo("attacker"))
    folder, _ = victims(tmp_path)
    shutil.copytree(attacker.path / ".gitpipe", folder / "dotdir")
    shutil.rmtree(attacker.path / ".gitpipe")
    os.symlink(folder / "dotdir", attacker.path / ".gitpipe")
    attacker.commit("link .gitpipe")
    clone = attacker.clone_to(tmp_path / "clone")
    (clone.path / "data.txt").write_text("changed\n")
    before = snapshot(tmp_path)
    for command in (("repro",), ("status",), ("init",), ("gc",)):
        done = clone.run(*command)
        refused(done, "'.gitpipe' is a symbolic link")
        assert_only_changed(before, snapshot(tmp_path))
    assert not clone.ran()


def test_a_link_swapped_in_after_the_check_is_not_followed(repo: Repo, tmp_path: Path) -> None:
    # The up-front check is the message; opening without following links is
    # the guard that holds even when the check did not see the link.
    from gitpipe.core.errors import BadInputError
    from gitpipe.project.projectlock import ProjectLock

    built(repo)
    _, file = victims(tmp_path)
    (repo.path / ".gitpipe" / "project.lock").unlink()
    os.symlink(file, repo.path / ".gitpipe" / "project.lock")
    with pytest.raises(BadInputError, match=r"project\.lock"):
        ProjectLock(repo.path / ".gitpipe").acquire()
    assert file.read_text() == "precious\n"


@pytest.mark.parametrize("tracked", [".gitpipe/cache/files/xxh3/00/0000", ".gitpipe/state.db",
                                     ".gitpipe/logs/build.log", ".gitpipe/config.local.yaml"])
def test_machine_state_tracked_by_git_is_refused(make_repo, tmp_path: Path, tracked: str) -> None:
    attacker = built(make_repo("attacker"))
    (attacker.path / tracked).parent.mkdir(parents=True, exist_ok=True)
    (attacker.path / tracked).write_text("planted\n")
    attacker.git("add", "-f", tracked)
    attacker.git("commit", "-q", "-m", "plant")
    clone = attacker.clone_to(tmp_path / "clone")
    (clone.path / "data.txt").write_text("changed\n")
    before = snapshot(tmp_path)
    for command in (("repro",), ("status",), ("gc",)):
        done = clone.run(*command)
        refused(done, f"{tracked!r} is tracked by git", "git rm -r -- .gitpipe/")
        assert_only_changed(before, snapshot(tmp_path))
    assert not clone.ran()


def test_state_only_staged_is_unstaged_and_kept(repo: Repo) -> None:
    """`git add -f` (or `-A` under rules a commit emptied) staged the user's own
    config.local.yaml: the hint unstages it and keeps the file; `git rm -r`
    would refuse, and its `-f` would delete the user's credentials."""
    built(repo)
    local = repo.path / ".gitpipe" / "config.local.yaml"
    local.write_text("remotes:\n  store:\n    url: /elsewhere\n")
    repo.git("add", "-f", ".gitpipe/config.local.yaml")
    done = repo.run("status")
    hint = "git rm -r --cached -q -- .gitpipe/config.local.yaml"
    refused(done, "'.gitpipe/config.local.yaml' is tracked by git", hint)
    subprocess.run(hint.split(), cwd=repo.path, check=True)
    assert local.exists()
    assert repo.run("status").returncode == 0


@pytest.mark.parametrize("index", ["version 4", "split", "linked worktree", "subfolder"])
def test_tracked_state_is_found_in_every_index_form(make_repo, tmp_path: Path, index: str) -> None:
    # The index is first scanned as bytes; the forms that scan cannot read
    # (compressed paths, a shared index, an index elsewhere) still find it.
    attacker = make_repo("attacker")
    where = "sub/" if index == "subfolder" else ""
    (attacker.path / where).mkdir(exist_ok=True)
    built(Repo(attacker.path / where, init=False) if where else attacker)
    (attacker.path / f"{where}.gitpipe/state.db").write_text("planted\n")
    attacker.git("add", "-f", f"{where}.gitpipe/state.db")
    attacker.git("commit", "-q", "-m", "plant")
    clone = attacker.clone_to(tmp_path / "clone")
    if index == "version 4":
        clone.git("update-index", "--index-version", "4")
    elif index == "split":
        clone.git("update-index", "--split-index")
    elif index == "linked worktree":
        clone.git("worktree", "add", "-q", str(tmp_path / "linked"))
        clone = Repo(tmp_path / "linked", init=False)
    project = Repo(clone.path / where, init=False) if where else clone
    before = snapshot(tmp_path)
    refused(project.run("repro"), "'.gitpipe/state.db' is tracked by git")
    assert_only_changed(before, snapshot(tmp_path))


def test_committed_config_and_ignore_rules_are_fine(make_repo, tmp_path: Path) -> None:
    clone = built(make_repo("attacker")).clone_to(tmp_path / "clone")
    assert clone.run("repro").returncode == 0
    assert clone.read("out.txt") == "input\n"


def forged_parse_cache(repo: Repo) -> Path:
    """A parse cache for the real gitpipe.yaml's text, whose parsed stages run
    another command: what `repro` would run if it obeyed it."""
    from gitpipe.core.yamlio import PARSE_RULES

    text = repo.read("gitpipe.yaml")
    key = xxhash.xxh3_128_hexdigest(f"{PARSE_RULES}\0{text}".encode())
    data = {"stages": {"build": {"cmd": "echo pwned > pwned.txt; cp data.txt out.txt",
                                 "deps": ["data.txt"], "outs": ["out.txt"]}}}
    place = repo.path / ".gitpipe" / "tmp" / "parsed" / "gitpipe.yaml.json"
    place.parent.mkdir(parents=True, exist_ok=True)
    place.write_text(json.dumps({"key": key, "data": data}))
    return place


def test_a_planted_parse_cache_is_never_obeyed(make_repo, tmp_path: Path) -> None:
    clone = built(make_repo("attacker")).clone_to(tmp_path / "clone")
    forged_parse_cache(clone)  # as an archive or another tool would leave it: untracked
    before = snapshot(tmp_path)
    done = clone.run("repro")
    assert done.returncode == 0, done.stderr
    assert not (clone.path / "pwned.txt").exists(), "the forged command ran"
    assert clone.read("out.txt") == "input\n"
    assert_only_changed(before, snapshot(tmp_path),
                        ["clone/out.txt", "clone/.gitpipe/cache", "clone/.gitpipe/logs",
                         "clone/.gitpipe/project.lock", "clone/runs.log", *STATE_DB])


def test_a_committed_parse_cache_is_refused(make_repo, tmp_path: Path) -> None:
    attacker = built(make_repo("attacker"))
    place = forged_parse_cache(attacker)
    attacker.git("add", "-f", str(place.relative_to(attacker.path)))
    attacker.git("commit", "-q", "-m", "plant")
    clone = attacker.clone_to(tmp_path / "clone")
    before = snapshot(tmp_path)
    refused(clone.run("repro"), "'.gitpipe/tmp/parsed/gitpipe.yaml.json' is tracked by git")
    assert_only_changed(before, snapshot(tmp_path))
    assert not (clone.path / "pwned.txt").exists()


def forged_seal(repo: Repo, place: Path) -> None:
    """A seal for `repo` that says "up to date" whatever the outs are: it lists
    only gitpipe.yaml, so only that must be unchanged for it to be replayed."""
    from gitpipe.fastpath import seal

    root = str(repo.path)
    known = seal.context(root)
    text = seal.compose(known, "FORGED: everything is up to date\n",
                        {"gitpipe.yaml": seal.signature(root, "gitpipe.yaml")})
    assert text is not None
    place.parent.mkdir(parents=True, exist_ok=True)
    place.write_bytes(text)


def test_a_planted_seal_is_never_replayed(make_repo, tmp_path: Path) -> None:
    clone = built(make_repo("attacker")).clone_to(tmp_path / "clone")
    clone.age()
    forged_seal(clone, clone.path / ".gitpipe" / "tmp" / "noop-status.seal")
    before = snapshot(tmp_path)
    done = clone.run("status", "--check")
    assert done.returncode == 1 and "FORGED" not in done.stdout, done.stdout
    assert "out.txt" in done.stdout, done.stdout
    assert_only_changed(before, snapshot(tmp_path), STATE_DB)


def test_a_seal_in_a_folder_others_may_write_is_not_replayed(make_repo, tmp_path: Path) -> None:
    from gitpipe.fastpath.seal import seal_path
    from gitpipe.trust.dotdir import user_cache_dir

    clone = built(make_repo("attacker")).clone_to(tmp_path / "clone")
    clone.age()
    assert user_cache_dir(str(clone.path), create=True) is not None
    place = Path(seal_path(str(clone.path), "status") or "")
    forged_seal(clone, place)
    place.parent.chmod(0o777)
    try:
        done = clone.run("status", "--check")
        assert done.returncode == 1 and "FORGED" not in done.stdout, done.stdout
    finally:
        place.parent.chmod(0o700)
    assert "FORGED" in clone.run("status").stdout  # the same seal, trusted again: replayed


def test_no_user_cache_inside_the_repository(make_repo, tmp_path: Path) -> None:
    # XDG_CACHE_HOME (or HOME) inside the work tree: what gitpipe would keep
    # there could be committed, or come with a commit, so nothing is kept.
    clone = built(make_repo("attacker")).clone_to(tmp_path / "clone")
    clone.age()
    before = snapshot(tmp_path)
    for command in (("status",), ("status",)):
        done = clone.run(*command, env={"XDG_CACHE_HOME": str(clone.path / ".cache")})
        assert done.returncode == 0 and "out.txt" in done.stdout, done.stderr
    assert not (clone.path / ".cache").exists()
    assert_only_changed(before, snapshot(tmp_path), STATE_DB)


def test_a_committed_seal_is_refused(make_repo, tmp_path: Path) -> None:
    attacker = built(make_repo("attacker"))
    forged_seal(attacker, attacker.path / ".gitpipe" / "tmp" / "noop-status.seal")
    attacker.git("add", "-f", ".gitpipe/tmp/noop-status.seal")
    attacker.git("commit", "-q", "-m", "plant")
    clone = attacker.clone_to(tmp_path / "clone")
    clone.age()
    before = snapshot(tmp_path)
    done = clone.run("status")
    refused(done, "'.gitpipe/tmp/noop-status.seal' is tracked by git")
    assert "FORGED" not in done.stdout
    assert_only_changed(before, snapshot(tmp_path))


READ_ONLY = [("status",), ("status", "--json"), ("dag",), ("runs",), ("validate",)]
WRITING = [("repro",), ("checkout",), ("push",), ("fetch",), ("pull",), ("gc",), ("fsck",),
           ("commit",)]


def test_no_project_no_writes(repo: Repo, tmp_path: Path) -> None:
    repo.gen({"data.txt": "input\n"})
    repo.spec({"build": {"cmd": "cp data.txt out.txt", "deps": ["data.txt"],
                         "outs": ["out.txt"]}}, commit="spec, never initialised")
    before = snapshot(tmp_path)
    for command in READ_ONLY:
        done = repo.run(*command)
        assert "Traceback" not in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path))
    assert not (repo.path / ".gitpipe").exists()
    for command in WRITING:
        done = repo.run(*command)
        assert "Traceback" not in done.stderr, (command, done.stderr)
    status = repo.git("status", "--porcelain", "--untracked-files=all")
    under = sorted(line[3:] for line in status.splitlines() if ".gitpipe/" in line)
    # Initialised as `gitpipe init` does: only the two files meant to be committed.
    assert under == [".gitpipe/.gitignore", ".gitpipe/config.yaml"], status
    assert (repo.path / ".gitpipe" / "state.db").exists()  # kept, and ignored


@pytest.mark.parametrize("where", ["plain", "git"])
def test_outside_any_project_nothing_is_written(tmp_path: Path, where: str) -> None:
    place = tmp_path / "somewhere"
    place.mkdir()
    (place / "notes.txt").write_text("mine\n")
    if where == "git":
        Repo(place)
    before = snapshot(tmp_path)
    for command in [*READ_ONLY, *WRITING]:
        done = Repo(place, init=False).run(*command)
        refused(done, "hint:")
    assert_only_changed(before, snapshot(tmp_path))
