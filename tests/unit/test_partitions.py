"""Partition keys: the fast forms key_of writes and variables reads agree with
strftime and strptime, the general readers they stand in for."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitpipe.pipeline.partitions import (
    PartitionError,
    PartitionSpec,
    _key_moment,
    _parse_text,
    key_of,
    variables,
)

MOMENTS = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31))


@given(MOMENTS, st.sampled_from(["hourly", "daily", "weekly", "monthly"]))
def test_key_of_writes_what_strftime_writes(moment: dt.datetime, freq: str) -> None:
    expected = moment.strftime("%Y-%m-%dT%H" if freq == "hourly" else "%Y-%m-%d")
    assert key_of(moment, freq) == expected


def _read_both(key: str) -> tuple[object, object]:
    """What the fast reader and strptime's make of `key`: a moment or the error."""
    results: list[object] = []
    for read in (_key_moment, _parse_text):
        try:
            results.append(read(key))
        except PartitionError as exc:
            results.append(str(exc))
    return results[0], results[1]


KEYLIKE = st.from_regex(r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(T[0-9]{1,2}(:[0-9]{2})?)?\Z")


@given(st.one_of(KEYLIKE, st.text(max_size=16),
                 MOMENTS.map(lambda m: key_of(m, "hourly")),
                 MOMENTS.map(lambda m: key_of(m, "daily"))))
def test_a_key_reads_as_strptime_reads_it(key: str) -> None:
    fast, general = _read_both(key)
    assert fast == general


@pytest.mark.parametrize("key", ["2024-02-30", "2024-13-01", "2024-01-01T24", "0000-01-01",
                                 "2024-1-1", "2024-01-01T5", "2024-01-01 05:30", "2024-01"])
def test_odd_keys_fall_back_to_the_general_reader(key: str) -> None:
    fast, general = _read_both(key)
    assert fast == general


def test_variables_of_an_hourly_key() -> None:
    assert variables("2024-03-09T07", "hourly") == {
        "date": "2024-03-09T07", "year": "2024", "month": "03", "day": "09", "hour": "07"}


def test_a_range_names_each_partition_once_in_order() -> None:
    keys = PartitionSpec("2024-01-30", "2024-03-02").keys(dt.date(2024, 6, 1))
    assert keys[:3] == ["2024-01-30", "2024-01-31", "2024-02-01"] and keys[-1] == "2024-03-02"
    assert len(keys) == len(set(keys)) == 33
    hours = PartitionSpec("2024-01-01T22", "2024-01-02T01", "hourly").keys(dt.date(2024, 6, 1))
    assert hours == ["2024-01-01T22", "2024-01-01T23", "2024-01-02T00", "2024-01-02T01"]
