"""Runs of partitions, grouped upstream reasons and cuts (core/ranges.py), and the
exact ignore patterns of partitioned outs (pipeline/partitions.py)."""

from __future__ import annotations

import datetime as dt
import fnmatch

import pytest

from gitpipe.core.ranges import (
    cut,
    group_upstream,
    is_date,
    keys_text,
    positions_of,
    runs,
    runs_text,
    tasks_text,
    template,
)
from gitpipe.fastpath.render import tasks_by_kind
from gitpipe.pipeline.partitions import PartitionSpec, ignore_pattern

DAYS = [f"2024-01-{d:02d}" for d in range(1, 32)]
ORDER = {day: i for i, day in enumerate(DAYS)}


def test_consecutive_partitions_are_one_run_and_a_gap_starts_the_next() -> None:
    keys = ["2024-01-05", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-07"]
    assert runs(keys, ORDER) == [("2024-01-01", "2024-01-03"), ("2024-01-05", "2024-01-05"),
                                 ("2024-01-07", "2024-01-07")]
    assert keys_text("raw", keys, ORDER, total=31) == \
        "raw@2024-01-01 … 2024-01-03, 2024-01-05, 2024-01-07 (5 of 31)"


def test_two_keys_that_follow_each_other_are_named_both_not_as_a_range() -> None:
    assert runs(["2024-01-02", "2024-01-03"], ORDER) == [
        ("2024-01-02", "2024-01-02"), ("2024-01-03", "2024-01-03")]
    assert keys_text("raw", ["2024-01-02", "2024-01-03"], ORDER) == \
        "raw@2024-01-02, 2024-01-03 (2)"


def test_each_run_of_items_is_named_with_its_stage() -> None:
    # `train@a … c, e` would read `e` as a stage beside train.
    order = {key: at for at, key in enumerate(["a", "b", "c", "d", "e"])}
    assert keys_text("train", ["a", "b", "c", "e"], order, total=5) == \
        "train@a … c, train@e (4 of 5)"
    assert keys_text("train", ["a", "b"], order) == "train@a, train@b (2)"


def test_keys_outside_the_plan_stand_alone_after_the_others() -> None:
    assert runs(["2024-01-03", "2023-12-31", "2024-01-01", "2024-01-02"], ORDER) == [
        ("2024-01-01", "2024-01-03"), ("2023-12-31", "2023-12-31")]


def test_many_runs_are_cut_unless_everything() -> None:
    found = runs(DAYS[::2], ORDER)
    assert len(found) == 16
    assert runs_text("raw", found).endswith("2024-01-15, and 8 more runs")
    assert runs_text("raw", found, everything=True).endswith("2024-01-29, 2024-01-31")
    assert runs_text("raw", found).startswith("raw@2024-01-01, 2024-01-03, ")


def test_upstream_reasons_of_one_stage_become_one_line_where_the_first_stood() -> None:
    reasons = ["new stage", *(f"upstream: raw@{d}" for d in DAYS), "upstream: clean",
               "upstream: other@2024-01-02"]
    positions = positions_of([f"raw@{d}" for d in DAYS])
    assert group_upstream(reasons, positions) == [
        "new stage", "upstream: raw@2024-01-01 … 2024-01-31 (31)", "upstream: clean",
        "upstream: other@2024-01-02"]


def test_a_partitions_own_date_reads_as_the_variable() -> None:
    assert template("deps: in/2024-01-03.csv modified", "2024-01-03") == \
        "deps: in/${date}.csv modified"
    assert template("cmd changed", None) == "cmd changed"


def test_cut_counts_what_it_leaves_out() -> None:
    lines = [str(n) for n in range(12)]
    assert cut(lines, 10, "reasons") == [*lines[:10], "… and 2 more reasons; --all shows every one"]
    assert cut(lines, 10, everything=True) == lines and cut(lines, 12) == lines


def test_task_names_group_by_stage() -> None:
    names = ["a@2024-01-01", "a@2024-01-02", "b", "c@2024-01-05"]
    assert tasks_text(names, positions_of(names)) == ["a@2024-01-01, 2024-01-02 (2)", "b",
                                                      "c@2024-01-05"]


@pytest.mark.parametrize(("path", "freq", "names", "others"), [
    ("data/raw/${date}.csv", "daily", ["data/raw/2024-01-01.csv"],
     ["data/raw/lookup.csv", "data/raw/2024-01-01T05.csv", "data/raw/2024-1-1.csv"]),
    ("h/${date}.csv", "hourly", ["h/2024-01-01T05.csv"], ["h/2024-01-01.csv"]),
    ("y/${year}/${month}-${day}.bin", "monthly", ["y/2024/02-01.bin"], ["y/2024/feb.bin"]),
    ("odd[1]/*${date}", "daily", ["odd[1]/*2024-01-01"], ["odd1/*2024-01-01",
                                                          "odd[1]/x2024-01-01"]),
])
def test_ignore_patterns_match_the_partitions_only(path: str, freq: str, names: list[str],
                                                   others: list[str]) -> None:
    pattern = ignore_pattern(path, freq)
    # fnmatch reads `[` and `*` as git does; a backslash escape becomes a
    # one-character class for it.
    as_fnmatch = pattern.replace("\\[", "[[]").replace("\\*", "[*]").replace("\\?", "[?]")
    assert all(fnmatch.fnmatchcase(name, as_fnmatch) for name in names)
    assert not any(fnmatch.fnmatchcase(name, as_fnmatch) for name in others)


@pytest.mark.parametrize(("reason", "key", "shared"), [
    ("deps: data/a.csv modified", "a", "deps: data/${key}.csv modified"),
    ("deps: data/ab.csv modified", "a", "deps: data/ab.csv modified"),
    ("upstream: prep@ab", "ab", "upstream: prep@${key}"),
    ("outs: model_1.json missing", "1", "outs: model_${key}.json missing"),
    ("deps: v1/x.csv modified", "1", "deps: v1/x.csv modified"),
    ("deps: in/2024-01-03.csv, in/2024-01-03T05.csv", "2024-01-03",
     "deps: in/${date}.csv, in/2024-01-03T05.csv"),
])
def test_a_key_is_replaced_where_it_stands_alone_never_inside_a_word(
        reason: str, key: str, shared: str) -> None:
    assert template(reason, key) == shared


@pytest.mark.parametrize("freq", ["hourly", "daily", "weekly", "monthly"])
def test_every_partition_key_gitpipe_names_reads_as_a_date(freq: str) -> None:
    keys = PartitionSpec("2024-01-01", "2024-03-01", freq).keys(dt.date(2024, 6, 1))
    assert keys and all(is_date(key) for key in keys)


def test_an_item_name_that_only_starts_like_a_date_is_counted_as_an_item() -> None:
    items = ["2024-x", "2024-01", "2024-01-01-eu", "v2024-01-01", "2024-01-01T5"]
    assert not any(is_date(name) for name in items)
    kinds = tasks_by_kind([f"train@{name}" for name in items] + ["raw@2024-01-01T05", "clean"])
    assert (len(kinds["item"]), kinds["partition"], kinds["stage"]) == \
        (len(items), ["raw@2024-01-01T05"], ["clean"])
