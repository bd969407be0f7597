"""Holes between what a command reads and what gitpipe hashed, each tried as a
user would (real git, real files, the CLI as a subprocess): a dep edited under
skip-worktree or assume-unchanged, its eol renormalised, a same-size edit whose
mtime is set back, and `status --rev` on directory and binary deps."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import RACY_SECONDS, Repo, ran_cmd


def built(repo: Repo) -> Repo:
    """A committed, built stage reading a tracked script and a tracked data file
    (so both are locked by their blob ids), aged so that both the stat cache
    and the seal may answer."""
    repo.gen({"tool.sh": "echo one\n", "data.txt": "alpha\nbeta\n"})
    repo.spec({"S": {"cmd": "sh tool.sh > out.txt && cat data.txt >> out.txt",
                     "deps": ["tool.sh", "data.txt"], "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.commit("sources")
    repo.run("repro", check=True)
    repo.commit("built")
    assert repo.project().lock_entries["S"].dep("data.txt").digest.startswith("git:")
    repo.age()
    return repo


def status(repo: Repo) -> tuple[int, str]:
    done = repo.run("status", "--check")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def assert_up_to_date_twice(repo: Repo) -> None:
    """The full path (which seals) and then the sealed fast path both say so."""
    for _ in range(2):
        code, out = status(repo)
        assert code == 0, out


def assert_stale_twice(repo: Repo, reason: str) -> None:
    for _ in range(2):
        code, out = status(repo)
        assert code == 1 and reason in out, out


def rewrite_keeping_mtime(path: Path, data: bytes) -> None:
    """Rewrite a file in place, then set its mtime back: what `touch -d`, an
    extractor or a sync tool leaves. Only the ctime tells."""
    before = os.stat(path)
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == \
        (before.st_ino, before.st_size, before.st_mtime_ns)


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_an_edit_under_an_index_flag_is_a_change(repo: Repo, flag: str) -> None:
    # git never compares such an entry with the work tree: `git status` says
    # nothing, and its blob id is not the file's any more.
    built(repo)
    assert_up_to_date_twice(repo)
    repo.git("update-index", flag, "tool.sh")
    (repo.path / "tool.sh").write_text("echo two, longer\n")
    repo.age()  # edited a while ago: nothing about its timestamps is racy
    assert repo.git("status", "--porcelain") == ""
    assert_stale_twice(repo, "deps: tool.sh modified")
    repo.run("repro", check=True)
    assert repo.read("out.txt").startswith("two, longer\n")


def test_an_eol_renormalisation_is_a_change(repo: Repo) -> None:
    # `* text eol=crlf` checks out CRLF where the blob keeps LF: the blob id is
    # the same, the bytes the command reads are not.
    built(repo)
    assert_up_to_date_twice(repo)
    repo.gen({".gitattributes": "* text eol=crlf\n"})
    (repo.path / "data.txt").unlink()
    repo.git("checkout", "--", "data.txt")
    repo.age()
    assert (repo.path / "data.txt").read_bytes() == b"alpha\r\nbeta\r\n"
    assert repo.git("status", "--porcelain") == "?? .gitattributes\n"
    assert_stale_twice(repo, "deps: data.txt modified")
    repo.run("repro", check=True)
    assert repo.read("out.txt").endswith("alpha\r\nbeta\r\n") or \
        (repo.path / "out.txt").read_bytes().endswith(b"alpha\r\nbeta\r\n")
    code, _ = status(repo)
    assert code == 0


def test_a_clean_index_entry_written_under_a_conversion_is_not_the_bytes(repo: Repo) -> None:
    # Found by the property test: on a branch with `eol=crlf`, data.txt is
    # checked out as CRLF; back on main (no attribute) git leaves the file
    # alone (same blob), so its entry is clean by stat data, nothing converts
    # now, and still the index's id (LF) is not the id of the CRLF bytes.
    built(repo)
    repo.git("checkout", "-q", "-b", "crlf")
    repo.gen({".gitattributes": "data.txt text eol=crlf\n"})
    (repo.path / "data.txt").unlink()
    repo.git("checkout", "--", "data.txt")
    time.sleep(RACY_SECONDS)  # no entry racy when the index is written next
    repo.commit("attributes")
    repo.git("checkout", "-q", "main")
    assert (repo.path / "data.txt").read_bytes() == b"alpha\r\nbeta\r\n"
    assert repo.git("status", "--porcelain") == ""  # by stat data, as git compares
    (repo.path / ".gitpipe/state.db").unlink()  # nothing remembered: the index is asked
    assert_stale_twice(repo, "deps: data.txt modified")


@pytest.mark.parametrize("dep", ["data.txt", "tool.sh"])
def test_a_same_size_edit_with_the_mtime_set_back_is_a_change(repo: Repo, dep: str) -> None:
    built(repo)
    assert_up_to_date_twice(repo)  # the stat cache knows both files; the seal holds
    path = repo.path / dep
    rewrite_keeping_mtime(path, path.read_bytes().replace(b"e", b"E"))
    assert_stale_twice(repo, f"deps: {dep} modified")


def test_a_same_size_edit_in_a_directory_dep_with_the_mtime_set_back(repo: Repo) -> None:
    repo.gen({"data/a.txt": "alpha\n", "data/sub/b.txt": "beta\n"})
    repo.spec({"S": {"cmd": "cat data/a.txt data/sub/b.txt > out.txt",
                     "deps": ["data"], "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    repo.age()
    assert_up_to_date_twice(repo)
    rewrite_keeping_mtime(repo.path / "data/sub/b.txt", b"BETA\n")
    assert_stale_twice(repo, "deps: data/ modified")


def stale_at(repo: Repo, rev: str) -> dict[str, list[str]]:
    done = repo.run("status", "--rev", rev, "--json")
    assert done.returncode == 0, done.stderr
    return {s["name"]: s["reasons"] for s in json.loads(done.stdout)["stages"] if s["stale"]}


def stale_after_checkout(repo: Repo, rev: str) -> dict[str, list[str]]:
    """What `status` says once REV is checked out; the branch is restored after."""
    branch = repo.git("rev-parse", "--abbrev-ref", "HEAD").strip()
    repo.git("checkout", "-q", rev)
    try:
        done = repo.run("status", "--json")
        assert done.returncode == 0, done.stderr
        found = {s["name"]: s["reasons"] for s in json.loads(done.stdout)["stages"]
                 if s["stale"]}
    finally:
        repo.git("checkout", "-q", branch)
    return found


def directory_and_binary_pipeline(repo: Repo) -> Repo:
    """A stage reading a tracked directory, one reading a tracked binary file
    locked by xxh3 (not a blob id: it was not tracked when first run)."""
    repo.gen({"conf/a.yaml": "a: 1\n", "conf/deep/b.yaml": "b: 2\n",
              "model.bin": bytes(range(256)) * 4 + b"\xff\xfe\x00"})
    repo.spec({
        "confs": {"cmd": "cat conf/a.yaml conf/deep/b.yaml > confs.txt", "deps": ["conf"],
                  "outs": ["confs.txt"]},
        "weights": {"cmd": "wc -c model.bin > weights.txt", "deps": ["model.bin"],
                    "outs": ["weights.txt"]},
    })
    repo.run("init", check=True)
    repo.git("add", "gitpipe.yaml", ".gitpipe", "conf")
    repo.git("commit", "-q", "-m", "spec")
    repo.run("repro", check=True)
    repo.commit("built, model.bin tracked now")
    return repo


def test_status_at_a_revision_reads_directory_and_binary_deps_from_git(repo: Repo) -> None:
    directory_and_binary_pipeline(repo)
    entries = repo.project().lock_entries
    assert entries["weights"].dep("model.bin").digest.startswith("xxh3:")
    assert entries["confs"].dep("conf").digest.endswith(".dir")
    # Later commits change both deps without rerunning; the work tree moves on.
    repo.gen({"conf/deep/b.yaml": "b: 3\n"}, commit="conf changed")
    repo.gen({"model.bin": b"other weights\xff"}, commit="weights changed")
    repo.gen({"conf/new.yaml": "c: 1\n"}, commit="a file added to conf")
    for rev, expected in (("HEAD~3", {}),
                          ("HEAD~2", {"confs": ["deps: conf/ modified"]}),
                          ("HEAD~1", {"confs": ["deps: conf/ modified"],
                                      "weights": ["deps: model.bin modified"]}),
                          ("HEAD", {"confs": ["deps: conf/ modified"],
                                    "weights": ["deps: model.bin modified"]})):
        assert stale_at(repo, rev) == expected, rev
        assert stale_after_checkout(repo, rev) == expected, rev


def test_status_at_a_revision_ignores_work_tree_edits_to_tracked_deps(repo: Repo) -> None:
    directory_and_binary_pipeline(repo)
    (repo.path / "conf/a.yaml").write_text("a: edited, not committed\n")
    (repo.path / "model.bin").write_bytes(b"edited")
    (repo.path / "conf/deep/b.yaml").unlink()
    assert stale_at(repo, "HEAD") == {}
    # A checkout would carry the edits along: the commit's own files are what
    # `git stash` leaves.
    repo.git("stash", "-q")
    try:
        assert stale_after_checkout(repo, "HEAD") == {}
    finally:
        repo.git("stash", "pop", "-q")
    assert "deps: model.bin modified" in repo.run("status").stdout


def test_status_at_a_revision_counts_untracked_files_in_a_directory_dep(repo: Repo) -> None:
    # A checkout keeps untracked files, so `status` after it sees them: so does --rev.
    directory_and_binary_pipeline(repo)
    repo.gen({"conf/local.yaml": "untracked: true\n"})
    assert stale_at(repo, "HEAD") == {"confs": ["deps: conf/ modified"]}
    assert stale_at(repo, "HEAD") == stale_after_checkout(repo, "HEAD")


# The seal covers everything the full judgement read ------------------------------

AUDITED = """
import json, os, sys
opened = []
def hook(event, args):
    if event in ("open", "os.scandir", "os.listdir") and args and isinstance(args[0], (str, bytes)):
        opened.append(os.path.abspath(os.fsdecode(args[0])))
sys.addaudithook(hook)
from gitpipe.cli.launch import main
try:
    main(leave_at_once=False)
finally:
    with open(os.environ["AUDIT_LOG"], "w") as log:
        json.dump(opened, log)
"""

# Inside the project, only these may be read without being an input of the
# answer: git's own data (no verdict depends on the index: a dep's identity is
# its bytes; `.git` itself is read to find the index that the check for tracked
# machine state scans), `.gitpipe/.gitignore` (read by the check that git
# ignores this machine's state, before anything is written; a sealed no-op
# writes nothing) and gitpipe's caches, each keyed by what it stands for.
NOT_INPUTS = (".git/", ".gitpipe/.gitignore", ".gitpipe/state.db", ".gitpipe/tmp/")


def opened_by(repo: Repo, tmp_path: Path, *args: str) -> list[str]:
    import subprocess
    import sys

    log = tmp_path / f"audit-{'-'.join(args)}.json"
    env = {**os.environ, "AUDIT_LOG": str(log), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", AUDITED, *args], cwd=repo.path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(log.read_text())


def sealed_paths(repo: Repo, command: str) -> set[str]:
    from gitpipe.fastpath import seal

    parsed = seal.parse(Path(seal.seal_path(str(repo.path), command)).read_bytes())
    assert parsed is not None
    return set(parsed[3])


def uncovered(repo: Repo, opened: list[str], sealed: set[str]) -> list[str]:
    root = str(repo.path.resolve())
    missing = []
    for path in opened:
        if not path.startswith(root + os.sep):
            continue  # Python, its libraries, gitpipe's code (the seal holds its digest)
        rel = os.path.relpath(path, root)
        if rel == ".git" or rel.startswith(NOT_INPUTS):
            continue
        if not any(rel == s or rel.startswith(s.rstrip("/") + "/") for s in sealed):
            missing.append(rel)
    return sorted(set(missing))


def rich_pipeline(repo: Repo) -> Repo:
    """Every kind of input: tracked code, a data directory, params from two files,
    config, a stage reading another's out, a symlinked dep."""
    repo.gen({"src.py": "print(1)\n", "params.yaml": {"n": 1}, "extra.yaml": {"k": "v"},
              "data/a.txt": "a\n", "data/sub/b.txt": "b\n", "target.txt": "t\n"})
    os.symlink("target.txt", repo.path / "link.txt")
    repo.spec({
        "prep": {"cmd": "python3 src.py > prep.txt && cat data/a.txt link.txt >> prep.txt",
                 "deps": ["src.py", "data", "link.txt"], "params": ["n", {"extra.yaml": ["k"]}],
                 "outs": ["prep.txt"]},
        "use": {"cmd": "cat prep.txt > use.txt", "deps": ["prep.txt"], "outs": ["use.txt"]},
    })
    repo.run("init", check=True)
    repo.commit("sources")
    repo.run("repro", check=True)
    repo.commit("built")
    repo.age()
    return repo


@pytest.mark.parametrize("command", ["status", "repro"])
def test_every_file_the_full_path_reads_is_covered_by_the_seal(
        repo: Repo, tmp_path: Path, command: str) -> None:
    from gitpipe.fastpath import seal

    rich_pipeline(repo)
    opened = opened_by(repo, tmp_path, command)
    assert os.path.exists(seal.seal_path(str(repo.path), command)), "the no-op was not sealed"
    sealed = sealed_paths(repo, command)
    assert {"gitpipe.yaml", "gitpipe.lock", "params.yaml", "extra.yaml", "src.py", "data",
            "link.txt", "prep.txt", "use.txt"} <= sealed
    assert any(path.endswith("/gitpipe.yaml") for path in opened)  # the hook saw the reads
    assert uncovered(repo, opened, sealed) == []


# A dep's executable bit is part of its identity ----------------------------------

def built_with_an_executable_dep(repo: Repo) -> None:
    """Stage S runs `./tool.sh`, its dep; built once, its sources committed."""
    repo.gen({"tool.sh": "#!/bin/sh\necho ran\n"})
    os.chmod(repo.path / "tool.sh", 0o755)
    repo.spec({"S": {"cmd": "./tool.sh > out.txt", "deps": ["tool.sh"], "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.commit("sources")
    repo.run("repro", check=True)


def test_a_dep_losing_its_executable_bit_is_a_change(repo: Repo) -> None:
    built_with_an_executable_dep(repo)
    assert "{path: tool.sh, hash: 'git:" in repo.read("gitpipe.lock")
    assert "exec: true" in repo.read("gitpipe.lock")
    repo.commit("built")
    repo.age()
    assert_up_to_date_twice(repo)
    os.chmod(repo.path / "tool.sh", 0o644)
    assert_stale_twice(repo, "deps: tool.sh mode changed (+x -> -x)")
    os.chmod(repo.path / "tool.sh", 0o755)
    repo.age()
    assert_up_to_date_twice(repo)  # back as locked: nothing to do
    os.chmod(repo.path / "tool.sh", 0o644)
    assert repo.run("repro").returncode != 0  # ./tool.sh cannot run: nothing skips it


def test_status_at_a_revision_sees_the_executable_bit_git_records(repo: Repo) -> None:
    built_with_an_executable_dep(repo)
    repo.commit("built")
    os.chmod(repo.path / "tool.sh", 0o644)
    repo.commit("not executable any more")
    for rev, expected in (("HEAD~1", {}),
                          ("HEAD", {"S": ["deps: tool.sh mode changed (+x -> -x)"]})):
        assert stale_at(repo, rev) == expected, rev
        assert stale_after_checkout(repo, rev) == expected, rev


@pytest.mark.parametrize(("attributes", "config", "converts"), [
    ("", {}, False),
    ("*.txt -text\n", {}, False),
    ("*.txt text\n", {}, True),
    ("*.txt text eol=crlf\n", {}, True),
    ("*.txt eol=lf\n", {}, True),
    ("", {"core.autocrlf": "true"}, True),
    ("", {"core.autocrlf": "input"}, True),
    ("*.txt ident\n", {}, True),
    ("*.txt filter=lfs\n", {}, True),
    ("*.txt working-tree-encoding=UTF-16\n", {}, True),
    ("other.txt text\n", {}, False),
])
def test_which_attributes_and_settings_make_git_convert_a_file(
        repo: Repo, attributes: str, config: dict[str, str], converts: bool) -> None:
    from gitpipe.git.repo import GitRepo

    repo.gen({"data.txt": "alpha\n", ".gitattributes": attributes})
    for key, value in config.items():
        repo.git("config", key, value)
    assert GitRepo.discover(repo.path).converts("data.txt") is converts


def test_status_at_a_revision_agrees_with_a_checkout_in_a_subdirectory_project(
        repo: Repo) -> None:
    # The project is `proj/` inside the repository; its deps include a text
    # file checked out with CRLF and a symlink to a tracked file.
    project = Repo(repo.path / "proj", init=False)
    project.path.mkdir()
    repo.gen({".gitattributes": "*.txt text eol=crlf\n", "proj/notes.txt": "one\ntwo\n",
              "proj/conf/a.yaml": "a: 1\n", "proj/target.sh": "echo t\n"})
    os.symlink("target.sh", project.path / "link.sh")
    project.spec({"S": {"cmd": "cat notes.txt conf/a.yaml link.sh > out.txt",
                        "deps": ["notes.txt", "conf", "link.sh"], "outs": ["out.txt"]}})
    project.run("init", check=True)
    repo.commit("sources")
    (project.path / "notes.txt").unlink()
    repo.git("checkout", "--", "proj/notes.txt")  # as a checkout writes it: CRLF
    project.run("repro", check=True)
    repo.commit("built")
    repo.gen({"proj/notes.txt": "one\nthree\n", "proj/target.sh": "echo u\n"}, commit="edits")
    for rev, expected in (("HEAD~1", {}),
                          ("HEAD", {"S": ["deps: notes.txt modified", "deps: link.sh modified"]})):
        assert stale_at(project, rev) == expected, rev
        branch = repo.git("rev-parse", "--abbrev-ref", "HEAD").strip()
        repo.git("checkout", "-q", rev)
        for name in ("proj/notes.txt", "proj/target.sh"):  # as a fresh checkout writes them
            (repo.path / name).unlink()
            repo.git("checkout", "--", name)
        try:
            done = project.run("status", "--json")
            stale = {s["name"]: s["reasons"] for s in json.loads(done.stdout)["stages"]
                     if s["stale"]}
            assert stale == expected, rev
        finally:
            repo.git("checkout", "-q", branch)


# A param key's type is part of its identity ----------------------------------------

def built_with_params(repo: Repo, text: str, params: list[object] | None = None,
                      file: str = "params.yaml") -> Repo:
    """Stage S copies the params file into its out (what it read, byte for
    byte); built, committed and aged so that the parse cache and the seal answer."""
    repo.gen({file: text})
    repo.spec({"S": {"cmd": ran_cmd("S", f"cat {file} > out.txt"),
                     "params": params or ["train"], "outs": ["out.txt"]}})
    repo.run("init", check=True)
    repo.commit("sources")
    repo.run("repro", check=True)
    assert repo.ran() == ["S"]
    repo.commit("built")
    repo.age()
    assert_up_to_date_twice(repo)
    return repo


@pytest.mark.parametrize(("before", "after", "reasons"), [
    ("1: a", "'1': a", ["params: train.1 added (a)", "params: train[1] removed"]),
    ("'1': a", "1: a", ["params: train.1 removed", "params: train[1] added (a)"]),
    ("1: a", "1.0: a", ["params: train[1.0] added (a)", "params: train[1] removed"]),
    ("true: a", "'true': a", ["params: train[true] removed", "params: train.true added (a)"]),
    ("2024-03-01: a", "'2024-03-01': a",
     ["params: train.2024-03-01 added (a)", "params: train[2024-03-01] removed"]),
])
def test_a_param_key_changing_type_is_a_change(repo: Repo, before: str, after: str,
                                               reasons: list[str]) -> None:
    # yaml.safe_load gives the command {1: 'a'} or {'1': 'a'}: `params['train'][1]`
    # works with one and fails with the other.
    built_with_params(repo, f"train:\n  {before}\n")
    repo.gen({"params.yaml": f"train:\n  {after}\n"})
    repo.age()
    for _ in range(2):  # the second reads params and lock back from the parse cache
        done = repo.run("status", "--json")
        assert json.loads(done.stdout)["stages"][0]["reasons"] == reasons
    repo.run("repro", check=True)
    assert repo.ran() == ["S"]
    assert repo.read("out.txt") == f"train:\n  {after}\n"
    repo.age()
    assert_up_to_date_twice(repo)  # the lock keeps the key's type across processes


@pytest.mark.parametrize(("before", "after", "reason"), [
    # a key named "lr.x" against the key x inside lr: one dotted text, two params
    ("train:\n  lr:\n    x: 1\n", 'train:\n  "lr.x": 1\n', 'params: train["lr.x"] added (1)'),
    # the param `train.lr` is the top-level key "train.lr", which the section
    # `train` does not hold; its own lr changes
    ('"train.lr": 2\ntrain:\n  lr: 1\n', '"train.lr": 2\ntrain:\n  lr: 3\n',
     "params: train.lr 1 -> 3"),
])
def test_a_nested_param_and_a_dotted_key_are_named_apart(repo: Repo, before: str, after: str,
                                                          reason: str) -> None:
    built_with_params(repo, before, ["train", "train.lr"] if "train.lr" in before else None)
    repo.gen({"params.yaml": after})
    repo.age()
    code, out = status(repo)
    assert code == 1 and reason in out, out
    assert "env, wdir or executor settings changed" not in out


def test_json_params_keep_their_types_and_hold_across_processes(repo: Repo) -> None:
    # JSON keys are always strings; values keep their types (1 against 1.0).
    built_with_params(repo, '{"train": {"lr": 1, "layers": [2, 3], "1": "a"}}\n',
                      [{"params.json": ["train"]}], file="params.json")
    repo.gen({"params.json": '{"train": {"lr": 1.0, "layers": [2, 3], "1": "a"}}\n'})
    assert_stale_twice(repo, "params: params.json:train.lr 1 -> 1.0")


# The fingerprint the previous gitpipe wrote for S below, whose param
# `train.start` is a date: it hashed timestamps (and keys) as their text.
OLD_DATE_FINGERPRINT = "xxh3:8b7f4d4c70a7dad33ab19e79101e3800"


def test_a_lock_hashing_params_as_text_still_holds_while_their_types_agree(repo: Repo) -> None:
    import yaml

    repo.gen({"params.yaml": "train:\n  start: 2024-03-01\n"})
    repo.spec({"S": {"cmd": "echo x > out.txt", "params": ["train"], "outs": ["out.txt"]}})
    repo.run("repro", check=True)
    lock = yaml.safe_load(repo.read("gitpipe.lock"))
    assert lock["stages"]["S"]["fingerprint"] != OLD_DATE_FINGERPRINT
    lock["stages"]["S"]["fingerprint"] = OLD_DATE_FINGERPRINT
    (repo.path / "gitpipe.lock").write_text(yaml.safe_dump(lock))
    assert status(repo)[0] == 0
    repo.gen({"params.yaml": "train:\n  start: '2024-03-01'\n"})  # the same text, a string
    assert_stale_twice(repo, 'params: train.start 2024-03-01 -> "2024-03-01"')


# A stage's fingerprint is that of the executor that runs it -------------------------

KUBERNETES = {"kubernetes": {"image": "python:3.12", "env": {"MODE": "fast"}}}


def printing_the_cluster_env(repo: Repo, *names: str) -> Repo:
    """Stages that print what reaches them of the cluster-wide env: `k` is
    declared for Kubernetes, `l` runs locally."""
    stages = {"k": {"cmd": ran_cmd("k", "echo mode=$MODE > k.txt"), "outs": ["k.txt"],
                    "executor": "kubernetes"},
              "l": {"cmd": ran_cmd("l", "echo mode=$MODE > l.txt"), "outs": ["l.txt"]}}
    repo.spec({name: stages[name] for name in names})
    repo.run("init", check=True)
    repo.gen({".gitpipe/config.yaml": KUBERNETES})
    repo.commit("pipeline")
    return repo


def stale_by_status(repo: Repo) -> dict[str, list[str]]:
    done = repo.run("status", "--json")
    assert done.returncode == 0, done.stderr
    return {s["name"]: s["reasons"] for s in json.loads(done.stdout)["stages"] if s["stale"]}


def test_a_kubernetes_stage_run_locally_is_not_up_to_date_for_kubernetes(repo: Repo) -> None:
    printing_the_cluster_env(repo, "k", "l")
    done = repo.run("repro", "--executor", "local")
    assert done.returncode == 0, done.stderr
    assert sorted(repo.ran()) == ["k", "l"]
    assert repo.read("k.txt") == "mode=\n"  # no image, no cluster env: not what a pod makes
    # The lock records the run that happened; judged where `k` says it runs,
    # it is stale, and says why.
    assert stale_by_status(repo) == {"k": ["executor settings changed"]}
    dry = repo.run("repro", "--dry-run")
    assert "would run k: executor settings changed" in dry.stdout, dry.stdout
    # Judged where it ran, it is up to date: nothing runs again.
    repo.age()
    for _ in range(2):
        again = repo.run("repro", "--executor", "local")
        assert again.returncode == 0, again.stderr
        assert repo.ran() == []
    # ...and that no-op is not plain `repro`'s answer: it would run `k` on a cluster.
    plain = repo.run("repro")
    assert plain.returncode != 0 and "need a remote" in plain.stderr, plain.stdout + plain.stderr


def test_a_local_run_is_not_up_to_date_for_kubernetes(repo: Repo) -> None:
    printing_the_cluster_env(repo, "l")
    assert repo.run("repro").returncode == 0
    assert stale_by_status(repo) == {}
    # A pod would get the image and MODE=fast: the recorded run is not that one.
    dry = repo.run("repro", "--dry-run", "--executor", "kubernetes")
    assert dry.returncode == 0, dry.stderr
    assert "would run l: executor settings changed" in dry.stdout, dry.stdout
    assert stale_by_status(repo) == {}
