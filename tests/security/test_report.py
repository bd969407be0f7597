"""Attacks on `gitpipe report`: markup planted where the page shows text (run
history rows in .gitpipe/state.db, params values, commit messages) must stay
data, and a report of a project never initialised writes nothing but the page."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.func.test_report import page_data
from tests.security.conftest import assert_only_changed, snapshot

MARKUP = "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>"


def test_markup_in_the_run_history_and_git_stays_data(repo: Repo, tmp_path: Path) -> None:
    repo.spec({"a": {"cmd": "cp params.yaml a.txt", "deps": ["params.yaml"], "params": ["x"],
                     "outs": ["a.txt"]}})
    repo.gen({"params.yaml": {"x": "plain"}}, commit=MARKUP)
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"x": MARKUP}})
    with sqlite3.connect(repo.path / ".gitpipe" / "state.db") as db:
        db.execute("INSERT INTO runs (task, started, duration, result, bytes_in, bytes_out, "
                   "invocation) VALUES (?, 1e9, 1, ?, 0, 0, 'zz')", (MARKUP, MARKUP))
    before = snapshot(tmp_path)
    done = repo.run("report", "-o", "-")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    html = done.stdout
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert "<img" not in html and "<!--" not in html
    data = page_data(html)
    assert data["timeline"]["bars"][-1]["task"] == MARKUP  # shown, as text
    state = [f"repo/.gitpipe/state.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    assert_only_changed(before, snapshot(tmp_path), state)  # the stat cache, as status


def test_no_project_no_writes_but_the_page(repo: Repo, tmp_path: Path) -> None:
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}}, commit="never initialised")
    before = snapshot(tmp_path)
    done = repo.run("report", "-o", "page.html")
    assert done.returncode == 0 and "no run history yet" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/page.html"])
    assert not (repo.path / ".gitpipe").exists()


@pytest.mark.parametrize("output", [None, "pages/page.html"])
def test_the_page_is_never_written_through_a_committed_symlink(repo: Repo, tmp_path: Path,
                                                               output: str | None) -> None:
    victim = tmp_path / "victim"
    victim.write_text("the user's ~/.bashrc\n")
    (tmp_path / "outside").mkdir()
    (repo.path / "gitpipe-report.html").symlink_to("../victim")
    (repo.path / "pages").symlink_to("../outside")
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}}, commit="links to the outside")
    before = snapshot(tmp_path)
    done = repo.run("report", *(("-o", output) if output else ()))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    shown = output or "gitpipe-report.html"
    why = "lies outside the repository through a symlinked folder" if output else "is a symlink"
    assert f"error: '{shown}' {why}: gitpipe writes the report as a plain file" in done.stderr
    assert_only_changed(before, snapshot(tmp_path))


def test_a_run_trace_is_never_written_through_a_committed_symlink(repo: Repo,
                                                                  tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("the user's ~/.bashrc\n")
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}})
    (repo.path / "trace.json").symlink_to("../victim")
    repo.commit("a trace.json that leads out")
    repo.run("repro", check=True)
    before = snapshot(tmp_path)
    done = repo.run("runs", "--trace", "trace.json")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert ("error: 'trace.json' is a symlink: gitpipe writes the trace as a plain file"
            in done.stderr), done.stderr
    assert_only_changed(before, snapshot(tmp_path))
    written = repo.run("runs", "--trace", "plain.json", check=True)
    assert "wrote 1 run of 1 invocation" in written.stderr
    assert (repo.path / "plain.json").read_text().startswith("{")


def test_a_committed_link_under_the_pages_name_hides_nothing_from_git(
        repo: Repo, tmp_path: Path) -> None:
    """The default page is added to .gitignore before it is written: the line
    named where a committed link led (`notes/todo.md`, the file the user writes
    next), and git then left that file out of every commit."""
    (repo.path / "gitpipe-report.html").symlink_to("notes/todo.md")
    repo.spec({"a": {"cmd": "echo > a.txt", "outs": ["a.txt"]}}, commit="a link")
    repo.run("init", check=True)
    before = snapshot(tmp_path)
    done = repo.run("report")
    assert done.returncode == 2 and "is a symlink" in done.stderr, done.stderr
    assert "notes" not in done.stderr
    assert "notes" not in repo.read(".gitignore")
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe"])
