"""Attack through the default remote a clone's committed config names:
`remote default --unset --local` (leave no remote the default, in the
user's own file) removed the line from config.local.yaml, said "no default
remote", and the committed `core.remote` still chose the remote: a push
without -r then wrote to the clone's remote, which the user had just
declined. The user's --unset holds over the committed default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.security.conftest import assert_only_changed, snapshot

STATE = [f"clone/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


def _clone_of_their_default(make_repo: Any, tmp_path: Path, theirs: Path) -> Any:
    """A clone whose committed config makes the remote `theirs` the default."""
    origin = make_repo("origin")
    origin.spec({"a": {"cmd": "echo x > out.txt", "outs": ["out.txt"]}})
    origin.gen({".gitpipe/config.yaml": {"core": {"remote": "theirs"},
                                         "remotes": {"theirs": {"url": str(theirs)}}}},
               commit="config")
    return origin.clone_to(tmp_path / "clone")


def _build_and_unset_locally(clone: Any) -> None:
    """The user builds, then declines every default in config.local.yaml."""
    clone.run("repro", check=True)
    done = clone.run("remote", "default", "--unset", "--local")
    assert done.returncode == 0, done.stderr
    assert "no default remote" in done.stdout, done.stdout


def test_unsetting_the_default_locally_outweighs_the_committed_one(
        make_repo: Any, tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    clone = _clone_of_their_default(make_repo, tmp_path, theirs)
    clone.run("remote", "add", "--local", "mine", str(tmp_path / "mine"), check=True)
    _build_and_unset_locally(clone)
    before = snapshot(tmp_path)
    shown = clone.run("remote", "default")
    pushed = clone.run("push")
    said = shown.stdout + shown.stderr + pushed.stdout + pushed.stderr
    assert shown.returncode != 0 and "no default remote" in shown.stderr, said
    # the local null outweighs the committed default: only the local file can name one
    assert pushed.returncode == 2 and pushed.stderr.splitlines()[-2:] == [
        "error: no default remote: core.remote is set to none",
        "hint: gitpipe remote default --local NAME (or -r NAME)"], said
    assert "Traceback" not in said, said
    assert not theirs.exists(), said
    assert_only_changed(before, snapshot(tmp_path), STATE)


def test_unsetting_the_default_locally_holds_with_the_clone_s_only_remote(
        make_repo: Any, tmp_path: Path) -> None:
    """The same with the clone's remote the only one: `core.remote: null` in
    config.local.yaml (the user's --unset) is no `core.remote` to
    `default_remote`, and the only remote is then the implied default, so a
    push without -r (and the pre-push hook) wrote to the remote the user had
    just declined, after `remote default --unset --local` said "no default
    remote"."""
    theirs = tmp_path / "theirs"
    clone = _clone_of_their_default(make_repo, tmp_path, theirs)
    _build_and_unset_locally(clone)
    before = snapshot(tmp_path)
    shown = clone.run("remote", "default")
    listed = clone.run("remote", "list")
    pushed = clone.run("push")
    said = shown.stdout + shown.stderr + listed.stdout + pushed.stdout + pushed.stderr
    assert shown.returncode != 0 and "no default remote" in shown.stderr, said
    assert "(default" not in listed.stdout, said
    assert pushed.returncode == 2, said
    assert "no default remote: core.remote is set to none" in pushed.stderr, said
    assert "Traceback" not in said, said
    assert not theirs.exists(), said
    assert_only_changed(before, snapshot(tmp_path), STATE)
