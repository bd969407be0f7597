"""The report as one self-contained HTML file: the data (usecases/reportdata.py)
in a JSON block, the script and the styles inline, nothing fetched when opened.

Names, reasons and commit messages come from git: they reach the page only
inside the JSON block (with `<`, `>` and `&` escaped, so no text can close it)
and the script puts them in with textContent. A Content-Security-Policy
allows only this page's own script and styles, by hash, and no connection.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Any, NamedTuple

from gitpipe.project.root import Project
from gitpipe.usecases.reportdata import report_data

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>gitpipe report: {title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>gitpipe report: {title}</h1><p>generated {generated}</p></header>
<main>
<noscript><p class="note">This report draws its graph, grid, timeline and metrics with
JavaScript, which this viewer has turned off (many mail readers do): open the file in a
browser.</p></noscript>
<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2></section>
<section id="dag" aria-labelledby="dag-h"><h2 id="dag-h">Pipeline</h2>
<p class="note">Click a stage (or press Enter on it) for its reasons; a stage with partitions or
foreach items lists them. Hover or focus shows the same.</p>
<p><label>Find a stage <input id="find" type="search" autocomplete="off"></label></p>
<div class="scroll"><svg id="dag-svg" role="group" aria-label="the stage graph"></svg></div>
<div id="details" aria-live="polite"></div></section>
<section id="grid" aria-labelledby="grid-h"><h2 id="grid-h">Partitions and items</h2></section>
<section id="timeline" aria-labelledby="timeline-h">
<h2 id="timeline-h">Last repro or backfill</h2></section>
<section id="metrics" aria-labelledby="metrics-h"><h2 id="metrics-h">Metrics</h2></section>
</main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="gitpipe-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""


class Page(NamedTuple):
    """The page, and what its reader should be told on the terminal too."""

    html: str
    messages: list[str]


def build(project: Project, commits: int = 10) -> Page:
    """The report of `project`, with the metrics of `commits` commits back from HEAD."""
    data = report_data(project, commits)
    return Page(render(data), list(data["messages"]))


def render(data: dict[str, Any]) -> str:
    """The page for `data`: one string, nothing outside it."""
    css = _asset("reportpage.css")
    js = _asset("reportpage.js")
    policy = (f"default-src 'none'; img-src data:; style-src {_hash(css)}; "
              f"script-src {_hash(js)}")
    return PAGE.format(policy=policy, title=html.escape(str(data["root"])),
                       generated=html.escape(str(data["generated"])), css=css, js=js,
                       data=json_block(data))


def json_block(data: dict[str, Any]) -> str:
    """JSON that a `<script type="application/json">` holds whatever the strings
    say: no `<` (so no `</script>` or `<!--`), `>` or `&` appears raw."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files("gitpipe.usecases").joinpath(name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"
