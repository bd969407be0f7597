"""Checkout by path, a directory out restored file by file, stages never run,
and the outs a branch switch leaves behind."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import GIT_ENV, Repo
from tests.security.conftest import assert_only_changed, snapshot

STAGES = {
    "make": {"cmd": "mkdir -p data/sub && for i in 1 2 3; do echo $i > data/f$i.txt; done"
                    " && echo s > data/sub/s.txt", "outs": ["data/"]},
    "single": {"cmd": "echo one > one.txt", "outs": ["one.txt"]},
}


def _built(repo: Repo) -> Repo:
    repo.spec(STAGES)
    repo.run("repro", check=True)
    return repo


def test_one_missing_file_of_a_directory_out_is_written_alone(repo: Repo) -> None:
    _built(repo)
    inode = os.stat(repo.path / "data/f1.txt").st_ino
    (repo.path / "data/f2.txt").unlink()
    done = repo.run("checkout", check=True)
    assert "checked out 1 out(s)" in done.stdout
    assert repo.read("data/f2.txt") == "2\n"
    assert os.stat(repo.path / "data/f1.txt").st_ino == inode, "f1 was not rewritten"
    (repo.path / "data/extra.txt").write_text("stray\n")
    repo.run("checkout", "--force", check=True)
    assert not (repo.path / "data/extra.txt").exists(), "files the out lacks go"
    assert os.stat(repo.path / "data/f1.txt").st_ino == inode
    assert repo.run("status", "--check").returncode == 0


def test_checkout_by_path_and_inside_a_directory_out(repo: Repo) -> None:
    _built(repo)
    for name in ("data/f3.txt", "data/sub/s.txt", "one.txt"):
        (repo.path / name).unlink()
    repo.run("checkout", "data/sub/s.txt", check=True)
    assert repo.read("data/sub/s.txt") == "s\n"
    assert not (repo.path / "data/f3.txt").exists() and not (repo.path / "one.txt").exists()
    repo.run("checkout", "one.txt", "./data/f3.txt", check=True)
    assert repo.read("one.txt") == "one\n" and repo.read("data/f3.txt") == "3\n"
    done = repo.run("checkout", "data/nope.txt")
    assert done.returncode == 2 and "no such file in the out 'data'" in done.stderr
    done = repo.run("checkout", "elsewhere.txt")
    assert done.returncode == 2 and done.stderr.splitlines() == [
        "error: 'elsewhere.txt' is neither a stage nor an out that gitpipe.lock records",
        "hint: the stages are make, single"], done.stderr  # as repro's, without a near miss


def test_plain_checkout_names_the_stages_never_run(repo: Repo) -> None:
    repo.spec({**STAGES, "later": {"cmd": "echo x > later.txt", "outs": ["later.txt"]}})
    repo.run("repro", "make", "single", check=True)
    done = repo.run("checkout", check=True)
    assert "never run, so nothing to check out: later" in done.stderr
    assert "gitpipe repro" in done.stderr


def test_a_target_the_lock_lacks_is_named_as_gitpipe_yaml_has_it(repo: Repo,
                                                                 tmp_path: Path) -> None:
    """`pull later` of a stage gitpipe.yaml declares but that never ran said
    `'later' is neither a stage nor an out`; `pull daily@2024-03-09` (a day
    never run) hinted at `did you mean 'data/daily/2024-03-02.txt'?`, and a
    pattern repro takes (`daily@2024-03-0*`) the same."""
    repo.spec({**STAGES, "later": {"cmd": "echo x > later.txt", "outs": ["later.txt"]},
               "daily": {"partition": {"by": "date", "start": "2024-03-01",
                                       "end": "2024-03-09"},
                         "cmd": "mkdir -p d && echo ${date} > d/${date}.txt",
                         "outs": ["d/${date}.txt"]}})
    repo.run("repro", "make", "single", "daily@2024-03-01", "daily@2024-03-02", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    for command in ("checkout", "pull", "fetch", "push"):
        done = repo.run(command, "later")
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.splitlines() == [
            "error: stage 'later' has no entry in gitpipe.lock: it has not run here, "
            "or its lock entry was not committed",
            "hint: 'gitpipe repro later' computes its outs"], (command, done.stderr)
    done = repo.run("pull", "daily@2024-03-09")
    assert done.stderr.splitlines() == [
        "error: gitpipe.lock records no partition '2024-03-09' of stage 'daily'",
        "hint: it records 2 of them, 2024-03-01 to 2024-03-02; "
        "'gitpipe repro daily@2024-03-09' computes that one"], done.stderr
    done = repo.run("checkout", "daily@2024-03-0[3-9]")
    assert done.stderr.splitlines() == [
        "error: 'daily@2024-03-0[3-9]' matches no task or out that gitpipe.lock records",
        "hint: it records 2 partitions of stage 'daily', 2024-03-01 to 2024-03-02"], done.stderr


def test_a_pattern_names_the_tasks_and_outs_it_matches_as_repro_s_does(repo: Repo) -> None:
    """`repro 'daily@2024-03-0*'` takes a pattern, as `dvc pull --glob` does;
    checkout, pull, fetch and push said it named nothing."""
    repo.spec({"daily": {"partition": {"by": "date", "start": "2024-03-01",
                                       "end": "2024-03-03"},
                         "cmd": "mkdir -p d && echo ${date} > d/${date}.txt",
                         "outs": ["d/${date}.txt"]}, **STAGES})
    repo.run("repro", check=True)
    for day in ("01", "02", "03"):
        (repo.path / f"d/2024-03-{day}.txt").unlink()
    done = repo.run("checkout", "daily@2024-03-0[12]")
    assert done.returncode == 0 and "checked out 2 out(s)" in done.stdout, done.stderr
    assert sorted(p.name for p in (repo.path / "d").iterdir()) == ["2024-03-01.txt",
                                                                    "2024-03-02.txt"]
    done = repo.run("checkout", "d/*-03.txt")
    assert done.returncode == 0 and "checked out 1 out(s)" in done.stdout, done.stderr
    assert repo.read("d/2024-03-03.txt") == "2024-03-03\n"
    (repo.path / "one.txt").unlink()
    done = repo.run("checkout", "s*")  # the stage `single`, as repro takes it
    assert done.returncode == 0 and repo.read("one.txt") == "one\n", done.stderr


def test_a_pattern_of_paths_names_the_outs_it_matches_not_their_stage_s_others(
        repo: Repo) -> None:
    """`checkout 'data/*.csv'` also put back `models/m.bin`, another out of
    the stage that wrote `data/a.csv`: a pattern matching an out's path names
    that out, as the path itself does."""
    repo.spec({"make": {"cmd": "mkdir -p data models && echo a > data/a.csv && "
                               "echo m > models/m.bin", "outs": ["data/a.csv", "models/m.bin"]}})
    repo.run("repro", check=True)
    (repo.path / "data/a.csv").unlink()
    (repo.path / "models/m.bin").unlink()
    done = repo.run("checkout", "data/*.csv")
    assert done.returncode == 0 and "checked out 1 out(s)" in done.stdout, done.stdout
    assert repo.read("data/a.csv") == "a\n"
    assert not (repo.path / "models/m.bin").exists()
    done = repo.run("checkout", "m*")  # the stage, all of its outs
    assert done.returncode == 0 and repo.read("models/m.bin") == "m\n", done.stderr


def _git(repo: Repo, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.path)}
    return subprocess.run(["git", *args], cwd=repo.path, env=env, capture_output=True,
                          text=True, check=True)


def test_a_branch_switch_removes_outs_the_new_lock_lacks(repo: Repo, tmp_path: Path) -> None:
    repo.spec({"single": STAGES["single"]})
    repo.run("repro", check=True)
    repo.commit("main")
    repo.run("hooks", "install", check=True)
    _git(repo, "checkout", "-q", "-b", "feature")
    repo.spec({**STAGES, "extra": {"cmd": "echo extra > extra.txt", "outs": ["extra.txt"]}})
    repo.run("repro", check=True)
    repo.commit("feature")
    (repo.path / "data/f1.txt").write_text("edited by hand\n")

    before = snapshot(tmp_path)
    switched = _git(repo, "checkout", "-q", "main")
    assert "removed extra.txt" in switched.stderr, switched.stderr
    assert "left data (it changed since gitpipe wrote it)" in switched.stderr
    assert not (repo.path / "extra.txt").exists()
    assert (repo.path / "data/f1.txt").read_text() == "edited by hand\n"
    after = snapshot(tmp_path)
    gone = {p for p in before if p not in after and not p.startswith("repo/.git/")}
    assert gone == {"repo/extra.txt"}
    _git(repo, "checkout", "-q", "feature")
    assert repo.read("extra.txt") == "extra\n", "the cache gives it back"


def test_a_forged_old_lock_cannot_delete_what_the_cache_lacks(repo: Repo,
                                                                 tmp_path: Path) -> None:
    """A commit whose lock claims a user's file as an out (with its exact
    digest): switching away leaves the file, as the cache does not hold it."""
    repo.spec({"single": STAGES["single"]})
    repo.run("repro", check=True)
    repo.commit("main")
    repo.run("hooks", "install", check=True)
    (repo.path / "notes.txt").write_text("my notes\n")
    _git(repo, "checkout", "-q", "-b", "forged")
    from gitpipe.hashing.digests import file_digest

    digest = file_digest(repo.path / "notes.txt")
    lock = repo.read("gitpipe.lock") + (
        f"  thief:\n    cmd: x\n    fingerprint: xxh3:{'0' * 32}\n"
        f"    outs:\n    - {{path: notes.txt, hash: '{digest}', size: 9}}\n")
    (repo.path / "gitpipe.lock").write_text(lock)
    _git(repo, "add", "gitpipe.lock")
    _git(repo, "commit", "-q", "--no-verify", "-m", "forged lock")
    before = snapshot(tmp_path, skip=(".git", ".gitpipe"))
    _git(repo, "checkout", "-q", "main")
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", ".gitpipe")),
                        allowed=["repo/gitpipe.lock"])
    assert repo.read("notes.txt") == "my notes\n"


# -- differential: a file-by-file checkout equals a checkout from scratch -------------

DAMAGE = st.sampled_from(["delete", "rewrite", "same-size-old-mtime", "stray", "stray-dir",
                          "file-to-dir", "dir-to-file", "chmod", "delete-sub"])


def _damage(data: Path, kind: str, index: int) -> None:
    files = sorted(p for p in data.rglob("*") if p.is_file())
    victim = files[index % len(files)] if files else None
    if kind == "delete" and victim:
        victim.unlink()
    elif kind == "rewrite" and victim:
        victim.write_text("rewritten by hand\n")
    elif kind == "same-size-old-mtime" and victim:
        info = victim.stat()
        victim.write_bytes(b"X" * info.st_size)
        os.utime(victim, ns=(info.st_atime_ns, info.st_mtime_ns))
    elif kind == "stray":
        (data / f"stray{index}.txt").write_text("stray\n")
    elif kind == "stray-dir":
        (data / f"straydir{index}/deep").mkdir(parents=True, exist_ok=True)
        (data / f"straydir{index}/deep/x.txt").write_text("x\n")
    elif kind == "file-to-dir" and victim:
        victim.unlink()
        (victim / "inner").mkdir(parents=True)
    elif kind == "dir-to-file" and (data / "sub").is_dir():
        import shutil

        shutil.rmtree(data / "sub")
        (data / "sub").write_text("now a file\n")
    elif kind == "chmod" and victim:
        victim.chmod(0o755)
    elif kind == "delete-sub" and (data / "sub").is_dir():
        import shutil

        shutil.rmtree(data / "sub")


def _tree(data: Path) -> dict[str, tuple[str, int]]:
    found = {}
    for path in sorted(data.rglob("*")):
        rel = path.relative_to(data).as_posix()
        if path.is_dir():
            found[rel] = ("dir", 0)
        else:
            found[rel] = (path.read_text(), path.stat().st_mode & 0o111)
    return found


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(damage=st.lists(st.tuples(DAMAGE, st.integers(0, 9)), min_size=1, max_size=4))
def test_a_file_by_file_checkout_equals_one_from_scratch(make_repo: Any, damage: list) -> None:
    repo = make_repo()
    _built(repo)
    data = repo.path / "data"
    expected = _tree(data)
    time.sleep(0.01)
    for kind, index in damage:
        _damage(data, kind, index)
    repo.run("checkout", "--force", check=True)
    assert _tree(data) == expected, damage
    assert repo.run("status", "--check").returncode == 0


def test_a_part_never_lays_out_the_whole_out(repo: Repo, tmp_path: Path) -> None:
    """A file where a folder of the out should be: checking out a file below it
    is refused, and nothing beside the part is touched."""
    _built(repo)
    (repo.path / ".gitpipeignore").write_text("*.keep\n")
    (repo.path / "data/notes.keep").write_text("mine\n")
    (repo.path / "data/f1.txt").write_text("edited by hand\n")
    import shutil

    shutil.rmtree(repo.path / "data/sub")
    (repo.path / "data/sub").write_text("a file now\n")
    before = snapshot(tmp_path, skip=(".git", ".gitpipe"))
    done = repo.run("checkout", "data/sub/s.txt")
    assert done.returncode == 2 and "a file or symlink stands where a folder" in done.stderr
    assert_only_changed(before, snapshot(tmp_path, skip=(".git", ".gitpipe")))


def test_leftovers_keep_ignored_files_and_undeclared_lock_outs(repo: Repo,
                                                                tmp_path: Path) -> None:
    repo.gen({".gitpipeignore": "*.keep\n"})
    repo.spec({"single": STAGES["single"]})
    repo.run("repro", check=True)
    repo.commit("main")
    repo.run("hooks", "install", check=True)
    _git(repo, "checkout", "-q", "-b", "feature")
    repo.spec(STAGES)
    repo.run("repro", check=True)
    repo.commit("feature")
    (repo.path / "data/notes.keep").write_text("my notes\n")
    switched = _git(repo, "checkout", "-q", "main")
    assert "removed data" in switched.stderr
    assert sorted(p.name for p in (repo.path / "data").iterdir()) == ["notes.keep"]

    # A lock entry naming a file its own gitpipe.yaml never declared is ignored.
    (repo.path / "backup.txt").write_text("one\n")
    _git(repo, "checkout", "-q", "-b", "forged")
    lock = repo.read("gitpipe.lock").replace("path: one.txt", "path: backup.txt", 1)
    (repo.path / "gitpipe.lock").write_text(lock)
    _git(repo, "add", "gitpipe.lock")
    _git(repo, "commit", "-q", "--no-verify", "-m", "forged")
    _git(repo, "checkout", "-q", "main")
    assert repo.read("backup.txt") == "one\n"
