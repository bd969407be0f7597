"""Attacks on what a push believes: a pack index, or a loose object, planted
on the remote under the names of objects the user is about to push (their
digests and sizes are in the committed lock). A push that believed them
skipped the objects and said it was done; a pull then refused the planted
bytes as corrupt. Each attack is built for real on a folder remote, the CLI
pushes, a fresh clone pulls, and the whole temp tree is compared."""

from __future__ import annotations

import json
import os
from pathlib import Path

import xxhash

from gitpipe.storage.packs import PACK_THRESHOLD
from gitpipe.storage.remote import object_key
from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

GEN = ("import os\nos.makedirs('data', exist_ok=True)\n"
       "for i in range(40):\n"
       "    open(f'data/f{i:04d}.txt', 'w').write(f'{i} ' * (i + 1))\n")


def ran(make_repo, tmp_path: Path, gen: str, outs: list[str]) -> tuple[Repo, dict[str, int]]:
    """A repository that ran its stage and committed the lock, not pushed yet;
    the file objects the lock names (a directory's files too) with sizes."""
    origin = make_repo("origin")
    origin.gen({"gen.py": gen})
    origin.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": outs}})
    origin.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    origin.run("repro", check=True)
    origin.commit("ran")
    project = origin.project()
    cache = project.cache
    sizes: dict[str, int] = {}
    for out in project.lock_entries["make"].outs:
        for digest in cache.objects_of(out.digest):
            if not digest.endswith(".dir"):
                sizes[digest] = cache.path(digest).stat().st_size
    return origin, sizes


def forge_pack(store: Path, sizes: dict[str, int]) -> None:
    """A pack of random bytes and an index that passes every rule, naming each
    object at its true size."""
    rows, offset = [], 0
    for digest, size in sizes.items():
        rows.append([digest, offset, size])
        offset += size
    index = json.dumps({"format": 1, "size": offset, "objects": rows}).encode()
    name = store / "packs" / f"pack-{xxhash.xxh3_128_hexdigest(index)}"
    name.parent.mkdir(parents=True)
    name.with_suffix(".pack").write_bytes(os.urandom(offset))
    name.with_suffix(".idx").write_bytes(index)
    (store / "gitpipe-remote.json").write_text('{"format": 2}')


def push_then_pull(origin: Repo, tmp_path: Path) -> None:
    """The push says what it doubted and sends the objects again; a fresh clone
    then pulls every out, and nothing outside the two clones and the remote's
    objects changed."""
    before = snapshot(tmp_path)
    pushed = origin.run("push")
    assert pushed.returncode == 0 and "Traceback" not in pushed.stderr, pushed.stderr
    assert "remote 'store' claims to hold" in pushed.stderr, pushed.stderr
    laptop = origin.clone_to(tmp_path / "laptop")
    pulled = laptop.run("pull")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert_only_changed(before, snapshot(tmp_path),
                        ["origin/.gitpipe", "laptop", "store/files", "store/packs",
                         "store/runs", "store/gitpipe-remote.json"])
    for name in os.listdir(origin.path / "data") if (origin.path / "data").is_dir() else []:
        assert (laptop.path / "data" / name).read_bytes() == \
            (origin.path / "data" / name).read_bytes()


def test_forged_index_does_not_make_push_skip(make_repo, tmp_path: Path) -> None:
    origin, sizes = ran(make_repo, tmp_path, GEN, ["data/"])
    forge_pack(tmp_path / "store", sizes)
    push_then_pull(origin, tmp_path)


def test_planted_loose_object_does_not_make_push_skip(make_repo, tmp_path: Path) -> None:
    origin, sizes = ran(make_repo, tmp_path, "open('out.txt', 'w').write('model ' * 50)\n",
                        ["out.txt"])
    [(digest, size)] = sizes.items()
    planted = tmp_path / "store" / object_key(digest)
    planted.parent.mkdir(parents=True)
    planted.write_bytes(os.urandom(size))
    planted.chmod(0o444)
    push_then_pull(origin, tmp_path)
    assert (origin.path / "out.txt").read_bytes() == (tmp_path / "laptop" / "out.txt").read_bytes()


def test_planted_large_loose_object_does_not_make_push_skip(make_repo, tmp_path: Path) -> None:
    """An object over the pack threshold, which the push does not read back
    whole: planted at its exact size, its first and last bytes the true ones
    (a writer may know a file's header), it is still doubted and sent again."""
    origin, sizes = ran(make_repo, tmp_path, "import random\nrandom.seed(7)\n"
                        "open('out.bin', 'wb').write(random.randbytes(3 * 2**20 + 5))\n",
                        ["out.bin"])
    [(digest, size)] = sizes.items()
    assert size >= PACK_THRESHOLD
    true = (origin.path / "out.bin").read_bytes()
    planted = tmp_path / "store" / object_key(digest)
    planted.parent.mkdir(parents=True)
    planted.write_bytes(true[:4096] + os.urandom(size - 2 * 4096) + true[-4096:])
    push_then_pull(origin, tmp_path)
    assert (tmp_path / "laptop" / "out.bin").read_bytes() == true


def test_a_push_after_a_push_reads_nothing_back(make_repo, tmp_path: Path) -> None:
    # The objects this clone sent are known held: a second push reads no pack
    # (were it read, the bytes put there since would be doubted and sent again;
    # damage after the fact is fsck's to find, security.md says).
    origin, _ = ran(make_repo, tmp_path, GEN, ["data/"])
    assert origin.run("push").returncode == 0
    pushes_believing_the_pack(origin, tmp_path)


def test_a_push_after_a_pull_reads_nothing_back(make_repo, tmp_path: Path) -> None:
    # The objects a clone pulled were hashed as they arrived: its push after
    # the pull reads none of them back (were they read, the bytes put there
    # since would be doubted and sent again).
    origin, _ = ran(make_repo, tmp_path, GEN, ["data/"])
    assert origin.run("push").returncode == 0
    laptop = origin.clone_to(tmp_path / "laptop")
    assert laptop.run("pull").returncode == 0
    pushes_believing_the_pack(laptop, tmp_path)


def pushes_believing_the_pack(clone: Repo, tmp_path: Path) -> None:
    """The remote's pack overwritten with other bytes, `clone` pushes: read
    back, they would be doubted and sent again; believed, nothing moves."""
    [pack] = (tmp_path / "store" / "packs").glob("*.pack")
    pack.chmod(0o644)
    pack.write_bytes(os.urandom(pack.stat().st_size))
    before = snapshot(tmp_path)
    pushed = clone.run("push")
    assert pushed.returncode == 0 and "claims to hold" not in pushed.stderr, pushed.stderr
    assert_only_changed(before, snapshot(tmp_path), [f"{clone.path.name}/.gitpipe"])


def test_forged_index_hides_no_loose_copy_from_a_pull(make_repo, tmp_path: Path) -> None:
    # An object pushed loose, then named by a planted index: a pull read it
    # from the planted pack only, refused it, and never looked for it loose.
    origin, sizes = ran(make_repo, tmp_path, "open('out.txt', 'w').write('model ' * 50)\n",
                        ["out.txt"])
    assert origin.run("push").returncode == 0
    forge_pack(tmp_path / "store", sizes)
    laptop = origin.clone_to(tmp_path / "laptop")
    before = snapshot(tmp_path)
    pulled = laptop.run("pull")
    assert pulled.returncode == 0 and "Traceback" not in pulled.stderr, pulled.stderr
    assert "is corrupt" not in pulled.stderr
    assert_only_changed(before, snapshot(tmp_path), ["laptop/.gitpipe", "laptop/out.txt"])
    assert (laptop.path / "out.txt").read_bytes() == (origin.path / "out.txt").read_bytes()


def test_a_record_vouches_for_no_object_the_remote_lists_at_another_size(
        make_repo, tmp_path: Path) -> None:
    # This clone sent the object, so its record says the remote holds it; a
    # writer then put other bytes of another length under its name. The
    # listing gives the length for nothing: the record is not believed for it.
    origin, sizes = ran(make_repo, tmp_path, "open('out.txt', 'w').write('model ' * 50)\n",
                        ["out.txt"])
    assert origin.run("push").returncode == 0
    [(digest, size)] = sizes.items()
    planted = tmp_path / "store" / object_key(digest)
    planted.chmod(0o644)
    planted.write_bytes(os.urandom(size + 7))
    push_then_pull(origin, tmp_path)
    assert (origin.path / "out.txt").read_bytes() == (tmp_path / "laptop" / "out.txt").read_bytes()
