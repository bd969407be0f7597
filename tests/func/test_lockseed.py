"""The parse cache a repro seeds with the lock it wrote: the next status reads
the lock without parsing its YAML, and a lock changed after the seed (by hand,
by a git checkout) is parsed and judged as it is, never answered from the seed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Repo


def built(repo: Repo) -> Repo:
    repo.gen({"a.txt": "a\n", "b.txt": "b\n"})
    repo.spec({"A": {"cmd": "cat a.txt > A.out", "deps": ["a.txt"], "outs": ["A.out"]},
               "B": {"cmd": "cat b.txt A.out > B.out", "deps": ["b.txt", "A.out"],
                     "outs": ["B.out"]}})
    repo.run("init", check=True)
    repo.commit("sources")
    repo.run("repro", check=True)
    repo.commit("built")
    return repo


def seeded_key(repo: Repo) -> str | None:
    """The key of the lock's entry in the parse cache (None: there is none)."""
    path = repo.parse_cache() / "gitpipe.lock.json"
    return json.loads(path.read_text())["key"] if path.exists() else None


def stale(repo: Repo) -> list[str]:
    done = repo.run("status", "--json")
    return [row["task"] for row in json.loads(done.stdout)["stages"] if row["stale"]]


def test_a_repro_seeds_the_parse_cache_with_the_lock_it_wrote(repo: Repo) -> None:
    from gitpipe.core import parsecache

    built(repo)
    (repo.path / "a.txt").write_text("a2\n")
    repo.run("repro", check=True)
    text = repo.read("gitpipe.lock")
    assert seeded_key(repo) == parsecache._parse_key(text)
    assert stale(repo) == []


def test_a_repro_remembers_the_entries_of_the_lock_it_wrote(repo: Repo) -> None:
    from gitpipe.pipeline import lockfile, lockpickle

    built(repo)
    (repo.path / "a.txt").write_text("a2\n")
    repo.run("repro", check=True)
    text = repo.read("gitpipe.lock")
    project = repo.project()
    try:
        folder = project.parse_cache
    finally:
        project.close()
    remembered = lockpickle.remembered(text, folder, repo.path, lockfile._READERS)
    assert remembered is not None
    assert remembered == lockfile.parse(text)
    assert stale(repo) == []


def test_a_lock_edited_by_hand_after_the_seed_is_read_as_it_is(repo: Repo) -> None:
    built(repo)
    (repo.path / "a.txt").write_text("a2\n")
    repo.run("repro", check=True)
    lock = repo.path / "gitpipe.lock"
    text = lock.read_text()
    at = text.index("fingerprint: xxh3:") + len("fingerprint: xxh3:")
    lock.write_text(text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1:])
    assert stale(repo) == ["A", "B"]


def test_a_lock_checked_out_after_the_seed_is_read_as_it_is(repo: Repo) -> None:
    built(repo)
    (repo.path / "b.txt").write_text("b2\n")
    repo.run("repro", check=True)
    assert stale(repo) == []
    repo.git("checkout", "HEAD", "--", "gitpipe.lock")  # the lock from before that run
    assert stale(repo) == ["B"]


def test_remembered_entries_no_one_or_another_user_signed_are_never_loaded(
        repo: Repo, tmp_path: Path, monkeypatch) -> None:
    # A pickle runs code when loaded: entries remembered in a file this user's
    # key did not sign are ignored, the lock parsed, and the file signed anew.
    import pickle

    from gitpipe.pipeline import lockfile, lockpickle

    built(repo)
    text = repo.read("gitpipe.lock")
    folder = tmp_path / "parsed"
    expected = lockfile.parse(text)
    assert lockfile.parse(text, folder, repo.path) == expected  # parsed, remembered
    stored = folder / lockpickle.PICKLE
    blob = stored.read_bytes()
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(marker), "w"))

    key = blob[32:48]  # after the signature: the key the reader compares
    stored.write_bytes(b"\0" * 32 + key + pickle.dumps(Exploit()))
    assert lockfile.parse(text, folder, repo.path) == expected
    assert not marker.exists()
    assert lockpickle.remembered(text, folder, repo.path, lockfile._READERS) == expected
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-home"))
    assert lockpickle.remembered(text, folder, repo.path, lockfile._READERS) is None
    assert lockfile.parse(text, folder, repo.path) == expected
