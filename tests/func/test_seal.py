"""The no-op seal: a repeated no-op `status`/`repro` answers from stat calls alone,
and any change to what the answer depended on goes back to the full path."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitpipe.fastpath.seal import seal_path
from tests.conftest import GIT_ENV, Repo

# Modules a judging path imports (gitpipe.project.root: the engine, fastpath/quick.py or the
# CLI; click and gitpipe.cli.main: the CLI) and the sealed answer never does.
ENGINE = ("click", "gitpipe.cli.main", "gitpipe.project.root", "gitpipe.pipeline.model")


def launch(repo: Repo, *args: str, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the real entry point (console script's `main`) in a fresh interpreter;
    returns the process and which ENGINE modules it imported."""
    code = ("import json, sys\nfrom gitpipe.cli.launch import main\n"
            "try:\n    main(leave_at_once=False)\n"
            "except SystemExit as exit:\n    code = exit.code\nelse:\n    code = 0\n"
            f"sys.stderr.write('LOADED ' + json.dumps([m for m in {ENGINE!r} if m in sys.modules])"
            " + '\\n')\nsys.exit(code)")
    full_env = {**os.environ, **GIT_ENV, "NO_COLOR": "1", **(env or {})}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd or repo.path,
                          env=full_env, capture_output=True, text=True)
    marker = [ln for ln in done.stderr.splitlines() if ln.startswith("LOADED ")]
    assert marker, done.stderr
    return done, json.loads(marker[-1].removeprefix("LOADED "))


def built(repo: Repo) -> Repo:
    """A committed, built two-stage pipeline: a code dep tracked in git, a data
    directory, params, and a stage depending on another's out."""
    repo.gen({"src.py": "print(1)\n", "params.yaml": {"n": 1, "m": 2},
              "data/a.txt": "a\n", "data/sub/b.txt": "b\n"})
    repo.spec({
        "prep": {"cmd": "python3 src.py > prep.txt && cat data/a.txt >> prep.txt",
                 "deps": ["src.py", "data"], "params": ["n"], "outs": ["prep.txt"]},
        "use": {"cmd": "cat prep.txt > use.txt", "deps": ["prep.txt"], "params": ["m"],
                "outs": ["use.txt"]},
    })
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.age()
    return repo


def sealed(repo: Repo, command: str = "status") -> Repo:
    done, _ = launch(repo, command)
    assert done.returncode == 0, done.stderr
    assert os.path.exists(seal_path(str(repo.path), command)), "the no-op was not sealed"
    return repo


def test_a_repeated_noop_status_answers_without_loading_the_engine(repo: Repo) -> None:
    sealed(built(repo))
    for args in (["status"], ["status", "--check"]):
        done, loaded = launch(repo, *args)
        assert (done.returncode, done.stdout, loaded) == (0, "everything is up to date\n", [])


def test_a_sealed_answer_imports_no_more_than_it_needs(repo: Repo) -> None:
    """`array` and `collections` (which array imports) cost the sealed answer
    more than all of gitpipe's own modules on it: the floor is the interpreter."""
    sealed(built(repo))
    code = ("import sys\nfrom gitpipe.cli.launch import main\nmain(leave_at_once=False)\n"
            "sys.stderr.write(repr(sorted(m for m in ('array', 'collections', 're', 'typing')"
            " if m in sys.modules)))")
    full_env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", code, "status"], cwd=repo.path, env=full_env,
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "everything is up to date\n", "[]")


@pytest.mark.parametrize("at_once", [True, False])
def test_a_sealed_answer_leaves_without_tearing_the_interpreter_down(repo: Repo,
                                                                      at_once: bool) -> None:
    """As the console script runs it, a sealed answer ends the process once its
    output is out (no atexit handler, no teardown); a caller asking to go on
    gets main()'s return."""
    sealed(built(repo))
    code = ("import atexit, sys\natexit.register(lambda: sys.stderr.write('teardown'))\n"
            f"from gitpipe.cli.launch import main\nmain(leave_at_once={at_once})\n"
            "sys.stderr.write('returned')")
    full_env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", code, "status"], cwd=repo.path, env=full_env,
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "everything is up to date\n"), done.stderr
    assert done.stderr == ("" if at_once else "returnedteardown")


def test_a_repeated_noop_repro_prints_the_same_table(repo: Repo) -> None:
    built(repo)
    first, loaded_first = launch(repo, "repro")
    assert first.returncode == 0 and "gitpipe.project.root" in loaded_first
    for args in (["repro"], ["repro", "-j", "2"], ["repro", "-j3"], ["repro", "--jobs=4"]):
        again, loaded = launch(repo, *args)
        assert (again.returncode, again.stdout, loaded) == (0, first.stdout, []), args
    assert "2 skipped" in first.stdout
    bad, loaded = launch(repo, "repro", "-j", "0")  # click's error, not the seal's table
    assert bad.returncode == 2 and "gitpipe.cli.main" in loaded


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


CHANGES: dict[str, Any] = {
    "code dep": (lambda r: _edit(r.path / "src.py", "1", "2"), "deps: src.py modified"),
    "file in a dep directory": (lambda r: _edit(r.path / "data/sub/b.txt", "b", "c"),
                                "deps: data/ modified"),
    "file added to a dep directory": (lambda r: (r.path / "data/new.txt").write_text("x"),
                                      "deps: data/ modified"),
    "param": (lambda r: _edit(r.path / "params.yaml", "m: 2", "m: 3"), "params: m 2 -> 3"),
    "command": (lambda r: _edit(r.path / "gitpipe.yaml", "cat prep.txt >", "cat prep.txt >>"),
                "cmd changed"),
    "out deleted": (lambda r: (r.path / "use.txt").unlink(), "outs: use.txt missing"),
    "out modified": (lambda r: (r.path / "use.txt").write_text("tampered\n"),
                     "outs: use.txt modified"),
    "lock entry": (lambda r: _edit(r.path / "gitpipe.lock", "cat prep.txt > use.txt",
                                   "cat prep.txt > other.txt"), "cmd changed"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_to_what_the_answer_read_takes_the_full_path(repo: Repo, change: str) -> None:
    sealed(sealed(built(repo), "repro"), "status")
    mutate, reason = CHANGES[change]
    mutate(repo)
    done, loaded = launch(repo, "status", "--check")
    assert done.returncode == 1 and reason in done.stdout, done.stdout + done.stderr
    assert "gitpipe.project.root" in loaded
    assert not os.path.exists(seal_path(str(repo.path), "status")), "a stale answer stays sealed"
    done, loaded = launch(repo, "repro")  # nor does the repro seal hide the change
    assert done.returncode == 0 and "gitpipe.project.root" in loaded, done.stdout + done.stderr
    assert not os.path.exists(seal_path(str(repo.path), "repro"))


def shared_answer(root: Path) -> str | None:
    """seal.answer for `root` with every path a share of its own among forked
    processes (as a seal of thousands of paths is checked; in one process
    where this machine has one CPU). A fresh interpreter: it must run no
    other thread, or nothing is forked."""
    return _shared(root)[1]


def _shared(root: Path) -> tuple[int, str | None]:
    code = ("import sys\nfrom gitpipe.fastpath import seal\n"
            "from gitpipe.hashing.forkmap import usable_workers\n"
            "seal.PATHS_PER_WORKER = 1\n"
            "print(usable_workers(64, 1))\nprint(repr(seal.answer('status', sys.argv[1])))")
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run([sys.executable, "-c", code, str(root)], env=env,
                          capture_output=True, text=True, check=True)
    workers, answer = done.stdout.splitlines()
    return int(workers), ast.literal_eval(answer)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_seal_checked_in_shares_sees_a_change_in_any_of_them(repo: Repo, change: str) -> None:
    sealed(built(repo))
    workers, answer = _shared(repo.path)
    if workers < 2:
        pytest.skip("one CPU: a seal is checked in one process")
    assert answer == "everything is up to date\n"
    CHANGES[change][0](repo)
    assert shared_answer(repo.path) is None


@pytest.mark.parametrize("env", [{"GITPIPE_TODAY": "2031-01-01"}, {"GIT_DIR": ".git"},
                                 {"GITPIPE_NO_SEAL": "1"}], ids=lambda e: next(iter(e)))
def test_another_day_or_environment_takes_the_full_path(repo: Repo, env: dict[str, str]) -> None:
    sealed(built(repo))
    done, loaded = launch(repo, "status", env=env)
    assert done.stdout == "everything is up to date\n" and "gitpipe.project.root" in loaded


def test_without_the_seal_nothing_is_read_or_written(repo: Repo) -> None:
    sealed(built(repo))
    path = Path(seal_path(str(repo.path), "status"))
    before = path.read_bytes(), path.stat().st_mtime_ns
    done, loaded = launch(repo, "status", env={"GITPIPE_NO_SEAL": "1"})
    assert done.stdout == "everything is up to date\n" and "gitpipe.project.root" in loaded
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    done, loaded = launch(repo, "status")
    assert done.stdout == "everything is up to date\n" and loaded == []
    path.unlink()
    launch(repo, "status", env={"GITPIPE_NO_SEAL": "1"})
    assert not path.exists()


def test_an_index_named_by_git_environment_is_never_sealed(repo: Repo) -> None:
    # In a git hook GIT_INDEX_FILE names the index: its changes are not visible
    # through .git/index, so neither the first nor the second run may seal.
    built(repo)
    env = {"GIT_INDEX_FILE": str(repo.path / ".git" / "index")}
    for _ in range(2):
        done, loaded = launch(repo, "status", env=env)
        assert done.stdout == "everything is up to date\n" and "gitpipe.project.root" in loaded
    assert not os.path.exists(seal_path(str(repo.path), "status"))


def test_a_new_git_index_keeps_the_seal_and_the_full_path_agrees(repo: Repo) -> None:
    # A commit or `git add` rewrites the index; a no-op verdict never depends
    # on it (src.py is locked by its blob id, whoever tracks it), so the seal
    # holds, and the full path, asked without it, gives the same answer.
    sealed(built(repo))
    repo.gen({"notes.txt": "unrelated\n"})
    repo.git("add", "notes.txt")
    repo.git("rm", "-q", "--cached", "src.py")
    done, loaded = launch(repo, "status")
    assert (done.stdout, loaded) == ("everything is up to date\n", [])
    full, loaded = launch(repo, "status", env={"GITPIPE_NO_SEAL": "1"})
    assert full.stdout == done.stdout and "gitpipe.project.root" in loaded
    # ...and a real change behind the seal is still seen, whatever the index.
    repo.gen({"src.py": "print(2)\n"})
    changed, _ = launch(repo, "status")
    assert "src.py" in changed.stdout and "modified" in changed.stdout


def test_other_arguments_or_another_directory_take_the_full_path(repo: Repo) -> None:
    sealed(built(repo))
    for args in (["status", "prep"], ["status", "--json"], ["repro", "--dry-run"]):
        _, loaded = launch(repo, *args)
        assert "gitpipe.cli.main" in loaded, args
    (repo.path / "data/sub").mkdir(exist_ok=True)
    done, loaded = launch(repo, "status", cwd=repo.path / "data/sub")
    assert done.stdout == "everything is up to date\n" and "gitpipe.project.root" in loaded


def test_a_copy_of_the_project_does_not_trust_the_original_seal(repo: Repo,
                                                                 tmp_path: Path) -> None:
    sealed(built(repo))
    copy = Repo(tmp_path / "copy", init=False)
    shutil.copytree(repo.path, copy.path, symlinks=True)
    (copy.path / "use.txt").write_text("changed in the copy only\n")
    os.utime(copy.path / "use.txt", ns=(0, os.stat(repo.path / "use.txt").st_mtime_ns))
    done, loaded = launch(copy, "status")
    assert "outs: use.txt modified" in done.stdout and "gitpipe.project.root" in loaded


def test_a_malformed_seal_is_ignored(repo: Repo) -> None:
    sealed(built(repo))
    path = Path(seal_path(str(repo.path), "status"))
    whole = path.read_bytes()
    flipped = whole[:-3] + bytes([whole[-3] ^ 1]) + whole[-2:]  # one signature's bit
    for garbage in (b"", b"not a seal", b"gitpipe-noop-seal/1\0x", b"gitpipe-noop-seal/3\0",
                    whole[:-7], whole[:-40], whole + b"\0" * 40, flipped):
        path.write_bytes(garbage)
        done, loaded = launch(repo, "status")
        assert done.stdout == "everything is up to date\n" and "gitpipe.project.root" in loaded


def test_an_input_changed_within_the_racy_window_is_not_sealed(repo: Repo) -> None:
    built(repo)
    (repo.path / "data/a.txt").touch()  # same content, an mtime of now
    done, loaded = launch(repo, "status")
    assert done.stdout == "everything is up to date\n" and "gitpipe.project.root" in loaded
    assert not os.path.exists(seal_path(str(repo.path), "status"))


def test_a_seal_that_cannot_be_written_does_not_fail_the_command(repo: Repo) -> None:
    built(repo)
    blocked = Path(seal_path(str(repo.path), "status"))
    blocked.mkdir(parents=True)  # a directory where the seal would go: replace fails
    done, _ = launch(repo, "status")
    assert (done.returncode, done.stdout) == (0, "everything is up to date\n"), done.stderr
    (repo.path / "use.txt").write_text("changed\n")  # stale: removing the seal fails too
    done, _ = launch(repo, "status", "--check")
    assert done.returncode == 1 and "outs: use.txt modified" in done.stdout, done.stderr
    assert "Traceback" not in done.stderr and blocked.is_dir()
    assert not [name for name in os.listdir(blocked.parent) if name.endswith(".tmp")]


def test_a_seals_check_names_each_input_from_a_descriptor(repo: Repo,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The check stats each input by its path from a descriptor of the root,
    and each file of a directory dep by its name from a descriptor of that
    directory: the kernel resolves no path a second time per input (on a
    large seal, most of the check's system time). It still sees a change."""
    from gitpipe.fastpath import seal
    from gitpipe.trust.dotdir import user_cache_home

    repo.gen({"src.py": "print(1)\n", "raw/a.txt": "a\n", "raw/b.txt": "b\n"})
    repo.spec({"prep": {"cmd": "python3 src.py > prep.txt && cat raw/a.txt >> prep.txt",
                        "deps": ["src.py", "raw"], "outs": ["prep.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.age()
    sealed(repo)
    root = str(repo.path)
    with open(seal_path(root, "status"), "rb") as handle:
        parsed = seal.parse(handle.read())
    assert parsed is not None
    _, _, numbers, paths = parsed
    assert "raw" in paths and "src.py" in paths
    seal_file = seal_path(root, "status")
    assert seal_file is not None
    code = seal.code_signature()  # gitpipe's own modules, by path: not the check's calls
    named: list[tuple[str, bool]] = []
    real_stat, real_scandir = os.stat, os.scandir

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        named.append((str(path), kwargs.get("dir_fd") is not None))
        return real_stat(path, *args, **kwargs)

    def scandir(path: Any = ".") -> Any:
        named.append((str(path), isinstance(path, int)))
        return real_scandir(path)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(seal, "PATHS_PER_WORKER", len(paths) + 1)  # checked here, not forked
    seal.forget_outer_rules(root)
    assert seal._changes(root, paths, numbers, seal_file, code) is None
    assert {"src.py", "a.txt", "b.txt"} <= {name for name, _ in named}
    # (the records it keeps for the next check are written by path, in this user's cache)
    cache = user_cache_home()
    assert [name for name, relative in named if (not relative or os.path.isabs(name))
            and not name.startswith(cache)] == []
    (repo.path / "raw" / "b.txt").write_text("c\n")
    assert seal._changes(root, paths, numbers, seal_file, code) is not None
