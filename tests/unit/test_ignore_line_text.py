"""A `.gitpipeignore` line's text read as git reads a .gitignore line, with
`git check-ignore --no-index` on real files as the oracle: one carriage
return before the newline dropped (never more), then the trailing spaces no
backslash quotes, and nothing else (a tab stays, an escaped space stays
with the spaces before it); a byte-order mark before the first line is no
part of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitpipe.hashing.ignore import Ignore, parse_rules

# (the rules file's bytes, file names whose verdicts git and gitpipe compare)
CASES = [
    (b"x\t\n", ["x", "x\t"]),
    (b"y\\  \n", ["y ", "y\\", "y  "]),
    (b"z\\ \r\n", ["z ", "z\\"]),
    (b"w\r\r\n", ["w", "w\r"]),
    (b"t  \n", ["t", "t  "]),
    (b"u \\ \n", ["u", "u  ", "u \\"]),
    (b"s\\\\ \n", ["s\\", "s\\ "]),
    (b"\xef\xbb\xbfv\n", ["v", "\ufeffv"]),
    (b"#c\nq\r\n", ["q", "q\r"]),
    (b"a//\nb/\n", ["a/", "b/"]),  # a name ending in / is a folder
]


def _git_ignores(folder: Path, names: list[str]) -> set[str]:
    done = subprocess.run(["git", "check-ignore", "--no-index", "-z", "--stdin"], cwd=folder,
                          input="\0".join(names).encode() + b"\0", capture_output=True)
    assert done.returncode in (0, 1), done.stderr
    return {name.decode() for name in done.stdout.split(b"\0") if name}


@pytest.mark.parametrize(("text", "names"), CASES, ids=[repr(text) for text, _ in CASES])
def test_a_line_means_what_it_means_to_git(tmp_path: Path, text: bytes, names: list[str]) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_bytes(text)
    for name in names:
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text("x\n")
    rules = Ignore(((parse_rules(text.decode("utf-8", "surrogateescape"), "f"), "", 0),))
    plain = [name.rstrip("/") for name in names]
    ours = {name.rstrip("/") for name in names
            if rules.ignored(name.rstrip("/"), name.rstrip("/"), name.endswith("/"))}
    assert ours == _git_ignores(tmp_path, plain)


TREE = ["foo/x/bar", "foox/y/bar", "foo/bar", "foobar", "a/b/a/ab", "b/a/b/b", "q/x"]
# Runs of stars as git's wildmatch reads them: two or more that end a segment
# are `**` where they open one, or where they are the pattern's first wildcard
# (git matches an anchored pattern after its literal prefix, and there the
# run opens what is left).
STARS = ["foo**/bar", "foo/x**/bar", "***/bar", "****/x", "a***/**a*b", "b**/b**/b", "x/***/bar",
         "q/**", "q***", "fo\\o**/bar"]


@pytest.mark.parametrize("pattern", STARS)
def test_runs_of_stars_match_what_git_matches(tmp_path: Path, pattern: str) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(pattern + "\n")
    folders = {"/".join(path.split("/")[:depth]) for path in TREE
               for depth in range(1, path.count("/") + 1)}
    for path in TREE:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x\n")
    rules = Ignore(((parse_rules(pattern + "\n", "f"), "", 0),))
    ours = set()
    for path in sorted(folders | set(TREE)):
        parts = path.split("/")
        prefixes = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
        if any(rules.ignored(at, at.rsplit("/", 1)[-1], at in folders) for at in prefixes):
            ours.add(path)
    assert ours == _git_ignores(tmp_path, sorted(folders | set(TREE)))
