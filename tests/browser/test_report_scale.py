"""The report at scale, measured in the browser, not asserted: 1,000 stages, and
three stages of 365 daily partitions after a full run. The figures go to
report-load-times.json in the test artifacts (docs/howto/report.md quotes them)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import artifacts_dir, console_errors, load_seconds, open_page
from tests.conftest import Repo

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
YEAR = {"by": "date", "start": "2024-01-01", "end": "2024-12-30"}


def thousand_stages() -> dict[str, Any]:
    """Each stage reads one to three of the 50 stages before it."""
    pick = random.Random(20)
    stages: dict[str, Any] = {}
    for n in range(1000):
        earlier = range(max(0, n - 50), n)
        deps = sorted(pick.sample(earlier, min(len(earlier), pick.randint(1, 3))))
        stages[f"s{n:04d}"] = {"cmd": f"echo {n} > o{n}", "deps": [f"o{d}" for d in deps],
                               "outs": [f"o{n}"]}
    return stages


def year_of_partitions() -> dict[str, Any]:
    return {"ingest": {"partition": YEAR, "cmd": "mkdir -p in && echo ${date} > in/${date}",
                       "outs": ["in/${date}"]},
            "clean": {"partition": YEAR, "cmd": "mkdir -p cl && cp in/${date} cl/",
                      "deps": ["in/${date}"], "outs": ["cl/${date}"]},
            "score": {"partition": YEAR, "cmd": "mkdir -p sc && cp cl/${date} sc/",
                      "deps": ["cl/${date}"], "outs": ["sc/${date}"]}}


def measure(browser: Any, repo: Repo, name: str) -> dict[str, float]:
    started = time.monotonic()
    repo.run("report", "-o", "scale.html", check=True)
    written = time.monotonic() - started
    page = repo.path / "scale.html"
    open_page(browser, page)
    assert console_errors(browser) == []
    figures = {"write_seconds": round(written, 2), "load_seconds": round(load_seconds(browser), 3),
               "bytes": page.stat().st_size}
    browser.save_screenshot(str(artifacts_dir() / f"report-{name}.png"))
    _record(name, figures)
    return figures


def _record(name: str, figures: dict[str, float]) -> None:
    path = artifacts_dir() / "report-load-times.json"
    found = json.loads(path.read_text()) if path.exists() else {}
    found[name] = figures
    path.write_text(json.dumps(found, indent=2) + "\n")
    print(name, figures)  # a measurement, shown with -s


def css(browser: Any, selector: str) -> list[Any]:
    return browser.find_elements("css selector", selector)  # type: ignore[no-any-return]


def test_a_thousand_stages(browser: Any, repo: Repo) -> None:
    repo.spec(thousand_stages(), commit="spec")
    measure(browser, repo, "1000-stages")
    assert len(css(browser, "g.node")) == 1000
    from selenium.webdriver.common.keys import Keys

    browser.find_element("id", "find").send_keys("s0999", Keys.ENTER)  # found, shown, selected
    assert "s0999: never run" in browser.find_element("id", "details").text
    css(browser, 'g.node[data-id="s0500"]')[0].click()
    assert "s0500: never run" in browser.find_element("id", "details").text


def test_a_year_of_three_partitioned_stages(browser: Any, repo: Repo) -> None:
    repo.spec(year_of_partitions(), commit="spec")
    repo.run("repro", "-j", "4", check=True)
    (Path(repo.path) / "in" / "2024-03-01").write_text("changed\n")
    measure(browser, repo, "365x3-partitions")
    assert len(css(browser, "table.grid td[data-task]")) == 365 * 3
    assert len(css(browser, "g.bar")) == 365 * 3
    stale = css(browser, 'td[data-task="ingest@2024-03-01"]')[0]
    assert stale.get_attribute("class") == "s1" and stale.text == "!"
