"""A cloned repository's `.gitignore` as gitpipe rewrites it. `repro` and
`init` add the outs' lines to the root `.gitignore`, writing the file whole:
the rules the clone committed must mean the same after as before, since a file
of the user's they ignore (a `.env` of secrets) that falls out of them is
taken by the next `git add -A`. In a .gitignore the last matching line
decides and lines end at a newline only: gitpipe dropped repeated lines and
split at any character Python counts as a line break, and wrote an out's path
holding a newline as two rules."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.security.conftest import assert_only_changed, snapshot

GEN = {"gen.py": "open('out.txt', 'w').write('model')\n"}
MAKE = {"cmd": "python gen.py", "deps": ["gen.py"], "outs": ["out.txt"]}
RAN = ["victim/.gitignore", "victim/.gitpipe", "victim/gitpipe.lock", "victim/out.txt"]


def cloned_with_ignore(make_repo, tmp_path: Path, ignore: bytes,
                       stages: dict | None = None):
    """A clone of a repository that commits `ignore` as its root .gitignore,
    with the victim's own `.env` beside it, ignored by those rules."""
    origin = make_repo("origin")
    origin.gen({**GEN, ".gitignore": ignore})
    origin.spec(stages or {"make": MAKE})
    origin.commit("pipeline")
    victim = origin.clone_to(tmp_path / "victim")
    (victim.path / ".env").write_text("TOKEN=secret\n")
    return victim


def ignored(victim, name: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", name], cwd=victim.path).returncode == 0


@pytest.mark.parametrize("rules", [
    b"# secrets\n.env\n\n# the template is kept\n!.env\n\n# no: never\n.env\n",
    "# secrets\n.env\n# local settings\u2028!.env\n".encode(),
    b".env\n# local settings\x1c!.env\n",
], ids=["repeated-line", "line-separator", "file-separator"])
@pytest.mark.parametrize("command", ["repro", "init"])
def test_the_rules_mean_what_they_meant(make_repo, tmp_path: Path, rules: bytes,
                                        command: str) -> None:
    victim = cloned_with_ignore(make_repo, tmp_path, rules)
    assert ignored(victim, ".env")
    before = snapshot(tmp_path)
    done = victim.run(command)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ignored(victim, ".env"), (victim.path / ".gitignore").read_bytes()
    assert ignored(victim, "out.txt")
    assert (victim.path / ".gitignore").read_bytes() == rules + b"/out.txt\n"
    assert_only_changed(before, snapshot(tmp_path), RAN)


@pytest.mark.parametrize("stages", [
    {"make": {**MAKE, "outs": ["out.txt\n!/.env"]}},
    {"make": {"foreach": {"a": {"n": "1"}, "b": {"n": "2\n!/.env"}},
              "do": {**MAKE, "outs": ["out-${item.n}.txt"]}}},
], ids=["out", "foreach-item"])
@pytest.mark.parametrize("command", ["repro", "init"])
def test_an_out_with_a_newline_writes_no_rule(make_repo, tmp_path: Path, stages: dict,
                                              command: str) -> None:
    victim = cloned_with_ignore(make_repo, tmp_path, b".env\n", stages)
    before = snapshot(tmp_path)
    done = victim.run(command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "holds a line break, which no .gitignore line can hold" in done.stderr
    assert "stage 'make" in done.stderr
    assert ignored(victim, ".env")
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe"])


@pytest.mark.parametrize("stages", [
    {"make": {"foreach": {"a": "\\${month}"},
              "do": {"cmd": "python gen.py && mv out.txt 'm-${item}.txt'", "deps": ["gen.py"],
                     "outs": ["m-${item}.txt"]}}},
    {"make": {"foreach": {"a": {"n": "\\${year}"}},
              "do": {"cmd": "python gen.py && mv out.txt 'm-${item.n}.txt'", "deps": ["gen.py"],
                     "outs": ["m-${item.n}.txt"]}}},
], ids=["foreach-value", "foreach-field"])
def test_an_outs_dollar_brace_is_its_own_text_in_gitignore(make_repo, tmp_path: Path,
                                                           stages: dict) -> None:
    """A foreach value's `\\${month}` is a literal `${month}` in the out's
    name; written as `[0-9][0-9]`, the line hid the user's own `m-12.txt` from
    git and left the out itself to the next `git add -A`."""
    victim = cloned_with_ignore(make_repo, tmp_path, b".env\n", stages)
    for name in ("m-12.txt", "m-2024.txt"):
        (victim.path / name).write_text("the user's own\n")
    before = snapshot(tmp_path)
    done = victim.run("repro")
    assert done.returncode == 0, done.stdout + done.stderr
    made = [p.name for p in victim.path.glob("m-$*.txt")]
    assert len(made) == 1 and ignored(victim, made[0]), made
    assert not ignored(victim, "m-12.txt") and not ignored(victim, "m-2024.txt")
    assert_only_changed(before, snapshot(tmp_path), [*RAN, f"victim/{made[0]}"])


def test_a_gitignore_that_is_a_directory_is_named(make_repo, tmp_path: Path) -> None:
    origin = make_repo("origin")
    origin.gen({**GEN, ".gitignore/rules": "x\n"})
    origin.spec({"make": MAKE})
    origin.commit("a folder named .gitignore")
    victim = origin.clone_to(tmp_path / "victim")
    before = snapshot(tmp_path)
    done = victim.run("repro")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'.gitignore' is not a regular file" in done.stderr
    assert "unexpected" not in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe"])


def test_a_gitignore_that_is_a_fifo_is_not_waited_on(make_repo, tmp_path: Path) -> None:
    """A fifo comes from an archive, not from git: opened to be read, it waits
    for a writer for ever."""
    origin = make_repo("origin")
    origin.gen(GEN)
    origin.spec({"make": MAKE})
    origin.commit("pipeline")
    victim = origin.clone_to(tmp_path / "victim")
    os.mkfifo(victim.path / ".gitignore")
    before = snapshot(tmp_path)
    done = victim.run("init", timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'.gitignore' is not a regular file" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe"])


def test_a_huge_gitignore_is_not_read(make_repo, tmp_path: Path) -> None:
    """17 MiB of newlines pack into some 20 KiB; read line by line, 200 MB of
    them took gigabytes of memory."""
    victim = cloned_with_ignore(make_repo, tmp_path, b".env" + b"\n" * (17 * 1024 * 1024))
    before = snapshot(tmp_path)
    done = victim.run("repro")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'.gitignore' is larger than gitpipe reads (16 MiB)" in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["victim/.gitpipe"])


def test_rules_not_in_utf8_are_kept_byte_for_byte(make_repo, tmp_path: Path) -> None:
    """git reads a .gitignore as bytes: a Latin-1 name is a rule like any other."""
    rules = b"caf\xe9.txt\r\n.env\r\n/out.txt"
    victim = cloned_with_ignore(make_repo, tmp_path, rules)
    done = victim.run("repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (victim.path / ".gitignore").read_bytes() == rules
    assert ignored(victim, ".env") and ignored(victim, "out.txt")


def test_an_older_gitpipes_line_is_narrowed_only_where_it_hides_nothing_else(
        make_repo, tmp_path: Path) -> None:
    """`/*.env` is the line an older gitpipe wrote for the out `${date}.env`, and
    a clone's own rule: replaced by the exact pattern, the user's `prod.env`
    was taken back out of .gitignore."""
    daily = {"make": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-02"},
                      "cmd": "echo made > ${date}.env", "outs": ["${date}.env"]}}
    victim = cloned_with_ignore(make_repo, tmp_path, b"# environment files\n/*.env\n", daily)
    (victim.path / ".env").unlink()
    (victim.path / "prod.env").write_text("TOKEN=secret\n")
    before = snapshot(tmp_path)
    done = victim.run("repro")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ignored(victim, "prod.env") and ignored(victim, "2024-01-01.env")
    assert victim.read(".gitignore").startswith("# environment files\n/*.env\n")
    assert_only_changed(before, snapshot(tmp_path), [
        *RAN, "victim/2024-01-01.env", "victim/2024-01-02.env"])
