"""One headless Chromium for the browser tests; skipped with the reason where
it cannot run, unless GITPIPE_BROWSER_REQUIRE is set (CI), then failed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.harness import REQUIRE, chromium, missing


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = missing()
    if reason is not None:
        if os.environ.get(REQUIRE):
            pytest.fail(f"a browser is required ({REQUIRE} is set) but {reason}")
        pytest.skip(f"no headless browser: {reason}")
    with chromium() as driver:
        yield driver
