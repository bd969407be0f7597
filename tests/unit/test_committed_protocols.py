"""The protocol a committed remote's URL is judged by is the one fsspec
opens it with: read the same way for any text, or a URL could be judged as
one protocol and opened as another."""

from __future__ import annotations

from fsspec.core import split_protocol
from hypothesis import given
from hypothesis import strategies as st

from gitpipe.pipeline.committedoptions import url_protocol, url_protocol_problem

_PIECES = st.sampled_from(["s3", "S3", "file", "data", "dir", "://", ":", "/", "a", "b:", "::",
                           "x", "é", " ", "\t", "c:", "data:", "local", "http", "\\"])


@given(st.lists(_PIECES, max_size=8).map("".join))
def test_the_protocol_is_fsspec_s(url: str) -> None:
    if "::" in url:
        assert url_protocol_problem(url) is not None  # a chain is never judged part by part
        return
    assert url_protocol(url) == (split_protocol(url)[0] or "file")


def test_plain_paths_and_windows_drives_are_folders() -> None:
    for url in ("../store", "/srv/store", "c://store", "store:name", "~/store"):
        assert url_protocol(url) == "file"
        assert url_protocol_problem(url) is None
