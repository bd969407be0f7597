"""A remote's record of what it holds (storage/seen.py) is keyed by the
storage its URL reaches: a variable that moves the same URL to other storage
makes another key, or a push to the second storage would skip what the
first holds."""

from __future__ import annotations

import pytest

from gitpipe.storage.urls import storage_identity


@pytest.mark.parametrize(("url", "variable"), [
    ("az://container/p", "AZURE_STORAGE_ACCOUNT_NAME"),
    ("abfs://container/p", "AZURE_STORAGE_CONNECTION_STRING"),
    ("gs://bucket/p", "STORAGE_EMULATOR_HOST"),
    ("s3://bucket/p", "AWS_ENDPOINT_URL_S3"),
])
def test_a_variable_that_moves_the_url_makes_another_storage(
        monkeypatch: pytest.MonkeyPatch, url: str, variable: str) -> None:
    monkeypatch.setenv(variable, "one")
    first = storage_identity(url, {})
    monkeypatch.setenv(variable, "two")
    assert storage_identity(url, {}) != first
    monkeypatch.setenv(variable, "one")
    assert storage_identity(url, {}) == first


def test_a_variable_that_says_who_asks_keeps_the_storage(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "one")
    first = storage_identity("az://container/p", {})
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "two")
    assert storage_identity("az://container/p", {}) == first
