"""A crafted `.git/index` against gitpipe's own reading of it. A branch cannot
ship an index, but a CI checkout (a restored cache, a runner's leftovers) can
run with any state of `.git`. gitpipe reads a plain index's names itself to
tell, without a git process, that no cached out is a file git tracks; an
index that git reads otherwise than gitpipe did hid a tracked out, and
`repro` replaced the tracked file with the stage's output."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot


def with_extended_flag(index: bytes, name: bytes) -> bytes:
    """The index with the entry `name` (the last) carrying git's extended flag
    and intent-to-add bit in a version 2 index, which git reads (two more flag
    bytes before the name) and a reader of version 3 only did not."""
    version, count = struct.unpack_from(">II", index, 4)
    assert version == 2
    pos, out = 12, bytearray(index[:12])
    for _ in range(count):
        flags = struct.unpack_from(">H", index, pos + 60)[0]
        length = flags & 0xFFF
        size = (62 + length + 8) & ~7
        entry = index[pos:pos + size]
        if entry[62:62 + length] == name:
            head = bytearray(entry[:62])
            struct.pack_into(">H", head, 60, flags | 0x4000)
            body = bytes(head) + b"\x20\x00" + name
            entry = body + bytes(((64 + length + 8) & ~7) - len(body))
        out += entry
        pos += size
    return bytes(out) + hashlib.sha1(out).digest()  # no extensions: git rebuilds them


def test_crafted_index_does_not_hide_a_tracked_out(repo: Repo, tmp_path: Path) -> None:
    repo.gen({"gen.py": "open('z', 'w').write('made by the stage\\n')\n",
              "z": "the user's own file, tracked by git\n"})
    repo.spec({"make": {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["z"]}})
    repo.commit("a tracked file declared as an out")
    index = repo.path / ".git" / "index"
    index.write_bytes(with_extended_flag(index.read_bytes(), b"z"))
    assert "z" in repo.git("ls-files").split()   # git reads it, and tracks z
    before = snapshot(tmp_path)
    done = repo.run("repro")
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "z" in done.stderr and "tracked by git" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
    assert (repo.path / "z").read_text() == "the user's own file, tracked by git\n"
