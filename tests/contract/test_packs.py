"""Packs on every remote kind: many small objects go up in a few pack objects
with an index, come back verified, are never sent twice, and gc and fsck
know them."""

from __future__ import annotations

import json

import yaml

from gitpipe.storage.packstore import MARKER, read_packs
from gitpipe.storage.remote import object_key
from tests.conftest import Repo

SMALL = 40  # above PACK_MIN_OBJECTS: these go into a pack


def many_files(make_repo, remote_url: str, count: int = SMALL, name: str = "origin") -> Repo:
    """A stage writing `count` small files into data/, built, with a default remote."""
    repo = make_repo(name)
    repo.gen({"gen.py": "import os, sys\n"
                        "n = int(sys.argv[1]); os.makedirs('data', exist_ok=True)\n"
                        "for i in range(n):\n"
                        "    open(f'data/f{i:04d}.txt', 'w').write(f'{i} ' * (i + 1))\n"})
    repo.spec({"make": {"cmd": f"python gen.py {count}", "deps": ["gen.py"],
                        "outs": ["data/"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "--default", "store", remote_url, check=True)
    repo.own_remote()
    repo.run("repro", check=True)
    repo.commit("built")
    return repo


def remote_keys(repo: Repo) -> set[str]:
    remote = repo.project().remote()
    return set(remote.listing("files")) | set(remote.listing("packs")) | set(
        remote.listing("runs"))


def test_small_files_go_up_in_a_pack_and_come_back(make_repo, remote_url: str) -> None:
    origin = many_files(make_repo, remote_url)
    pushed = origin.run("push", check=True)
    assert f"pushed {SMALL + 1} object(s) and 1 run-cache entry" in pushed.stdout
    keys = remote_keys(origin)
    packs = sorted(k for k in keys if k.startswith("packs/"))
    assert [k.rsplit(".", 1)[1] for k in packs] == ["idx", "pack"]
    loose = [k for k in keys if k.startswith("files/")]
    assert len(loose) == 1 and loose[0].endswith(".dir")  # the manifest stays loose
    remote = origin.project().remote()
    assert json.loads(remote.get_bytes(MARKER) or b"") == {"format": 2}
    assert len(read_packs(remote).objects) == SMALL

    again = origin.run("push", check=True)
    assert "pushed 0 object(s) and 0 run-cache entries" in again.stdout
    assert remote_keys(origin) == keys

    laptop = origin.clone_to(origin.path.parent / "laptop")
    done = laptop.run("pull", check=True)
    assert "checked out 1 out(s)" in done.stdout
    assert laptop.read("data/f0007.txt") == "7 " * 8
    assert laptop.run("status", "--check").returncode == 0
    # Another clone (another branch) holding the same objects sends none of them.
    laptop.git("checkout", "-q", "-b", "other")
    assert "pushed 0 object(s)" in laptop.run("push", check=True).stdout


def test_an_object_in_a_pack_is_never_sent_again(make_repo, remote_url: str) -> None:
    origin = many_files(make_repo, remote_url)
    origin.run("push", check=True)
    # One more file: only it and the new manifest go up (loose: one is too few to pack).
    origin.gen({"gen.py": origin.read("gen.py") + "open('data/new.txt', 'w').write('new')\n"})
    origin.run("repro", check=True)
    pushed = origin.run("push", check=True)
    assert "pushed 2 object(s)" in pushed.stdout
    assert len([k for k in remote_keys(origin) if k.endswith(".pack")]) == 1


def test_fetch_verifies_packed_objects(make_repo, remote_url: str) -> None:
    origin = many_files(make_repo, remote_url)
    origin.run("push", check=True)
    remote = origin.project().remote()
    packs = read_packs(remote)
    digest, where = sorted(packs.objects.items())[3]
    data = bytearray(remote.read_range(where.pack, 0, packs.sizes[where.pack]))
    data[where.offset] ^= 0xFF  # one byte of one object
    with remote.fs.open(remote.full(where.pack), "wb") as handle:
        handle.write(bytes(data))

    laptop = origin.clone_to(origin.path.parent / "laptop")
    done = laptop.run("pull")
    assert done.returncode == 1
    assert f"object {digest} in {where.pack} is corrupt" in done.stderr
    assert "Traceback" not in done.stderr
    assert not laptop.project().cache.has(digest)
    assert not (laptop.path / "data").exists() or laptop.project().cache.missing(
        laptop.project().lock_entries["make"].outs[0].digest)
    assert object_key(digest)  # the object is named by its digest, nothing else


def test_gc_removes_a_dead_pack_and_keeps_a_live_one(make_repo, remote_url: str) -> None:
    origin = many_files(make_repo, remote_url)
    origin.run("push", check=True)
    origin.commit("v1 pushed")
    first = {k for k in remote_keys(origin) if k.startswith("packs/")}
    origin.gen({"gen.py": origin.read("gen.py").replace("' * (i + 1)", "' * (i + 2)")})
    origin.run("repro", check=True)
    origin.run("push", check=True)
    origin.commit("v2 pushed")
    second = {k for k in remote_keys(origin) if k.startswith("packs/")} - first
    assert len(second) == 2  # v2's objects, in their own pack

    kept = origin.run("gc", "--remote", "store", "--all-commits", "--yes", check=True)
    assert "removed 0 object(s)" in kept.stdout
    dropped = origin.run("gc", "--remote", "store", "--workspace", "--yes", check=True)
    # v1's 40 packed files and its manifest; v1's pack with its index
    assert f"removed {SMALL + 1} object(s)" in dropped.stdout
    assert {k for k in remote_keys(origin) if k.startswith("packs/")} == second

    laptop = origin.clone_to(origin.path.parent / "laptop")
    laptop.run("pull", check=True)
    assert laptop.read("data/f0001.txt") == "1 " * 3


def test_gc_keeps_a_pack_while_one_object_in_it_lives(make_repo, remote_url: str) -> None:
    origin = many_files(make_repo, remote_url)
    origin.run("push", check=True)
    origin.commit("v1 pushed")
    packs = {k for k in remote_keys(origin) if k.startswith("packs/")}
    # v2 changes every file but f0000 (its content stays): v1's pack keeps it alive.
    origin.gen({"gen.py": origin.read("gen.py").replace("' * (i + 1)", "' * (i + 1 + (i > 0))")})
    origin.run("repro", check=True)
    origin.run("push", check=True)
    origin.commit("v2 pushed")
    origin.run("gc", "--remote", "store", "--workspace", "--yes", check=True)
    assert packs <= remote_keys(origin)
    laptop = origin.clone_to(origin.path.parent / "laptop")
    laptop.run("pull", check=True)
    assert laptop.read("data/f0000.txt") == "0 "


def test_fsck_remote_checks_packed_objects_and_repair_lets_push_replace(
        make_repo, remote_url: str) -> None:
    origin = many_files(make_repo, remote_url)
    origin.run("push", check=True)
    origin.commit("pushed")
    clean = origin.run("fsck", "--remote", "store", check=True)
    assert f"checked {SMALL + 1} object(s): 0 bad" in clean.stdout
    remote = origin.project().remote()
    packs = read_packs(remote)
    digest, where = sorted(packs.objects.items())[5]
    data = bytearray(remote.read_range(where.pack, 0, packs.sizes[where.pack]))
    data[where.offset] ^= 0xFF
    with remote.fs.open(remote.full(where.pack), "wb") as handle:
        handle.write(bytes(data))

    found = origin.run("fsck", "--remote", "store")
    assert found.returncode == 1 and f"bad: {digest}" in found.stdout
    origin.run("fsck", "--remote", "store", "--repair", check=True)
    assert not any(k.startswith("packs/pack-") for k in remote_keys(origin))
    again = origin.run("push", check=True)
    assert f"pushed {SMALL} object(s)" in again.stdout
    laptop = origin.clone_to(origin.path.parent / "laptop")
    laptop.run("pull", check=True)
    assert laptop.read("data/f0005.txt") == "5 " * 6


def test_noop_push_of_packed_objects_lists_only_packs(make_repo, remote_url: str) -> None:
    origin = many_files(make_repo, remote_url, count=300)
    origin.run("push", check=True)
    remote = origin.project().remote()
    listed: list[str] = []
    original = remote.fs.find
    remote.fs.find = lambda path, *a, **k: listed.append(str(path)) or original(path, *a, **k)
    from gitpipe.usecases.transfer import push_outs

    summary = push_outs(origin.project(), remote)
    assert summary.files == 0 and summary.skipped == 301
    # The packs' own folder and the run-cache entries' (one listing each, to
    # skip the entries there), never files/ (300 objects: a listing before).
    assert {path.rsplit("/", 1)[-1] for path in listed} <= {"packs", "runs"}  # walked


def test_gc_never_removes_a_pack_pushed_after_it_planned(make_repo, remote_url: str) -> None:
    from gitpipe.usecases.garbage import _plan_remote, _remove_remote

    origin = many_files(make_repo, remote_url)
    origin.run("push", check=True)
    remote = origin.project().remote()
    plan = _plan_remote(remote, set(), "nothing")  # as a gc whose scope keeps nothing
    assert len(plan.packs) == 2
    # Meanwhile another clone pushes other objects: a pack gc never read.
    other = many_files(make_repo, remote_url, count=30, name="other")
    other.gen({"gen.py": other.read("gen.py").replace("' * (i + 1)", "' * (i + 50)")})
    other.run("repro", check=True)
    other.run("push", check=True)
    other.commit("pushed")
    _remove_remote(remote, plan, None)
    assert len(read_packs(remote).indexes) == 1
    laptop = other.clone_to(other.path.parent / "laptop")
    laptop.run("pull", check=True)
    assert laptop.read("data/f0001.txt") == "1 " * 51


def test_packs_are_read_without_the_marker(make_repo, remote_url: str) -> None:
    # A marker lost (or a push cut off before it) hides no pack.
    origin = many_files(make_repo, remote_url)
    origin.run("push", check=True)
    remote = origin.project().remote()
    remote.delete([MARKER])
    assert "pushed 0 object(s)" in origin.run("push", check=True).stdout
    laptop = origin.clone_to(origin.path.parent / "laptop")
    laptop.run("pull", check=True)
    assert laptop.read("data/f0009.txt") == "9 " * 10


def test_pull_writes_packed_files_from_the_read_itself(make_repo, tmp_path, monkeypatch) -> None:
    # As for loose objects: no file is copied out of the cache a second time.
    from gitpipe.storage.cache import Cache
    from gitpipe.usecases import transfer

    origin = many_files(make_repo, str(tmp_path / "store"))
    origin.run("push", check=True)
    laptop = origin.clone_to(tmp_path / "laptop")
    copied: list[object] = []
    real = Cache._copy_verified
    monkeypatch.setattr(Cache, "_copy_verified",
                        lambda self, obj, dest: copied.append(dest) or real(self, obj, dest))
    project = laptop.project()
    summary, report = transfer.pull(project, project.remote())
    assert report.restored == ["data"] and summary.files == SMALL + 1
    assert copied == []
    assert laptop.read("data/f0003.txt") == "3 " * 4
    assert laptop.run("status", "--check").returncode == 0


def test_repro_pull_restores_packed_outs_from_the_run_cache(make_repo, remote_url: str) -> None:
    origin = many_files(make_repo, remote_url)
    config = origin.path / ".gitpipe/config.yaml"
    data = yaml.safe_load(config.read_text())
    data["remotes"]["store"]["trust"] = "any"  # unsigned entries: docs/explanation/security.md
    config.write_text(yaml.safe_dump(data))
    origin.commit("trust any run-cache entry of the remote")
    origin.run("push", check=True)
    laptop = origin.clone_to(origin.path.parent / "laptop")
    done = laptop.run("repro", "--pull", check=True)
    assert "restored make" in done.stdout, done.stdout
    assert laptop.read("data/f0011.txt") == "11 " * 12


def test_push_after_objects_vanish_sends_exactly_them(make_repo, remote_url: str) -> None:
    # What a push finds on the remote is asked anew each time (pack indexes,
    # lookups): objects deleted behind its back are sent again, nothing else.
    origin = many_files(make_repo, remote_url)
    origin.run("push", check=True)
    remote = origin.project().remote()
    [index] = read_packs(remote).indexes
    remote.delete([index, index.removesuffix(".idx") + ".pack"])
    assert f"pushed {SMALL} object(s)" in origin.run("push", check=True).stdout
    manifest = origin.project().lock_entries["make"].outs[0].digest
    remote.delete([object_key(manifest)])
    assert "pushed 1 object(s)" in origin.run("push", check=True).stdout
    assert "pushed 0 object(s)" in origin.run("push", check=True).stdout
    origin.commit("pushed")
    laptop = origin.clone_to(origin.path.parent / "laptop")
    laptop.run("pull", check=True)
    assert laptop.read("data/f0039.txt") == "39 " * 40
