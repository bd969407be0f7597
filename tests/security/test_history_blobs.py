"""A clone's history holds a spec of gigabytes that compresses to megabytes
(one repeated byte: zlib packs it a thousand to one). Reading a past commit's
spec (`diff`, `status --rev`, `params diff`) inflated it whole, then refused
it as larger than 16 MiB: a 1.5 GB blob of 7 MB in `.git` took 4.6 GB of
memory, so a clone of a few tens of megabytes could exhaust any machine's.
git records a blob's size in its header: gitpipe asks that first."""

from __future__ import annotations

import hashlib
import resource
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

BLOB = 768 << 20
MEMORY = 1 << 30  # the address space each command gets: less than the blob read twice


def _loose_blob(repo: Repo, size: int, first: bytes = b"stages: {}\n",
                fill: bytes = b" ", last: bytes = b"") -> str:
    """A loose object of `size` bytes (`first`, `fill` bytes, `last`), written
    as git would, without the bytes ever being whole in memory or on disk."""
    header = f"blob {size}\0".encode()
    digest, packer = hashlib.sha1(header + first), zlib.compressobj(1)
    packed = [packer.compress(header + first)]
    block, left = fill * (1 << 20), size - len(first) - len(last)
    while left:
        part = block[:min(left, len(block))]
        digest.update(part)
        packed.append(packer.compress(part))
        left -= len(part)
    digest.update(last)
    packed += [packer.compress(last), packer.flush()]
    oid = digest.hexdigest()
    folder = repo.path / ".git" / "objects" / oid[:2]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / oid[2:]).write_bytes(b"".join(packed))
    return oid


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _smaller() -> None:
    """An address space less than the blob once (the command needs far less)."""
    resource.setrlimit(resource.RLIMIT_AS, (BLOB * 3 // 4, BLOB * 3 // 4))


def _huge_in_history(repo: Repo, name: str, dep: str = "d.txt",
                     metrics: tuple[str, ...] = (), mode: str = "100644") -> None:
    """HEAD~1 holds `name` as a blob of BLOB bytes; HEAD is as before it.
    The stage's dep is `dep` (a file, or a folder holding d.txt); it writes
    the metrics files `metrics` too."""
    repo.gen({dep if dep == "d.txt" else f"{dep}/d.txt": "data\n"})
    writes = "".join(f" && echo '{{\"m\":1}}' > {path}" for path in metrics)
    repo.spec({"a": {"cmd": f"ls {dep} > a.txt{writes}", "deps": [dep], "outs": ["a.txt"],
                     **({"metrics": list(metrics)}
                        if metrics else {})}}, commit="spec")
    repo.run("repro", check=True)
    repo.commit("ran")
    _in_history(repo, name, _loose_blob(repo, BLOB), mode)


def _in_history(repo: Repo, name: str, oid: str, mode: str = "100644") -> None:
    """HEAD~1 holds `name` as the blob `oid`; HEAD is as before it."""
    listing = repo.git("ls-tree", "HEAD")
    rows = [row for row in listing.splitlines() if not row.endswith(f"\t{name}")]
    tree = subprocess.run(["git", "mktree"], cwd=repo.path, check=True, capture_output=True,
                          text=True, input="\n".join([*rows, f"{mode} blob {oid}\t{name}"])
                          + "\n").stdout.strip()
    big = repo.git("commit-tree", tree, "-p", "HEAD", "-m", "big").strip()
    head = repo.git("rev-parse", "HEAD").strip()
    restored = repo.git("commit-tree", f"{head}^{{tree}}", "-p", big, "-m", "as before").strip()
    repo.git("reset", "-q", "--soft", restored)


@pytest.mark.parametrize("command", [["diff", "HEAD~1"], ["status", "--rev", "HEAD~1"],
                                     ["params", "diff", "HEAD~1"]])
def test_a_huge_spec_in_history_is_refused_by_its_size(repo: Repo, tmp_path: Path,
                                                       command: list[str]) -> None:
    _huge_in_history(repo, "gitpipe.yaml")
    before = snapshot(tmp_path)
    done = repo.run(*command, preexec_fn=_limited, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(
        f"error: gitpipe.yaml@HEAD~1: file is larger than 16 MiB ({BLOB} bytes in git): "
        "not read"), done.stderr
    assert "Traceback" not in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_huge_lock_in_history_is_passed_over_by_log(repo: Repo, tmp_path: Path) -> None:
    """`log` reads the lock of every commit that changed it."""
    _huge_in_history(repo, "gitpipe.lock")
    before = snapshot(tmp_path)
    done = repo.run("log", "a.txt", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_huge_lock_in_history_keeps_nothing_of_its_own_in_gc(repo: Repo,
                                                                tmp_path: Path) -> None:
    """gc over every commit reads each lock in history: one too large to read
    names nothing anyone can check out, as a damaged one, and gc goes on
    (keeping what the readable locks name) rather than refusing for ever."""
    _huge_in_history(repo, "gitpipe.lock")
    done = repo.run("gc", "--all-commits", "--dry-run", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert "would remove 0 object(s)" in done.stdout, done.stdout


def test_huge_rules_in_history_are_refused_by_their_size(repo: Repo, tmp_path: Path) -> None:
    """A past commit's `.gitattributes` decides how its outs are checked out."""
    _huge_in_history(repo, ".gitattributes")
    before = snapshot(tmp_path)
    done = repo.run("status", "--rev", "HEAD~1", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2 and \
        f".gitattributes: file is larger than 100 MiB ({BLOB} bytes in git)" in done.stderr, \
        done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_huge_ignore_rules_in_history_are_refused_by_their_size(repo: Repo,
                                                                tmp_path: Path) -> None:
    """A past commit's `.gitpipeignore` decides which of a dep folder's files
    its fingerprint takes: read whole, it took the blob's size in memory."""
    _huge_in_history(repo, ".gitpipeignore", dep="data")
    before = snapshot(tmp_path)
    done = repo.run("status", "--rev", "HEAD~1", preexec_fn=_limited, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2 and \
        ".gitpipeignore@HEAD~1: file is larger than 1 MiB" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_huge_metrics_file_in_history_is_passed_over_by_its_size(repo: Repo,
                                                                   tmp_path: Path) -> None:
    """A past commit's metrics file, where the commit holds it in git, was
    looked up as an object, which inflates it whole, to learn its size."""
    _huge_in_history(repo, "m.json", metrics=("m.json",))
    before = snapshot(tmp_path)
    done = repo.run("metrics", "diff", "HEAD~1", preexec_fn=_smaller, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "m.json (at HEAD~1): larger than" in done.stdout + done.stderr, \
        done.stdout + done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_huge_symlink_dep_in_history_is_refused_by_its_size(repo: Repo,
                                                              tmp_path: Path) -> None:
    """A past commit's dep is a symlink whose target (its blob) is hundreds of
    MiB: no checkout could make that link, and reading it whole took its size."""
    _huge_in_history(repo, "d.txt", mode="120000")
    before = snapshot(tmp_path)
    done = repo.run("status", "--rev", "HEAD~1", preexec_fn=_smaller, timeout=120)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2 and "d.txt@HEAD~1: file is larger than" in done.stderr, \
        done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


@pytest.mark.parametrize("command", [["diff", "HEAD~1"], ["status", "--rev", "HEAD~1"],
                                     ["params", "diff", "HEAD~1"]])
def test_a_spec_missing_from_the_clone_is_named(repo: Repo, tmp_path: Path,
                                               command: list[str]) -> None:
    """A past commit's tree names a spec blob the clone lacks (a partial
    clone's, or a tree made with `mktree --missing`): an unexpected
    NotFoundError (exit 1), where the spec and the missing object are named."""
    missing = "12345678" * 5
    repo.gen({"d.txt": "data\n"})
    repo.spec({"a": {"cmd": "cat d.txt > a.txt", "deps": ["d.txt"], "outs": ["a.txt"]}},
              commit="spec")
    rows = [row for row in repo.git("ls-tree", "HEAD").splitlines()
            if not row.endswith("\tgitpipe.yaml")]
    tree = subprocess.run(["git", "mktree", "--missing"], cwd=repo.path, check=True,
                          capture_output=True, text=True,
                          input="\n".join([*rows, f"100644 blob {missing}\tgitpipe.yaml"])
                          + "\n").stdout.strip()
    gap = repo.git("commit-tree", tree, "-p", "HEAD", "-m", "missing").strip()
    head = repo.git("rev-parse", "HEAD").strip()
    restored = repo.git("commit-tree", f"{head}^{{tree}}", "-p", gap, "-m", "back").strip()
    repo.git("reset", "-q", "--soft", restored)
    before = snapshot(tmp_path)
    done = repo.run(*command, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"error: gitpipe.yaml@HEAD~1: git object {missing} is "
                                  "missing from this repository"), done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])



def test_a_huge_file_of_a_dep_folder_in_history_is_hashed_as_git_streams_it(
        repo: Repo, tmp_path: Path) -> None:
    """A dep folder's files at a revision were each read whole to be hashed:
    a data file of 768 MiB in a past commit (a few MB in `.git`) made
    `status --rev` die of MemoryError. A blob that large is hashed as git
    writes it out, and the folder is found modified."""
    _huge_in_history(repo, "data", dep="data")
    oid = _loose_blob(repo, BLOB)
    folder = subprocess.run(["git", "mktree"], cwd=repo.path, check=True, capture_output=True,
                            text=True, input=f"100644 blob {oid}\td.txt\n").stdout.strip()
    rows = [row for row in repo.git("ls-tree", "HEAD").splitlines()
            if not row.endswith("\tdata")]
    tree = subprocess.run(["git", "mktree"], cwd=repo.path, check=True, capture_output=True,
                          text=True, input="\n".join([*rows, f"040000 tree {folder}\tdata"])
                          + "\n").stdout.strip()
    big = repo.git("commit-tree", tree, "-p", "HEAD", "-m", "big").strip()
    restored = repo.git("commit-tree", "HEAD^{tree}", "-p", big, "-m", "as before").strip()
    repo.git("reset", "-q", "--soft", restored)
    before = snapshot(tmp_path)
    done = repo.run("status", "--rev", "HEAD~1", preexec_fn=_limited, timeout=300)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert "deps: data/ modified" in done.stdout, done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def _lock_naming(repo: Repo, commit: str, dep: str, digest: str) -> str:
    """A commit on top of `commit` whose lock records `digest` for `dep`."""
    lock = repo.git("show", f"{commit}:gitpipe.lock")
    recorded = next(line for line in lock.splitlines() if f"path: {dep}," in line)
    edited = lock.replace(recorded, f"    - {{path: {dep}, hash: '{digest}'}}")
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, check=True,
                          capture_output=True, text=True, input=edited).stdout.strip()
    rows = [row for row in repo.git("ls-tree", commit).splitlines()
            if not row.endswith("\tgitpipe.lock")]
    tree = subprocess.run(["git", "mktree"], cwd=repo.path, check=True, capture_output=True,
                          text=True, input="\n".join([*rows, f"100644 blob {blob}\tgitpipe.lock"])
                          + "\n").stdout.strip()
    return repo.git("commit-tree", tree, "-p", commit, "-m", "locked").strip()


@pytest.mark.parametrize("locked", [False, True])
def test_a_huge_converted_file_dep_in_history_is_hashed_as_git_streams_it(
        repo: Repo, tmp_path: Path, locked: bool) -> None:
    """A file dep the lock records by its git blob id, under an eol rule
    (`* text=auto`), was read whole at a revision to take the blob id of its
    checkout: 768 MiB in a past commit made `status --rev` die of
    MemoryError. Its checkout is spooled to a temporary file as git writes
    it, then hashed: modified against the lock of the data before it, and
    nothing to say where the lock names the checkout's own blob id."""
    repo.gen({".gitattributes": "* text=auto\n"})
    _huge_in_history(repo, "d.txt")
    rev = "HEAD~1"
    if locked:  # LF text under text=auto: the checkout is the blob's bytes
        oid = repo.git("rev-parse", "HEAD~1:d.txt").strip()
        rev = _lock_naming(repo, "HEAD~1", "d.txt", f"git:{oid}")
    before = snapshot(tmp_path)
    done = repo.run("status", "--rev", rev, preexec_fn=_limited, timeout=300)
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert ("deps: d.txt modified" in done.stdout) is not locked, done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])


def test_a_python_module_huge_in_git_at_a_revision_is_refused_by_its_size(
        repo: Repo, tmp_path: Path) -> None:
    """A `python:` dep's module at a revision is read to follow its imports,
    once its checkout is found of a size a module may have. Under `ident`,
    a blob of one `$Id: …$` line is checked out as a few dozen bytes however
    large it is in git: it was read whole. One larger in git than any file
    read whole is refused, naming it."""
    repo.gen({".gitattributes": "*.py ident\n", "m.py": "X = 1\n"})
    repo.spec({"a": {"cmd": "true", "deps": [{"python": "m.py"}]}}, commit="spec")
    repo.run("repro", check=True)
    repo.commit("ran")
    size = 80 << 20  # past what is read whole; the checkout is what git writes
    _in_history(repo, "m.py", _loose_blob(repo, size, first=b"X = 1  # $Id: ", fill=b"x",
                                                   last=b"$\n"))
    assert len(repo.git("cat-file", "--filters", "--path=m.py", "HEAD~1:m.py")) < 100
    before = snapshot(tmp_path)
    done = repo.run("status", "--rev", "HEAD~1", timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"error: m.py@HEAD~1: a python: module larger than 64 MiB "
                                  f"({size} bytes in git): not read"), done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
