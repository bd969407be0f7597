"""The config's rules, value by value (the CLI tests run a few through every command)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline.configcheck import check_file, check_merged, jobs_from_environment

SOURCE = ".gitpipe/config.yaml"


@pytest.mark.parametrize("data", [
    {},
    {"core": None, "remotes": None, "pools": None},
    {"core": {"jobs": None, "lock_wait": 0.1, "remote": None, "log_retention": 1}},
    {"core": {"jobs": 64, "lock_wait": 3600, "remote": "store"}},
    {"cache": {"type": "symlink"}},
    {"remotes": {"s": {"url": "s3://b/p", "client_kwargs": {"region_name": "eu"}}}},
    {"remotes": {"s": {"url": "simplecache::s3://b/p"}, "f": {"url": "../store"}}},
    {"remotes": {"v6": {"url": "http://[::1]:9000/b"}}},
    {"pools": {"db": 1, "gpu": 8}},
    {"kubernetes": {"namespace": "ml", "image": None, "image_pull_secrets": ["r"],
                    "ttl": 0, "command": "gitpipe", "env": {"A": "1"},
                    "env_from_secret": ["a", "b"], "pending_timeout": 1.5,
                    "watch_timeout": 1}},
])
def test_good_configs_pass(data: dict[str, Any]) -> None:
    check_file(data, SOURCE)


@pytest.mark.parametrize("data, message", [
    ({"core": {"jobs": True}}, r"core\.jobs must be a whole number of at least 1, not True"),
    ({"core": {"jobs": 2.0}}, r"core\.jobs must be a whole number"),
    ({"core": {"lock_wait": math.nan}}, r"core\.lock_wait must be a finite number"),
    ({"core": {"lock_wait": False}}, r"core\.lock_wait must be a finite number"),
    ({"core": {"remote": ""}}, r"core\.remote must be a non-empty string"),
    ({"core": {"remote": 3}}, r"core\.remote must be a non-empty string"),
    ({"cache": {"tpye": "copy"}}, r"cache: unknown key 'tpye'"),
    ({"cache": ["copy"]}, r"cache must be a mapping"),
    ({"remotes": {"s": {"url": 5}}}, r"remotes\.s\.url must be a URL or a folder's path"),
    ({"remotes": {"s": {"url": "/x\n/y"}}}, r"remotes\.s\.url holds a control character"),
    ({"remotes": {"s": None}}, r"remotes\.s must be a mapping of url and options"),
    ({"pools": {"db": True}}, r"pools\.db must be a whole number of at least 1"),
    ({"kubernetes": {"env": ["A=1"]}}, r"kubernetes\.env must be a mapping"),
    ({"kubernetes": {"image_pull_secrets": [1]}}, r"kubernetes\.image_pull_secrets must be"),
    ({"kubernetes": {"watch_timeout": 0}}, r"kubernetes\.watch_timeout must be a whole number"),
    ({"kubernetes": {"pending_timeout": math.inf}}, r"kubernetes\.pending_timeout must be"),
])
def test_bad_values_are_named_with_their_file_and_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=rf"^\.gitpipe/config\.yaml: {message}") as caught:
        check_file(data, SOURCE)
    assert caught.value.hint


def test_a_typo_of_a_section_or_key_gets_a_did_you_mean() -> None:
    with pytest.raises(BadInputError) as caught:
        check_file({"kubernetes": {"namspace": "ml"}}, SOURCE)
    assert "did you mean 'namespace'?" in str(caught.value)
    with pytest.raises(BadInputError, match="unknown section 'remote'") as caught:
        check_file({"remote": {}}, SOURCE)
    assert "did you mean 'remotes'?" in str(caught.value)


def test_a_remote_needs_a_url_from_one_of_the_files() -> None:
    check_merged({"remotes": {"s": {"url": "/x", "profile": "p"}}}, lambda name: SOURCE)
    with pytest.raises(BadInputError, match=r"^local: remotes\.s has no url"):
        check_merged({"remotes": {"s": {"profile": "p"}}}, lambda name: "local")


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5", ""])
def test_gitpipe_jobs_must_be_a_whole_number(text: str) -> None:
    with pytest.raises(BadInputError, match="GITPIPE_JOBS must be a whole number"):
        jobs_from_environment(text)
    assert jobs_from_environment("3") == 3


def test_a_remote_name_with_a_control_character_is_refused() -> None:
    import pytest

    from gitpipe.core.errors import BadInputError
    from gitpipe.pipeline.configcheck import check_file

    with pytest.raises(BadInputError, match="is not a name"):
        check_file({"remotes": {"c\nd": {"url": "/tmp/x"}}}, ".gitpipe/config.yaml")
