"""The lists of what a committed remote may give, per protocol: what teams
commit (an endpoint, a region, encryption, addressing) passes; everything
else, and an allowed name holding another kind of value than its list says,
is refused with the option's dotted path."""

from __future__ import annotations

from typing import Any

import pytest

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline.config import _config
from gitpipe.pipeline.optionlists import option_problem


@pytest.mark.parametrize(("protocol", "options"), [
    ("s3", {"endpoint_url": "https://minio.example:9000", "profile": "team",
            "client_kwargs": {"region_name": "eu-west-1"},
            "config_kwargs": {"s3": {"addressing_style": "path"}, "signature_version": "s3v4",
                              "retries": {"max_attempts": 5}},
            "s3_additional_kwargs": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k"}}),
    ("s3a", {"anon": True, "requester_pays": True}),
    ("gs", {"project": "ml", "token": "anon"}),
    ("az", {"account_name": "teamstore"}),
    ("ssh", {"port": 2222, "username": "ci"}),
    ("https", {"headers": {"X-Team": "ml"}, "client_kwargs": {"headers": {"X-Team": "ml"}}}),
    ("webhdfs", {"user": "ml", "use_https": True}),
    ("hdfs", {"host": "namenode", "port": 8020}),
    ("file", {}),
])
def test_what_teams_commit_is_allowed(protocol: str, options: dict[str, Any]) -> None:
    assert option_problem(protocol, options) is None


@pytest.mark.parametrize(("protocol", "options", "path", "why"), [
    ("s3", {"config_kwargs": {"proxies": {"https": "http://x"}}}, "config_kwargs.proxies",
     "is not an option"),
    ("s3", {"client_kwargs": {"verify": "/etc/ca.pem"}}, "client_kwargs.verify",
     "must be true or false"),
    ("s3", {"client_kwargs": "text"}, "client_kwargs", "must be a mapping"),
    ("s3", {"endpoint_url": {"nested": "x"}}, "endpoint_url", "must be a plain value"),
    ("s3", {"endpoint_url": [{"nested": "x"}]}, "endpoint_url", "must be a plain value"),
    ("gs", {"token": "browser"}, "token", "must be one of anon, google_default, cloud"),
    ("gs", {"endpoint_url": "http://x"}, "endpoint_url", "is not an option"),
    ("az", {"connection_string": "BlobEndpoint=http://x"}, "connection_string",
     "is not an option"),
    ("ssh", {"known_hosts": None}, "known_hosts", "is not an option"),
    ("https", {"client_kwargs": {"auth": ["u", "p"]}}, "client_kwargs.auth", "is not an option"),
    ("https", {"headers": {"X": {"deeper": 1}}}, "headers.X", "must be a plain value"),
    ("file", {"endpoint_url": "http://x"}, "endpoint_url", "is not an option"),
    (None, {"anon": True}, "anon", "is not an option"),
    ("memory", {"anon": True}, "anon", "is not an option"),
])
def test_anything_else_is_refused_by_its_path(protocol: str | None, options: dict[str, Any],
                                              path: str, why: str) -> None:
    found = option_problem(protocol, options)
    assert found is not None
    assert found[0] == path
    assert found[1].startswith(why)


def _refused(committed: dict[str, Any], local: dict[str, Any]) -> str | None:
    try:
        _config(committed, local)
    except BadInputError as exc:
        return str(exc)
    return None


def test_the_protocol_judged_is_the_url_in_effect() -> None:
    """A committed s3 option beside the user's own local folder URL is judged
    as a folder's: the committed file cannot keep options meant for another
    protocol once the user's file chooses the storage."""
    committed = {"remotes": {"store": {"url": "s3://b/p", "endpoint_url": "http://x"}}}
    assert _refused(committed, {}) is None
    said = _refused(committed, {"remotes": {"store": {"url": "/srv/store"}}})
    assert said is not None and "remotes.store.endpoint_url" in said and "file://" in said


@pytest.mark.parametrize(("local", "refused"), [
    ({"password": "p"}, True),
    ({"password": "p", "url": "webhdfs://mine:9870/x"}, False),
    ({"user": "alice"}, False),
])
def test_a_local_secret_sent_as_is_needs_the_local_url(local: dict[str, Any],
                                                       refused: bool) -> None:
    committed = {"remotes": {"store": {"url": "webhdfs://cluster:9870/x"}}}
    said = _refused(committed, {"remotes": {"store": local}})
    assert (said is not None) is refused, said
    if refused:
        assert said is not None and "config.local.yaml: remotes.store.password" in said


def test_an_azure_secret_needs_the_account_from_the_local_file_too() -> None:
    committed = {"remotes": {"store": {"url": "az://c/p", "account_name": "theirs"}}}
    local = {"remotes": {"store": {"url": "az://c/p", "sas_token": "sv=…"}}}
    said = _refused(committed, local)
    assert said is not None and "gives its account_name" in said
    local["remotes"]["store"]["account_name"] = "ours"
    assert _refused(committed, local) is None
