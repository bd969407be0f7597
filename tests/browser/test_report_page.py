"""The report in a real browser (headless Chromium): it draws without console
errors and without asking the network for anything, its nodes, cells and bars
are there, a collapsed stage expands on click, a stale stage's reasons show on
hover, click and keyboard focus. A screenshot goes to the test artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import (
    artifacts_dir,
    console_errors,
    load_seconds,
    open_page,
    requested_urls,
)
from tests.conftest import Repo
from tests.func.test_report import reported_pipeline

pytestmark = pytest.mark.xdist_group("browser")


def opened(browser: Any, repo: Repo, name: str = "report.html") -> Path:
    page = repo.path / name
    repo.run("report", "-o", name, check=True)
    open_page(browser, page)
    return page


def css(browser: Any, selector: str) -> list[Any]:
    return browser.find_elements("css selector", selector)  # type: ignore[no-any-return]


def test_the_report_draws_offline_without_errors(browser: Any, repo: Repo) -> None:
    reported_pipeline(repo)
    page = opened(browser, repo)
    assert console_errors(browser) == []
    assert requested_urls(browser) == [page.resolve().as_uri()]
    for stage in ("prepare", "raw", "build", "train", "evaluate", "summarize"):
        assert len(css(browser, f'g.node[data-id="{stage}"]')) == 1, stage
    assert css(browser, 'g.node[data-id="train"]')[0].get_attribute("class") == "node s0"
    cells = css(browser, "table.grid td[data-task]")
    assert sorted(c.get_attribute("data-task") for c in cells) == [
        "build@uk", "build@us", "raw@2024-01-01", "raw@2024-01-02", "raw@2024-01-03"]
    assert {c.text for c in cells} == {"✓"}  # a glyph says the state without colour
    bars = {b.get_attribute("data-task"): b.get_attribute("class") for b in css(browser, "g.bar")}
    assert bars == {"prepare": "bar ran", "train": "bar failed", "evaluate": "bar restored",
                    "summarize": "bar restored"}
    metrics = browser.find_element("css selector", "table.metrics").text
    assert "third run" in metrics and "0.75" in metrics
    browser.save_screenshot(str(artifacts_dir() / "report.png"))


def test_a_collapsed_stage_expands_and_a_stale_one_explains(browser: Any, repo: Repo) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    reported_pipeline(repo)
    opened(browser, repo)
    raw = css(browser, 'g.node[data-id="raw"]')[0]
    assert raw.get_attribute("aria-expanded") == "false"
    assert css(browser, '#details button[data-task="raw@2024-01-02"]') == []
    raw.click()
    assert raw.get_attribute("aria-expanded") == "true"
    member = css(browser, '#details button[data-task="raw@2024-01-02"]')[0]
    assert member.text == "✓ 2024-01-02"
    member.click()
    assert "raw@2024-01-02: up to date" in browser.find_element("id", "details").text

    prepare = css(browser, 'g.node[data-id="prepare"]')[0]
    ActionChains(browser).move_to_element(prepare).perform()
    tip = browser.find_element("id", "tip")
    assert tip.is_displayed() and "deps: params.yaml modified" in tip.text
    prepare.click()
    assert "deps: params.yaml modified" in browser.find_element("id", "details").text

    ActionChains(browser).move_by_offset(0, 400).perform()
    browser.execute_script("document.getElementById('details').replaceChildren()")
    train = css(browser, 'g.node[data-id="train"]')[0]
    browser.execute_script("arguments[0].focus()", train)
    assert "its last run failed" in tip.text  # focus shows the tooltip, for the keyboard
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert "its last run failed" in browser.find_element("id", "details").text

    cell = css(browser, 'td[data-task="raw@2024-01-01"]')[0]
    assert cell.get_attribute("tabindex") == "0"  # one tab stop per grid
    browser.execute_script("arguments[0].focus()", cell)
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()
    focused = browser.switch_to.active_element
    assert focused.get_attribute("data-task") == "raw@2024-01-02"
    assert "raw@2024-01-02" in tip.text and tip.is_displayed()
    assert console_errors(browser) == []


def test_hostile_text_is_shown_as_text(browser: Any, repo: Repo) -> None:
    hostile = "</script><script>document.title='owned'</script><img src=x onerror=alert(1)>"
    repo.spec({"a": {"cmd": "cp params.yaml a.txt", "deps": ["params.yaml"], "params": ["x"],
                     "outs": ["a.txt"]}})
    repo.gen({"params.yaml": {"x": "plain"}}, commit="spec")
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"x": hostile}})
    page = opened(browser, repo)
    css(browser, 'g.node[data-id="a"]')[0].click()
    assert hostile in browser.find_element("id", "details").text
    assert browser.title.startswith("gitpipe report") and css(browser, "#details img") == []
    assert requested_urls(browser) == [page.resolve().as_uri()]
    assert console_errors(browser) == []


def test_a_project_without_history_says_so(browser: Any, repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}}, commit="spec")
    opened(browser, repo)
    assert "no run history yet" in browser.find_element("id", "summary").text
    assert "never run" in css(browser, 'g.node[data-id="a"]')[0].get_attribute("aria-label")
    assert load_seconds(browser) > 0


def test_a_timeline_of_one_run_says_one_run(browser: Any, repo: Repo) -> None:
    """`1 runs over 0.44 s on 1 slot.` read the note above a one-stage repro."""
    repo.spec({"only": {"cmd": "echo x > x.txt", "outs": ["x.txt"]}})
    repo.run("repro", check=True)
    opened(browser, repo)
    note = browser.find_element("css selector", "#timeline p.note").text
    assert ", 1 run over " in note and note.endswith(" on 1 slot."), note
