"""Shell completion as bash asks for it: `python -m gitpipe` with click's
completion variables, in a real project, answering stage names and partitions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, Repo

STAGES = {
    "prepare": {"cmd": "echo p"},
    "train": {"cmd": "echo t"},
    "features": {"cmd": "echo f", "partition": {"by": "date", "start": "2024-01-01",
                                                 "end": "2024-01-31"}},
}


def complete(repo: Repo, words: str, cwd: Path | None = None) -> list[str]:
    """What bash gets back for the command line `words` (the last word is the one
    being completed; a trailing space means a new, empty word)."""
    parts = words.split(" ")
    env = {**os.environ, **GIT_ENV, "_GITPIPE_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(parts) - 1)}
    done = subprocess.run([sys.executable, "-m", "gitpipe"], cwd=cwd or repo.path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # a completion writes nothing the shell would show
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line.startswith("plain,")]


@pytest.fixture
def project(repo: Repo) -> Repo:
    return repo.spec(STAGES, commit="pipeline")


@pytest.mark.parametrize("command", ["status", "repro", "runs", "checkout", "push", "pull",
                                     "fetch", "commit", "watch", "k8s manifest"])
def test_stage_arguments_complete_stage_names(project: Repo, command: str) -> None:
    assert complete(project, f"gitpipe {command} ") == ["prepare", "train", "features"]


def test_a_prefix_narrows_the_names(project: Repo) -> None:
    assert complete(project, "gitpipe repro tr") == ["train"]
    assert complete(project, "gitpipe status prepare f") == ["features"]


def test_partitions_complete_after_the_at_sign(project: Repo) -> None:
    found = complete(project, "gitpipe repro features@2024-01-2")
    assert found == [f"features@2024-01-{day}" for day in range(20, 30)]
    assert len(complete(project, "gitpipe status features@")) == 31
    assert complete(project, "gitpipe status train@") == []


def test_backfill_completes_only_partitioned_stages(project: Repo) -> None:
    assert complete(project, "gitpipe backfill ") == ["features"]


def test_the_project_is_found_from_a_subdirectory_and_through_dash_c(project: Repo) -> None:
    (project.path / "src").mkdir()
    assert complete(project, "gitpipe status t", cwd=project.path / "src") == ["train"]
    outside = project.path.parent
    assert complete(project, f"gitpipe -C {project.path.name} status t", cwd=outside) == ["train"]


def test_a_broken_spec_completes_nothing_and_says_nothing(project: Repo) -> None:
    project.gen({"gitpipe.yaml": "stages: [\n"})
    assert complete(project, "gitpipe repro ") == []
    project.gen({"gitpipe.yaml": "stages:\n  a:\n    cdm: echo\n"})
    assert complete(project, "gitpipe repro ") == []


def test_outside_a_project_nothing_is_completed(repo: Repo) -> None:
    assert complete(repo, "gitpipe repro ") == []


def test_remote_options_complete_remote_names(project: Repo, tmp_path: Path) -> None:
    project.gen({".gitpipe/config.yaml": {"remotes": {"store": {"url": str(tmp_path / "s")},
                                                      "backup": {"url": str(tmp_path / "b")}}}})
    for words in ("gitpipe push -r ", "gitpipe pull --remote ", "gitpipe repro --pull -r ",
                  "gitpipe gc -a -r ", "gitpipe fsck --remote ", "gitpipe remote modify "):
        assert complete(project, words) == ["backup", "store"], words
    assert complete(project, "gitpipe remote remove st") == ["store"]


def test_commands_still_complete(project: Repo) -> None:
    assert {"repro", "backfill", "remote"} <= set(complete(project, "gitpipe "))


@pytest.mark.parametrize(("shell", "line"), [
    ("bash", "complete -o nosort -F _gitpipe_completion gitpipe"),
    ("zsh", "#compdef gitpipe"),
    ("fish", "complete --no-files --command gitpipe"),
])
def test_each_shell_the_docs_name_gets_a_script(project: Repo, shell: str, line: str) -> None:
    env = {**os.environ, "_GITPIPE_COMPLETE": f"{shell}_source"}
    done = subprocess.run([sys.executable, "-m", "gitpipe"], cwd=project.path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0 and line in done.stdout
