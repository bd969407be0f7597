"""`gitpipe diff`: one revision against the work tree, as `git diff REV` does;
two revisions against each other."""

from __future__ import annotations

import json

from tests.conftest import Repo
from tests.func.test_git_integration import built


def changed(repo: Repo, *revs: str) -> dict[str, list[str]]:
    done = repo.run("diff", *revs, "--json")
    assert done.returncode == 0, done.stderr
    return {row["task"]: row["changes"] for row in json.loads(done.stdout)}


def test_a_clean_work_tree_differs_from_nothing(repo: Repo) -> None:
    built(repo)
    assert repo.run("diff", check=True).stdout == "no stage differs between HEAD and the " \
        "work tree\n"
    assert changed(repo, "HEAD") == {}
    assert repo.ran() == []


def test_params_edited_but_not_run_show_against_head(repo: Repo) -> None:
    built(repo)
    repo.gen({"params.yaml": {"train": {"lr": 0.7}}})
    before = repo.git("status", "--porcelain")
    found = changed(repo, "HEAD")
    assert list(found) == ["train"]
    # The param explains the fingerprint it moved: no line of its own.
    assert found["train"] == ["params: train.lr 0.1 -> 0.7"]
    assert changed(repo) == found  # no revision: HEAD
    assert changed(repo, "HEAD", "HEAD") == {}  # two revisions: the commits alone
    assert repo.ran() == [] and repo.git("status", "--porcelain") == before


def test_outs_are_the_work_tree_s_own_bytes(repo: Repo) -> None:
    built(repo)
    locked = repo.read("gitpipe.lock")
    (repo.path / "model.txt").write_text("made by hand\n")
    found = changed(repo)
    assert list(found) == ["train"]
    [line] = found["train"]
    assert line.startswith("outs: model.txt xxh3:") and " -> xxh3:" in line
    (repo.path / "model.txt").unlink()
    assert changed(repo) == {"train": [line.split(" -> ")[0] + " -> none"]}
    assert repo.read("gitpipe.lock") == locked


def test_an_older_revision_against_the_work_tree(repo: Repo) -> None:
    built(repo)
    repo.gen({"params.yaml": {"train": {"lr": 0.7}}})
    repo.run("repro", check=True)
    repo.commit("v2")
    between_commits = changed(repo, "HEAD~1", "HEAD")
    assert "params: train.lr 0.1 -> 0.7" in between_commits["train"]
    assert changed(repo, "HEAD~1") == between_commits
    text = repo.run("diff", "HEAD~1", check=True).stdout
    assert text.startswith("train:\n") and "    params: train.lr 0.1 -> 0.7\n" in text
    assert changed(repo, "HEAD") == {}


def test_a_stage_added_in_the_work_tree(repo: Repo) -> None:
    built(repo)
    repo.gen({"gitpipe.yaml": repo.read("gitpipe.yaml") + (
        "  report:\n    cmd: cat model.txt > report.txt\n    deps: [model.txt]\n"
        "    outs: [report.txt]\n")})
    assert changed(repo) == {"report": ["added"]}


def _metric_changed(repo: Repo, old: str, new: str) -> None:
    """A stage whose metric `acc` was `old` at the last commit and is `new`,
    run, in the work tree."""
    repo.gen({"mk.sh": '#!/bin/sh\nprintf \'{"acc": %s}\\n\' "$(cat v)" > m.json\n',
              "v": f"{old}\n"})
    (repo.path / "mk.sh").chmod(0o755)
    repo.spec({"ev": {"cmd": "./mk.sh", "deps": ["v", "mk.sh"], "metrics": ["m.json"]}})
    repo.run("repro", check=True)
    repo.commit(old)
    repo.gen({"v": f"{new}\n"})
    repo.run("repro", check=True)


def test_diff_names_a_changed_metric_by_its_value(repo: Repo) -> None:
    _metric_changed(repo, "0.9", "0.95")
    for args in (("diff",), ("diff", "HEAD")):
        assert "metrics: m.json:acc 0.9 -> 0.95 (+0.05)" in repo.run(*args, check=True).stdout
    repo.commit("0.95")
    done = repo.run("diff", "HEAD~1", "HEAD", check=True)
    assert "metrics: m.json:acc 0.9 -> 0.95 (+0.05)" in done.stdout


def test_diff_shows_a_metric_s_float_as_metrics_diff_does(repo: Repo) -> None:
    """`metrics diff` says `0.726 -> 0.3` (floats to 12 digits); `gitpipe
    diff` said `0.7259999999999999 -> 0.30000000000000004
    (-0.4259999999999999)` of the same file. --json keeps the values as
    written, as `metrics diff --json` does."""
    _metric_changed(repo, "0.7259999999999999", "0.30000000000000004")
    shown = "m.json:acc 0.726 -> 0.3 (-0.426)"
    table = repo.run("metrics", "diff", check=True).stdout
    assert "0.726 -> 0.3" in table and "(-0.426)" in table, table
    assert f"metrics: {shown}" in repo.run("diff", check=True).stdout
    assert "metrics: m.json:acc 0.7259999999999999 -> 0.30000000000000004 " \
        "(-0.4259999999999999)" in changed(repo, "HEAD")["ev"]


def test_diff_names_the_deps_and_modules_that_moved_a_fingerprint(repo: Repo) -> None:
    repo.gen({"t.py": "import util\nprint(util.X, open('data.txt').read())\n",
              "util.py": "X = 1\n", "data.txt": "one\n"})
    repo.spec({"t": {"cmd": "python3 t.py > o.txt", "deps": ["data.txt", {"python": "t.py"}],
                     "outs": ["o.txt"]}})
    repo.run("repro", check=True)
    repo.commit("v1")
    repo.gen({"util.py": "X = 2\n", "data.txt": "two\n"})
    repo.run("repro", check=True)
    lines = changed(repo, "HEAD")["t"]
    kinds = [line.split(" ")[0] for line in lines]
    assert kinds == ["deps:", "python:", "outs:"], lines
    assert lines[0].startswith("deps: data.txt ") and lines[1].startswith("python: util.py xxh3:")
    repo.commit("v2")
    assert changed(repo, "HEAD~1", "HEAD") == {"t": lines}


def test_diff_is_in_pipeline_order_with_partitions_grouped(repo: Repo) -> None:
    # `zeta` runs first and `alpha` after it: diff lists them as status does,
    # not by name, and a stage's partitions that changed alike are one entry
    # (their digests differ, so the entry says what changed without them).
    repo.gen({f"raw/2024-01-0{day}.csv": f"{day}\n" for day in range(1, 6)})
    repo.spec({
        "zeta": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-05"},
                 "cmd": "mkdir -p feat && cp raw/${date}.csv feat/${date}.csv",
                 "deps": ["raw/${date}.csv"], "outs": ["feat/${date}.csv"]},
        "alpha": {"cmd": "cat feat/* > report.txt", "deps": ["feat/"], "outs": ["report.txt"]},
    })
    today = {"GITPIPE_TODAY": "2024-01-10"}
    repo.run("repro", check=True, env=today)
    repo.commit("v1")
    for day in (1, 2, 3, 5):
        repo.gen({f"raw/2024-01-0{day}.csv": f"{day} again\n"})
    repo.run("repro", check=True, env=today)
    text = repo.run("diff", check=True, env=today).stdout.splitlines()
    assert text[:4] == ["zeta@2024-01-01 … 2024-01-03, 2024-01-05 (4 of 5):",
                        "    deps: raw/${date}.csv modified",
                        "    outs: feat/${date}.csv modified",
                        "alpha:"], text
    assert text[4:] == ["    deps: feat/ modified", "    outs: report.txt modified"], text
    hashed = repo.run("diff", "--show-hash", check=True, env=today).stdout.splitlines()
    # each partition with its own digests, as dvc diff --show-hash gives each file's
    titles = [line for line in hashed if not line.startswith("    ")]
    assert titles == [f"zeta@2024-01-0{day}:" for day in (1, 2, 3, 5)] + ["alpha:"], hashed
    assert hashed[1].startswith("    deps: raw/2024-01-01.csv ") and " -> " in hashed[1], hashed
    assert hashed[2].startswith("    outs: feat/2024-01-01.csv xxh3:"), hashed
    assert hashed[-2].startswith("    deps: feat/ xxh3:") and " -> xxh3:" in hashed[-2]
    assert list(changed(repo)) == [f"zeta@2024-01-0{day}" for day in (1, 2, 3, 5)] + ["alpha"]


def test_a_fingerprint_change_is_a_line_only_where_nothing_else_explains_it(
        repo: Repo) -> None:
    # An env change moves the fingerprint and no other line says so; the
    # items of a foreach stage changed alike say it once.
    repo.spec({"t": {"foreach": ["a", "b"], "do": {
        "cmd": "echo ${item} $MODE > o-${item}.txt", "env": {"MODE": "fast"},
        "outs": ["o-${item}.txt"]}}})
    repo.run("repro", check=True)
    repo.commit("fast")
    repo.spec({"t": {"foreach": ["a", "b"], "do": {
        "cmd": "echo ${item} $MODE > o-${item}.txt", "env": {"MODE": "slow"},
        "outs": ["o-${item}.txt"]}}})
    found = changed(repo)
    assert [line.split(" ")[0] for line in found["t@a"]] == ["fingerprint"], found
    assert repo.run("diff", check=True).stdout == \
        "t@a, t@b (2 of 2):\n    fingerprint changed\n"
    repo.run("repro", check=True)
    text = repo.run("diff", check=True).stdout
    assert text == \
        "t@a, t@b (2 of 2):\n    fingerprint changed\n    outs: o-${item}.txt modified\n"
