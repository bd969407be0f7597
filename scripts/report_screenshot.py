"""The docs' screenshot of `gitpipe report`: build the demo pipeline
(examples/demo.sh), change one more param so a stage is stale, write its
report, open it in headless Chromium (tests/browser/harness.py), select the
stale stage and save the whole page as docs/images/report-demo.png.

    python scripts/report_screenshot.py [OUT.png]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's gitpipe and test harness

from tests.browser.harness import chromium, missing, open_page  # noqa: E402

DEMO = ROOT / ".demo"
PAGE = ROOT / "build" / "demo-report.html"
DEFAULT_OUT = ROOT / "docs" / "images" / "report-demo.png"
WIDTH = 1280


def build_demo() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(["bash", str(ROOT / "examples" / "demo.sh")], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    params = DEMO / "params.yaml"
    params.write_text(params.read_text().replace("lr: 0.5", "lr: 0.9"))
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "gitpipe", "report", "-o", str(PAGE)], cwd=DEMO,
                   env=env, check=True, stdout=subprocess.DEVNULL)


def screenshot(out: Path) -> None:
    with chromium(WIDTH, 900) as driver:
        open_page(driver, PAGE)
        from selenium.webdriver.common.action_chains import ActionChains

        driver.find_element("css selector", 'g.node[data-id="train"]').click()
        ActionChains(driver).move_to_element(driver.find_element("tag name", "h1")).perform()
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))


def main() -> int:
    reason = missing()
    if reason is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    build_demo()
    screenshot(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
