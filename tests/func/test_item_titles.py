"""How the items of a foreach stage are named where many share a line: the
variable the spec wrote (`${item}` for a list of values, where no `${key}` is
defined) and two items as two task names, not a range between them."""

from __future__ import annotations

import pytest

from tests.conftest import Repo

SWEEP = {"foreach": ["linear", "tree"],
         "do": {"cmd": "echo ${item} > model-${item}.txt", "outs": ["model-${item}.txt"]}}
REPORT = {"cmd": "cat model-linear.txt model-tree.txt > report.txt",
          "deps": ["model-linear.txt", "model-tree.txt"], "outs": ["report.txt"]}


def built(repo: Repo) -> Repo:
    repo.spec({"train": SWEEP, "report": REPORT})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("built")
    for name in ("linear", "tree"):
        (repo.path / f"model-{name}.txt").unlink()
    return repo


@pytest.mark.parametrize("command", [("status",), ("repro", "--dry-run"), ("repro",)])
def test_items_of_a_list_share_a_line_with_the_specs_own_item_variable(
        repo: Repo, command: tuple[str, ...]) -> None:
    done = built(repo).run(*command)
    assert done.returncode == 0, done.stderr
    assert "model-${item}.txt missing" in done.stdout, done.stdout
    assert "${key}" not in done.stdout  # a list's foreach defines no ${key}


def test_diff_names_a_list_items_out_with_item(repo: Repo) -> None:
    built(repo).run("repro", check=True)
    repo.spec({"train": {**SWEEP, "do": {**SWEEP["do"], "cmd": "echo ${item} x > "
                                                             "model-${item}.txt"}},
               "report": REPORT})
    repo.run("repro", check=True)
    text = repo.run("diff", check=True).stdout
    assert "    outs: model-${item}.txt modified\n" in text, text


def test_two_items_read_as_two_task_names_not_a_range(repo: Repo) -> None:
    status = built(repo).run("status").stdout
    assert "train@linear, train@tree (2 of 2):\n" in status, status
    assert "    upstream: train@linear, train@tree (2)\n" in status, status
    assert " … " not in status
    dag = repo.run("dag", "--format", "list", check=True).stdout
    assert "train@linear, train@tree (2)" in dag, dag


def test_three_items_or_more_keep_their_run(repo: Repo) -> None:
    repo.spec({"train": {**SWEEP, "foreach": ["a", "b", "c", "e"]}})
    repo.run("init", check=True)
    status = repo.run("status").stdout
    assert "train@a … e (4 of 4):\n" in status, status
    repo.run("repro", check=True)
    for name in ("a", "b", "c"):
        (repo.path / f"model-{name}.txt").unlink()
    status = repo.run("status").stdout
    assert "train@a … c (3 of 4):\n" in status, status


def test_dates_after_the_first_run_are_not_named_with_their_stage_again(repo: Repo) -> None:
    repo.spec({"daily": {"partition": {"by": "date", "start": "2024-01-01",
                                       "end": "2024-01-05"},
                         "cmd": "echo ${date} > d-${date}.txt", "outs": ["d-${date}.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    for day in ("01", "02", "04"):
        (repo.path / f"d-2024-01-{day}.txt").unlink()
    status = repo.run("status").stdout
    assert "daily@2024-01-01, 2024-01-02, 2024-01-04 (3 of 5):\n" in status, status
