"""Differential properties of the kinds of stage the other property tests leave
out, and of `status --rev`.

Kinds: a foreach stage whose items come from a vars file (items added and
removed, one item's data edited), a stage whose `frozen:` is declared and taken
back, a `persist: true` stage, a stage with its own `wdir`. Before each random
edit a repro leaves nothing stale and a status seals that answer; after it
`status --json` is answered as the console script answers it (its seal,
twice), by the full path with the stat cache, and from a from-scratch copy,
and the four agree. (An `always_changed` stage is never a no-op: no seal.)

Revisions: `status --rev REV` (every dep read from git objects, a directory by
the manifest of the commit's files) against `git checkout REV` followed by a
`status`, after random commits to a tracked directory dep holding a subfolder,
a `.gitpipeignore` and a symlink to a file outside it, a symlink dep, an
executable script and a frozen flag.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitpipe.fastpath import seal
from tests.conftest import RACY_SECONDS, Repo
from tests.func.test_property import status_answers
from tests.func.test_staleness_holes import stale_after_checkout, stale_at

ITEMS = ("us", "uk", "fr", "de")
KIND_EDITS = st.tuples(
    st.sampled_from(["item_data", "items", "frozen", "persist_in", "wdir_in", "shared"]),
    st.integers(0, 9))


def kinds_spec(frozen: bool) -> str:
    return f"""vars:
- items.yaml
stages:
  each:
    foreach: ${{items}}
    do:
      cmd: cat data/${{item}}.csv shared.txt > out/${{item}}.txt
      deps: ['data/${{item}}.csv', shared.txt]
      outs: ['out/${{item}}.txt']
  keep:
    cmd: cat in/p.txt >> kept.txt
    deps: [in/p.txt]
    outs: [kept.txt]
    persist: true
  still:
    cmd: cat shared.txt > still.txt
    deps: [shared.txt]
    outs: [still.txt]
    frozen: {"true" if frozen else "false"}
  inner:
    cmd: cat w.txt ../shared.txt > w.out
    wdir: sub
    deps: [w.txt, ../shared.txt]
    outs: [w.out]
"""


def kinds_pipeline(repo: Repo) -> dict[str, object]:
    state: dict[str, object] = {"items": ["us", "uk"], "frozen": False}
    (repo.path / "out").mkdir()
    repo.gen({**{f"data/{item}.csv": f"{item}\n" for item in ITEMS}, "shared.txt": "s\n",
              "in/p.txt": "p0\n", "sub/w.txt": "w0\n"})
    write_kinds(repo, state)
    repo.run("init", check=True)
    repo.commit("start")
    return state


def write_kinds(repo: Repo, state: dict[str, object]) -> None:
    """Each file written where its text changes (the items live in the vars file alone)."""
    items = list(state["items"])  # type: ignore[call-overload]
    for name, text in (("items.yaml", f"items: [{', '.join(items)}]\n"),
                       ("gitpipe.yaml", kinds_spec(bool(state["frozen"])))):
        path = repo.path / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def apply_kind_edit(repo: Repo, state: dict[str, object], kind: str, value: int) -> None:
    items: list[str] = state["items"]  # type: ignore[assignment]
    if kind == "item_data":
        (repo.path / f"data/{ITEMS[value % len(ITEMS)]}.csv").write_text(f"v{value}\n")
    elif kind == "items":  # an item added, or one taken out (one stays)
        item = ITEMS[value % len(ITEMS)]
        if item not in items:
            items.append(item)
        elif len(items) > 1:
            items.remove(item)
        write_kinds(repo, state)
    elif kind == "frozen":
        state["frozen"] = not state["frozen"]
        write_kinds(repo, state)
    elif kind == "persist_in":
        (repo.path / "in/p.txt").write_text(f"p{value % 3}\n")
    elif kind == "wdir_in":
        (repo.path / "sub/w.txt").write_text(f"w{value % 3}\n")
    elif kind == "shared":
        (repo.path / "shared.txt").write_text(f"s{value % 3}\n")


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(KIND_EDITS, min_size=1, max_size=3))
@example(edits=[("items", 2), ("frozen", 0), ("shared", 1), ("item_data", 2)])
def test_kinds_of_stage_sealed_unsealed_and_scratch_agree(edits: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "repo").mkdir()
        repo = Repo(Path(tmp) / "repo")
        state = kinds_pipeline(repo)
        for kind, value in edits:
            done = repo.run("repro")
            assert done.returncode == 0, done.stderr
            repo.age()
            # Nothing stale (the answer sealed), then the same answer from the seal
            checked, again = repo.run("status", "--check"), repo.run("status")
            assert checked.returncode == 0 and checked.stdout == again.stdout, checked.stdout
            assert Path(str(seal.seal_path(str(repo.path), "status"))).exists()
            apply_kind_edit(repo, state, kind, value)
            time.sleep(RACY_SECONDS)  # not repo.age(): the other files keep the seal's times
            answers = status_answers(repo, Path(tmp) / "scratch")
            assert all(answer == answers[0] for answer in answers), (kind, value, answers)


# status --rev against a checkout -----------------------------------------------------

REV_EDITS = st.tuples(
    st.sampled_from(["file", "nested", "add", "remove", "rules", "link_text", "link_target",
                     "top_link", "chmod", "frozen", "untracked"]),
    st.integers(0, 9))


def rev_spec(frozen: bool) -> dict[str, object]:
    return {
        "conf": {"cmd": "ls -R conf > conf.txt", "deps": ["conf"], "outs": ["conf.txt"]},
        "tool": {"cmd": "sh run.sh > tool.txt", "deps": ["run.sh", "link.txt"],
                 "outs": ["tool.txt"], "frozen": frozen},
    }


def rev_pipeline(repo: Repo) -> None:
    repo.gen({"conf/a.yaml": "a: 1\n", "conf/deep/b.yaml": "b: 1\n",
              "conf/.gitpipeignore": "*.tmp\n", "conf/j.tmp": "j\n",
              "shared/x.txt": "x\n", "shared/y.txt": "y\n",
              "run.sh": "#!/bin/sh\ncat link.txt\n"})
    os.symlink("../shared/x.txt", repo.path / "conf/cur.txt")  # out of the folder, inside
    os.symlink("shared/x.txt", repo.path / "link.txt")
    repo.spec(rev_spec(False))
    repo.run("init", check=True)
    repo.commit("start")
    repo.run("repro", check=True)
    repo.commit("built")


def apply_rev_edit(repo: Repo, kind: str, value: int) -> None:
    path = repo.path
    if kind == "file":
        (path / "conf/a.yaml").write_text(f"a: {value}\n")
    elif kind == "nested":
        (path / "conf/deep/b.yaml").write_text(f"b: {value}\n")
    elif kind == "add":
        (path / f"conf/deep/n{value % 3}.yaml").write_text(f"n: {value}\n")
    elif kind == "remove":
        for extra in sorted((path / "conf/deep").glob("n*.yaml"))[:1]:
            extra.unlink()
    elif kind == "rules":
        rules = path / "conf/.gitpipeignore"
        rules.write_text("# none\n" if rules.read_text() == "*.tmp\n" else "*.tmp\n")
    elif kind in ("link_text", "top_link"):
        link = path / ("conf/cur.txt" if kind == "link_text" else "link.txt")
        prefix = "../" if kind == "link_text" else ""
        now = os.readlink(link)
        os.unlink(link)
        os.symlink(f"{prefix}shared/{'y' if now.endswith('x.txt') else 'x'}.txt", link)
    elif kind == "link_target":  # a committed edit of what both links may lead to
        (path / "shared/x.txt").write_text(f"x {value}\n")
    elif kind == "chmod":
        script = path / "run.sh"
        os.chmod(script, os.stat(script).st_mode ^ 0o111)
    elif kind == "frozen":
        frozen = "frozen: true" in repo.read("gitpipe.yaml")
        repo.spec(rev_spec(not frozen))
    elif kind == "untracked":  # never committed: a checkout keeps it, --rev reads it
        (path / "conf/deep/local.yaml").write_text(f"l: {value}\n")
        return
    repo.git("add", "-A", "--", ".", ":!conf/deep/local.yaml")
    repo.git("commit", "-q", "--allow-empty", "-m", kind)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(REV_EDITS, min_size=1, max_size=5), back=st.integers(0, 5))
@example(edits=[("link_text", 0), ("link_target", 1), ("top_link", 0), ("untracked", 2)],
         back=1)
def test_status_at_a_revision_agrees_with_a_checkout(edits: list[tuple[str, int]],
                                                     back: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "repo").mkdir()
        repo = Repo(Path(tmp) / "repo")
        rev_pipeline(repo)
        for kind, value in edits:
            apply_rev_edit(repo, kind, value)
        commits = repo.git("rev-list", "HEAD").split()
        # HEAD, one drawn, and the commit the lock was built at (nothing stale
        # there but what the work tree's untracked files change)
        for rev in {commits[0], commits[min(back, len(commits) - 1)], commits[-2]}:
            assert stale_at(repo, rev) == stale_after_checkout(repo, rev), (rev, edits)
        listed = json.loads(repo.run("status", "--rev", "HEAD", "--json").stdout)
        assert {row["name"] for row in listed["stages"]} == {"conf", "tool"}
