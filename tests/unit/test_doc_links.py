"""Every relative link in README.md and docs/ leads to a file that exists (and
to a heading of it, when the link names one), and every `docs/….md` a page
mentions in passing is a page that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
MENTION = re.compile(r"\bdocs/[\w./-]+\.md\b")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


def prose(text: str) -> str:
    """The page without its fenced blocks: code is not navigation."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped,
    spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(page.read_text()), re.M):
        base = slug(heading)
        name, n = base, 1
        while name in found:  # GitHub numbers repeated headings
            name, n = f"{base}-{n}", n + 1
        found.add(name)
    return found


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            problems.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{target}: no heading '#{anchor}' in {dest.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_docs_page_mentioned_exists(page: Path) -> None:
    missing = sorted({m for m in MENTION.findall(page.read_text()) if not (ROOT / m).exists()})
    assert missing == []


def test_a_broken_link_and_a_missing_anchor_are_found(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# Title\n\n## The `seal`: why\n")
    page = tmp_path / "a.md"
    page.write_text("[ok](b.md#the-seal-why) [gone](c.md) [bad](b.md#nope)\n"
                    "```\n[in code](nowhere.md)\n```\n[web](https://example.com)\n")
    assert broken_links(page) == ["c.md: no such file", "b.md#nope: no heading '#nope' in b.md"]
