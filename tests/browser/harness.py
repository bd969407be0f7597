"""Headless Chromium driven through chromedriver (selenium), for the report's
browser tests and the docs screenshot (scripts/report_screenshot.py).

Debian's packages (`make browser` installs them): /usr/bin/chromium and
/usr/bin/chromedriver. Chromium starts with a fresh profile and without its
background services, so it asks the network for nothing the page did not ask.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("GITPIPE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("GITPIPE_CHROMEDRIVER", "/usr/bin/chromedriver"))
REQUIRE = "GITPIPE_BROWSER_REQUIRE"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")
READY_SECONDS = 60


def missing() -> str | None:
    """Why no browser can run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.is_file():
            return f"{path} is missing (make browser installs Debian's chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def artifacts_dir() -> Path:
    """Where screenshots and measurements go: $GITPIPE_TEST_ARTIFACTS, else build/test-artifacts."""
    found = Path(os.environ.get("GITPIPE_TEST_ARTIFACTS") or ROOT / "build" / "test-artifacts")
    found.mkdir(parents=True, exist_ok=True)
    return found


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium (a selenium WebDriver) with its console and network logged."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="gitpipe-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        driver.get("about:blank")  # away from the new-tab page and what it loads
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, path: Path) -> None:
    """Load the file and wait until its script has drawn everything."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("performance")  # forget what came before this page
    driver.get_log("browser")
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, READY_SECONDS).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


def console_errors(driver: Any) -> list[str]:
    """The console's errors (and failed loads) since the page was opened."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] in ("SEVERE", "ERROR")]


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page asked for since it was opened, from the DevTools log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def load_seconds(driver: Any) -> float:
    """From navigation start to the end of the load event (the script has run)."""
    return float(driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return (n.loadEventEnd - n.startTime) / 1000;"))
