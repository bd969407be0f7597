"""Attacks through history: `gitpipe log` reads every old commit's gitpipe.lock
and gitpipe.yaml, so anyone who could commit wrote them. A malformed or forged
lock at some commit is a note naming the commit, never a traceback, and the
log changes nothing on disk."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

OWN = ("repo/.gitpipe",)


def good_version(repo: Repo) -> str:
    repo.spec({"make": {"cmd": "cp src.txt out.txt", "deps": ["src.txt"],
                        "outs": ["out.txt"]}})
    repo.gen({"src.txt": "one\n"})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("good")
    return repo.git("rev-parse", "HEAD").strip()


def commit_lock(repo: Repo, text: str, message: str) -> str:
    (repo.path / "gitpipe.lock").write_text(text)
    repo.commit(message)
    return repo.git("rev-parse", "HEAD").strip()


def forged(repo: Repo, **changes: object) -> str:
    data = yaml.safe_load(repo.git("show", "HEAD~0:gitpipe.lock"))
    data["stages"]["make"]["outs"][0].update(changes)
    return yaml.safe_dump(data)


def logged(repo: Repo, tmp_path: Path) -> tuple[dict[str, object], str]:
    before = snapshot(tmp_path)
    done = repo.run("log", "out.txt", "--json")
    assert_only_changed(before, snapshot(tmp_path), OWN)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout), done.stderr


def test_malformed_locks_in_history_are_notes_naming_their_commits(repo: Repo,
                                                                    tmp_path: Path) -> None:
    good = good_version(repo)
    not_yaml = commit_lock(repo, "stages: [unclosed\n", "not yaml")
    bad_schema = commit_lock(repo, "schema: 99\nstages: {}\n", "unknown schema")
    bad_task = commit_lock(repo, yaml.safe_dump({"schema": 1, "stages": {"../evil": {
        "cmd": "x", "fingerprint": "xxh3:" + "0" * 32}}}), "forged task name")
    document, stderr = logged(repo, tmp_path)
    notes = document["notes"]
    assert isinstance(notes, list) and len(notes) == 3
    for commit, words in ((not_yaml, "gitpipe.lock"), (bad_schema, "unknown schema 99"),
                          (bad_task, "'../evil'")):
        [note] = [n for n in notes if n.startswith(f"commit {commit[:12]}: ")]
        assert words in note and note.endswith("; skipped")
        assert f"note: commit {commit[:12]}" in stderr
    versions = document["versions"]
    assert isinstance(versions, list)
    assert [v["commit"] for v in versions] == [good]


def test_a_forged_path_or_size_in_an_old_lock_is_refused_with_a_note(repo: Repo,
                                                                      tmp_path: Path) -> None:
    good_version(repo)
    lock = repo.read("gitpipe.lock")
    escape = commit_lock(repo, forged(repo, path="../../outside.txt"), "path escapes")
    commit_lock(repo, lock, "back to good")
    control = commit_lock(repo, forged(repo, path="out.txt\x1b]0;pwned\x07"),
                          "terminal escape")
    commit_lock(repo, lock, "good again")
    commit_lock(repo, lock, "good once more")
    digest = commit_lock(repo, forged(repo, hash="xxh3:../../../outside.dir"),
                         "digest names a path")
    commit_lock(repo, lock, "and good")
    size = commit_lock(repo, forged(repo, size="huge"), "size is text")
    document, _ = logged(repo, tmp_path)
    notes = "\n".join(document["notes"])  # type: ignore[arg-type]
    assert f"commit {escape[:12]}: gitpipe.lock: stage 'make': out '../../outside.txt' " \
        "is not normalised" in notes
    assert f"commit {control[:12]}: " in notes and "holds a control character" in notes
    assert f"commit {size[:12]}: " in notes and "size that is not a count: 'huge'" in notes
    assert f"commit {digest[:12]}: " in notes and "is not an object digest" in notes
    text = repo.run("log", "out.txt")
    assert text.returncode == 0 and "\x1b" not in text.stdout + text.stderr
    assert "Traceback" not in text.stderr
