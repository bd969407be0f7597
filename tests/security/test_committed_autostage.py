"""Attack: a cloned repository commits `core.autostage: true` in
`.gitpipe/config.yaml`. Every repro in the clone then ran `git add` on what
the clone's stages wrote (a `metrics:` file, the lock, the root .gitignore),
in the user's index, for the user's next `git commit` to take along unseen.
Whether a run stages anything is the user's choice, as git takes none of its
own config from a repository: a committed one is refused naming file and key,
before anything runs; the user's `config.local.yaml` turns it on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot


def test_a_committed_autostage_is_refused_and_stages_nothing(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    evil = make_repo("evil")
    evil.spec({"a": {"cmd": "echo '{\"x\": 1}' > m.json", "metrics": ["m.json"]}})
    evil.run("init", check=True)
    (evil.path / ".gitpipe/config.yaml").write_text("core:\n  autostage: true\n")
    evil.commit("autostage for everyone")
    ci = evil.clone_to(tmp_path / "ci")
    before = snapshot(tmp_path)
    result = ci.run("repro", timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert ".gitpipe/config.yaml: core.autostage is this user's choice" in result.stderr
    assert "config.local.yaml" in result.stderr and "Traceback" not in result.stderr
    assert ci.git("diff", "--cached", "--name-only") == ""
    assert not (ci.path / "m.json").exists()
    assert_only_changed(before, snapshot(tmp_path), ["ci/.gitpipe"])
    # The user's own local config turns it on.
    (ci.path / ".gitpipe/config.yaml").write_text("")
    (ci.path / ".gitpipe/config.local.yaml").write_text("core:\n  autostage: true\n")
    done = ci.run("repro", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "staged with git (core.autostage): gitpipe.lock m.json" in done.stdout, done.stdout
