"""The config is checked once, by the same rules, whatever the command:
`validate`, `status` and a `repro` with nothing to do refuse a bad value
alike, naming the file, the key and the problem, with a hint."""

from __future__ import annotations

import pytest

from gitpipe.executors.kubernetes.manifest import KubeSettings
from gitpipe.pipeline.configcheck import CACHE_TYPES, SECTIONS
from gitpipe.storage.cache import LINK_TYPES
from tests.conftest import Repo

BAD = [
    ("cache:\n  type: bogus\n", "cache.type must be one of reflink, copy, hardlink, symlink, "
                                "not 'bogus'"),
    ("core:\n  jobs: 0\n", "core.jobs must be a whole number of at least 1, not 0"),
    ("core:\n  jobs: two\n", "core.jobs must be a whole number of at least 1, not 'two'"),
    ("core:\n  lock_wait: .nan\n", "core.lock_wait must be a finite number of seconds above 0"),
    ("core:\n  lock_wait: .inf\n", "core.lock_wait must be a finite number of seconds above 0"),
    ("core:\n  lock_wait: -1\n", "core.lock_wait must be a finite number of seconds above 0"),
    ("core:\n  lock_wait: '3'\n", "core.lock_wait must be a finite number of seconds above 0"),
    ("core:\n  log_retention: true\n", "core.log_retention must be a whole number"),
    ("core:\n  jbos: 2\n", "core: unknown key 'jbos'"),
    ("remots: {}\n", "unknown section 'remots'"),
    ("core: 3\n", "core must be a mapping"),
    ("kubernetes:\n  namspace: ml\n", "kubernetes: unknown key 'namspace'"),
    ("kubernetes:\n  heartbeat_timeout: .nan\n", "kubernetes.heartbeat_timeout must be a "
                                                 "finite number of seconds above 0"),
    ("kubernetes:\n  ttl: 1.5\n", "kubernetes.ttl must be a whole number of at least 0"),
    ("remotes:\n  store: /srv/store\n", "remotes.store must be a mapping of url and options"),
    ("remotes:\n  store:\n    url: 'http://[fe80/x'\n", "remotes.store.url does not parse"),
    ("remotes:\n  store:\n    url: ''\n", "remotes.store.url must be a URL"),
    ("remotes:\n  store:\n    profile: dev\n", "remotes.store has no url"),
    ("pools:\n  db: 0\n", "pools.db must be a whole number of at least 1, not 0"),
]


def up_to_date(repo: Repo) -> Repo:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.run("status", check=True)  # seals the no-op answer
    return repo


def refusals(repo: Repo, *commands: str, **env: str) -> set[str]:
    """The stderr of each command, each checked to be a clean refusal."""
    seen = set()
    for command in commands:
        done = repo.run(command, env=env)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and "hint: " in done.stderr, done.stderr
        seen.add(done.stderr)
    return seen


@pytest.mark.parametrize("config, problem", BAD)
def test_every_command_refuses_a_bad_config_alike(repo: Repo, config: str, problem: str) -> None:
    up_to_date(repo)
    (repo.path / ".gitpipe/config.yaml").write_text(config)
    [said] = refusals(repo, "validate", "repro", "status")
    assert said.startswith(f"error: .gitpipe/config.yaml: {problem}"), said


def test_the_local_file_is_named_when_it_holds_the_mistake(repo: Repo) -> None:
    up_to_date(repo)
    (repo.path / ".gitpipe/config.local.yaml").write_text("core:\n  lock_wait: .nan\n")
    [said] = refusals(repo, "validate", "repro")
    assert said.startswith("error: .gitpipe/config.local.yaml: core.lock_wait must be")


def test_a_typo_gets_a_did_you_mean(repo: Repo) -> None:
    up_to_date(repo)
    (repo.path / ".gitpipe/config.yaml").write_text("core:\n  lock_wiat: 3\n")
    [said] = refusals(repo, "validate", "repro")
    assert ("hint: did you mean 'lock_wait'? (known: autostage, jobs, lock_wait, "
            "log_retention, remote)") in said


def test_gitpipe_jobs_from_the_environment_is_checked_too(repo: Repo) -> None:
    up_to_date(repo)
    (repo.path / "a.txt").unlink()  # something to run: the jobs are read
    [said] = refusals(repo, "validate", "repro", GITPIPE_JOBS="0")
    assert said.startswith("error: GITPIPE_JOBS must be a whole number of at least 1")


def test_good_values_pass(repo: Repo) -> None:
    up_to_date(repo)
    (repo.path / ".gitpipe/config.yaml").write_text(
        "core:\n  jobs: 2\n  lock_wait: 0.5\n  log_retention: 3\n  remote:\n"
        "cache:\n  type: copy\nremotes:\npools:\n  db: 1\n"
        "kubernetes:\n  namespace: ml\n  ttl: 0\n  env_from_secret: creds\n"
        "  heartbeat_timeout: 30\n")
    assert repo.run("validate").returncode == 0
    (repo.path / "a.txt").unlink()
    assert repo.run("repro").returncode == 0


def test_the_rules_name_what_the_readers_take() -> None:
    assert CACHE_TYPES == LINK_TYPES
    assert set(SECTIONS["kubernetes"]) == set(KubeSettings.__dataclass_fields__) - {"extra"}
