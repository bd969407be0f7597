"""Fuzzing: any input to the loaders gives a result or a clear GitpipeError, never
another exception."""

from __future__ import annotations

import contextlib
import datetime as dt

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitpipe.core.errors import GitpipeError
from gitpipe.core.yamlio import parse_yaml
from gitpipe.pipeline.lockfile import parse as parse_lock
from gitpipe.pipeline.parse import parse_pipeline
from gitpipe.pipeline.partitions import PartitionError, PartitionSpec, substitute
from gitpipe.pipeline.stage import parse_duration

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20), st.dates())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)
field_names = st.sampled_from(["cmd", "deps", "outs", "params", "metrics", "wdir", "env",
                               "retries", "timeout", "frozen", "persist", "partition",
                               "concurrency", "wait_for", "pool", "always_changed", "x"])
stage_bodies = st.dictionaries(field_names, values, max_size=6)
specs = st.one_of(values, st.fixed_dictionaries(
    {"stages": st.dictionaries(st.text(max_size=10), stage_bodies, max_size=4)}))


@SETTINGS
@given(specs)
def test_spec_loader_never_crashes(data: object) -> None:
    with contextlib.suppress(GitpipeError):
        parse_pipeline(data)


@SETTINGS
@given(st.text(max_size=300))
def test_yaml_text_never_crashes(text: str) -> None:
    with contextlib.suppress(GitpipeError):
        parse_pipeline(parse_yaml(text, "gitpipe.yaml"))


@SETTINGS
@given(st.one_of(st.text(max_size=300), values.map(
    lambda v: yaml.safe_dump(v, default_flow_style=True) if v is not None else ""),
    st.fixed_dictionaries({"schema": st.just(1), "stages": st.dictionaries(
        st.text(max_size=8), st.dictionaries(st.sampled_from(
            ["cmd", "fingerprint", "deps", "outs", "params"]), values, max_size=5),
        max_size=3)}).map(lambda v: yaml.safe_dump(v))))
def test_lockfile_reader_never_crashes(text: str) -> None:
    try:
        parse_lock(text)
    except GitpipeError as exc:
        assert "gitpipe.lock" in str(exc)


@SETTINGS
@given(st.text(max_size=60), st.dictionaries(st.text(max_size=6), st.text(max_size=6)))
def test_substitution_never_crashes(text: str, names: dict[str, str]) -> None:
    try:
        result = substitute(text, names)
    except PartitionError as exc:
        assert "unknown variable" in str(exc)
    else:
        assert "${" not in result or "${" in "".join(names.values()) or "}" not in text


@SETTINGS
@given(st.one_of(st.text(max_size=12), st.integers(), st.floats(allow_nan=True),
                 st.booleans(), st.none()))
def test_duration_parser(value: object) -> None:
    try:
        seconds = parse_duration(value)
    except ValueError:
        return
    assert seconds > 0 and seconds == seconds  # positive, not NaN


@SETTINGS
@given(st.text(max_size=12), st.text(max_size=12),
       st.sampled_from(["hourly", "daily", "weekly", "monthly"]), st.dates(
           min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)))
def test_partition_ranges_never_crash(start: str, end: str, freq: str, today: dt.date) -> None:
    try:
        keys = PartitionSpec(start, end, freq).keys(today)
    except PartitionError:
        return
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
