"""Date partitions: half-open ranges, lazy expansion, `${date}` substitution.

One code path for every granularity: a range is [start, stop) in steps of
`freq`; the spec's `end` is inclusive (as Airflow's end dates are) and turned
into the half-open stop here, once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import NamedTuple

FREQS = ("hourly", "daily", "weekly", "monthly")
MAX_PARTITIONS = 200_000
_VAR = re.compile(r"\$\{([^}]*)\}")


class PartitionError(ValueError):
    """A bad date, frequency or range; the caller adds file, line and stage."""


def _moment(value: object, today: dt.date) -> tuple[dt.datetime, bool]:
    """(datetime, whether it names an hour) for a date, date-time, 'today' or 'yesterday'."""
    if isinstance(value, dt.datetime):
        return value, True
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day), False
    if value in ("today", "yesterday"):
        day = today - dt.timedelta(days=1 if value == "yesterday" else 0)
        return dt.datetime(day.year, day.month, day.day), False
    text = str(value)
    return _key_moment(text), "T" in text or " " in text


def parse_when(value: object, today: dt.date, freq: str) -> dt.datetime:
    """The start of the period `value` falls in."""
    return align(_moment(value, today)[0], freq)


def stop_after(value: object, today: dt.date) -> dt.datetime:
    """The exclusive stop for an inclusive end: the next hour, or the next day."""
    moment, has_hour = _moment(value, today)
    return moment + (dt.timedelta(hours=1) if has_hour else dt.timedelta(days=1))


def _parse_text(text: str) -> dt.datetime:
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise PartitionError(f"{text!r} is not a date (YYYY-MM-DD), an hour (YYYY-MM-DDTHH), "
                         "'today' or 'yesterday'")


def align(moment: dt.datetime, freq: str) -> dt.datetime:
    if freq == "hourly":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if freq == "monthly":
        return day.replace(day=1)
    return day


def step(moment: dt.datetime, freq: str, count: int = 1) -> dt.datetime:
    if freq == "hourly":
        return moment + dt.timedelta(hours=count)
    if freq == "daily":
        return moment + dt.timedelta(days=count)
    if freq == "weekly":
        return moment + dt.timedelta(weeks=count)
    months = moment.month - 1 + count
    return moment.replace(year=moment.year + months // 12, month=months % 12 + 1)


def key_of(moment: dt.datetime, freq: str) -> str:
    """The partition's name and `${date}`: ISO date, or date and hour for hourly."""
    # NOTE: isoformat, not strftime: a backfill names every partition, and
    # strftime costs several times as much for the same text.
    return moment.isoformat(timespec="hours") if freq == "hourly" else moment.date().isoformat()


class PartitionSpec(NamedTuple):
    """`partition: {by: date, start, end, freq}` with its `end` kept inclusive as written."""

    start: str
    end: str
    freq: str = "daily"

    def bounds(self, today: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The half-open [start, stop) this spec covers."""
        try:
            first = parse_when(self.start, today, self.freq)
            stop = stop_after(self.end, today)
        except OverflowError:  # the day after 9999-12-31
            raise PartitionError(f"end {self.end} is the last day a date can name: "
                                 "end a day earlier") from None
        if first >= stop:
            raise PartitionError(f"start {self.start} is after end {self.end}")
        if at_least(first, stop, self.freq) > MAX_PARTITIONS:
            raise PartitionError(f"{self.start}..{self.end} makes more than {MAX_PARTITIONS:,} "
                                 f"{self.freq} partitions: is the range right?")
        return first, stop

    def keys(self, today: dt.date, start: str | None = None,
             end: str | None = None) -> list[str]:
        """Partition keys of the declared range, or of [start, end] inside it."""
        lo, hi = self.bounds(today)
        if start is not None or end is not None:
            sub_lo = parse_when(start, today, self.freq) if start else lo
            sub_hi = stop_after(end, today) if end else hi
            asked = f"{start or self.start}..{end or self.end}"
            if sub_lo >= hi or sub_hi <= lo:
                raise PartitionError(f"range {asked} is outside the stage's declared "
                                     f"range {self.start}..{self.end}")
            if sub_lo < lo or sub_hi > hi:
                raise PartitionError(f"range {asked} reaches outside the stage's declared "
                                     f"range {self.start}..{self.end}: "
                                     f"{self._outside((sub_lo, sub_hi), (lo, hi))}")
            if sub_lo >= sub_hi:
                raise PartitionError(f"start {start or self.start} is after end "
                                     f"{end or self.end}")
            lo, hi = sub_lo, sub_hi
        return [key_of(m, self.freq) for m in iterate(lo, hi, self.freq)]

    def _outside(self, asked: tuple[dt.datetime, dt.datetime],
                 declared: tuple[dt.datetime, dt.datetime]) -> str:
        """`2023-12-30..2023-12-31 is before it`: the parts of `asked` (half-open)
        outside `declared`, inclusive as the user writes ranges."""
        (sub_lo, sub_hi), (lo, hi) = asked, declared
        parts = []
        if sub_lo < lo:
            parts.append(f"{self._span(sub_lo, lo)} is before it")
        if sub_hi > hi:
            parts.append(f"{self._span(hi, sub_hi)} is after it")
        return " and ".join(parts)

    def _span(self, lo: dt.datetime, hi: dt.datetime) -> str:
        """[lo, hi) as `first..last` partition keys (one key when they are one)."""
        first, last = key_of(lo, self.freq), key_of(step(hi, self.freq, -1), self.freq)
        return first if first == last else f"{first}..{last}"


_FREQ_HOURS = {"hourly": 1, "daily": 24, "weekly": 24 * 7, "monthly": 24 * 31}


def at_least(lo: dt.datetime, hi: dt.datetime, freq: str) -> int:
    """A lower bound of how many partitions [lo, hi) holds, without making them."""
    return int((hi - lo) / dt.timedelta(hours=_FREQ_HOURS[freq]))


def iterate(lo: dt.datetime, hi: dt.datetime, freq: str) -> Iterator[dt.datetime]:
    count = 0
    moment = lo
    while moment < hi:
        count += 1
        if count > MAX_PARTITIONS:
            raise PartitionError(f"more than {MAX_PARTITIONS} partitions: is the range right?")
        yield moment
        try:
            moment = step(lo, freq, count)
        except (OverflowError, ValueError):  # past year 9999: the range ends before
            return


_KEY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}))?")


def _key_moment(key: str) -> dt.datetime:
    """The moment a partition key (or a range's bound) names. Text in key_of's
    shape is read by that fixed shape (every partition's task is made from its
    key, and strptime costs more than the rest of making it); anything else,
    or a shape naming no real date, is read by _parse_text, which judges it."""
    shape = _KEY.fullmatch(key)
    if shape is not None:
        year, month, day, hour = shape.groups()
        try:
            return dt.datetime(int(year), int(month), int(day), int(hour or 0))
        except ValueError:
            pass
    return _parse_text(key)


def is_key(key: str, freq: str) -> bool:
    """Whether `key` is a partition name a stage of this frequency makes
    (key_of's shape): not another spelling of a date (`2024-1-1`, an hour of a
    daily stage), nor anything else a record may say."""
    try:
        return key_of(_key_moment(key), freq) == key
    except ValueError:  # PartitionError: not a date at all
        return False


def variables(key: str, freq: str) -> dict[str, str]:
    """What `${…}` may name in a partitioned stage."""
    moment = _key_moment(key)
    names = {"date": key, "year": f"{moment.year:04d}", "month": f"{moment.month:02d}",
             "day": f"{moment.day:02d}"}
    if freq == "hourly":
        names["hour"] = f"{moment.hour:02d}"
    return names


def template_names(text: str) -> list[str]:
    return _VAR.findall(text)


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace `${name}`; an unknown name is a PartitionError naming it."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise PartitionError(f"unknown variable ${{{name}}} "
                                 f"(known: {', '.join('${' + n + '}' for n in values)})")
        return values[name]

    return _VAR.sub(one, text)


_DIGITS = "[0-9]"
# Each variable's value has a fixed shape, so an ignore rule for a
# partitioned out can match the generated names and nothing else:
# `data/raw/${date}.csv` must not hide a hand-made `data/raw/lookup.csv`.
_SHAPES = {"year": _DIGITS * 4, "month": _DIGITS * 2, "day": _DIGITS * 2,
           "hour": _DIGITS * 2}


_DATE = f"{_DIGITS * 4}-{_DIGITS * 2}-{_DIGITS * 2}"
_HOUR = f"{_DATE}T{_DIGITS * 2}"
VALUE_SHAPES = (_HOUR, _DATE, _DIGITS * 4, _DIGITS * 2)  # longest first


def ignore_pattern(path: str, freq: str | None) -> str:
    """A gitignore pattern (without the leading `/`) matching exactly the
    names `path` takes in every partition: each `${…}` becomes a digit glob of
    its value's shape, and glob characters of the path itself match only
    themselves. Trailing spaces are escaped: git drops them from a line, so
    `/out ` would ignore `out` and leave the out `out ` for `git add -A`.
    `freq` None: `path` is no template but the name itself (an out of a stage
    without partitions or of an item, rendered; a page), whose `${…}` is text
    (`\\${` in a foreach value): a digit glob there would hide the user's own
    files from git and leave the out to `git add -A`."""
    shapes = {**_SHAPES, "date": _HOUR if freq == "hourly" else _DATE}
    parts = _VAR.split(path) if freq is not None else [path]
    pattern = "".join(shapes.get(part, "*") if odd else _escape_glob(part)
                      for odd, part in ((i % 2 == 1, p) for i, p in enumerate(parts)))
    kept = pattern.rstrip(" ")
    return kept + "\\ " * (len(pattern) - len(kept))


def _escape_glob(text: str) -> str:
    return re.sub(r"([\\*?\[])", r"\\\1", text)


PARTITION_KEYS = ("by", "start", "end", "freq")
PARTITION_SHAPE = ("{by: date, start: DATE, end: DATE | today | yesterday, "
                   "freq: hourly | daily | weekly | monthly}")
# What a step is called where `by:` names it (Airflow's and pandas' words).
_STEPS = {"day": "daily", "days": "daily", "hour": "hourly", "hours": "hourly",
          "week": "weekly", "weeks": "weekly", "month": "monthly", "months": "monthly",
          "daily": "daily", "hourly": "hourly", "weekly": "weekly", "monthly": "monthly"}


def shape_problem(value: dict) -> str | None:
    """What is wrong with the keys of a `partition:` mapping, named, or None."""
    from gitpipe.core.errors import did_you_mean

    unknown = sorted(str(key) for key in value if key not in PARTITION_KEYS)
    if unknown:
        near = did_you_mean(unknown[0], PARTITION_KEYS)
        return (f"'partition' has no key {unknown[0]!r}" + (f" ({near})" if near else "")
                + f": it is {PARTITION_SHAPE}")
    by = value.get("by", "date")
    if by != "date":
        step = _STEPS.get(str(by).lower())
        return (f"'partition: by' is 'date', not {by!r}"
                + (f" (the step is 'freq: {step}')" if step else "") + f": {PARTITION_SHAPE}")
    if "start" not in value:
        return f"'partition' needs 'start: DATE' (its first date): {PARTITION_SHAPE}"
    return None
