"""Differential property: what the lock writer seeds into the parse cache
(LockWriter's `parse_cache`, parsecache.seed_parse) and the checked entries it
remembers beside it (pipeline/lockpickle.py) are exactly what parsing the text
it wrote gives, read through the cache as a status reads it, the first time
(parsed, then remembered) and the next (remembered); and a lock changed after
the seed (a hand edit, a checkout) is parsed, never answered from the seed."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.core import parsecache
from gitpipe.pipeline import lockfile, lockpickle
from gitpipe.pipeline.lockfile import LOCK_FILE, LockEntry, LockWriter
from tests.unit.test_lockentries import ENTRIES, NAMES, TRICKY, outcome

# Params as params files give them: every YAML scalar type, the floats JSON
# and YAML spell apart (NaN, infinities, -0.0, 1e-3), dates and timestamps
# with and without an offset, keys that are not strings.
OFFSETS = st.none() | st.builds(lambda m: dt.timezone(dt.timedelta(minutes=m)),
                                st.integers(-14 * 60, 14 * 60))
SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | TRICKY
           | st.dates(dt.date(1, 1, 1)) | st.builds(lambda d, tz: d.replace(tzinfo=tz),
                                                   st.datetimes(dt.datetime(1000, 1, 1)), OFFSETS)
           | st.sampled_from(["1", "1.0", "yes", "null", "~", "2024-01-01", "1e-3", ".nan", ""]))
KEYS = TRICKY | st.integers(-3, 3) | st.booleans() | st.none() | st.sampled_from(["1", "true"])
VALUES: Any = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)
SEEDED = st.builds(lambda entry, params: entry._replace(params=params),
                   ENTRIES, st.dictionaries(TRICKY, VALUES, max_size=3))
LOCKS = st.dictionaries(NAMES, SEEDED, max_size=4)


def _never(text: str) -> Any:
    raise AssertionError("parsed: the seed did not answer")


def _keys_apart(value: Any) -> bool:
    """No mapping holds two keys of one text (`1` and `'1'`): the parser refuses
    those, so the writer seeds nothing for them."""
    if isinstance(value, dict):
        return len({str(key) for key in value}) == len(value) and all(map(_keys_apart,
                                                                          value.values()))
    return all(map(_keys_apart, value)) if isinstance(value, list) else True


def _written(root: Path, versions: list[dict[str, LockEntry]], write_behind: bool) -> str:
    """The lock text after writing `versions` in turn, the writer seeding."""
    writer = LockWriter(root, {}, write_behind=write_behind, parse_cache=root / "seeded")
    for entries in versions:
        for name, entry in entries.items():
            writer.update(name, entry)
        writer.remove([name for name in writer.entries if name not in entries])
    writer.close()
    return (root / LOCK_FILE).read_text(encoding="utf-8")


def _as_read(text: str, cache: Path | None, root: Path | None = None) -> Any:
    """What a reader takes from `text`, as comparable text (NaN equals itself);
    with `root`, through the entries remembered too."""
    return repr(outcome(lambda t: sorted(lockfile.parse(t, cache, root).items()), text))


def _remembered(text: str, cache: Path, root: Path) -> Any:
    """The entries remembered for `text`, as comparable text."""
    found = lockpickle.remembered(text, cache, root, lockfile._READERS)
    assert found is not None, "nothing remembered"
    return repr(("entries", sorted(found.items())))


@settings(max_examples=60, deadline=None)
@given(st.lists(LOCKS, min_size=1, max_size=3), st.booleans())
def test_the_seed_is_what_parsing_the_written_lock_gives(versions: list[dict[str, LockEntry]],
                                                         write_behind: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        text = _written(root, versions, write_behind)
        seeded, parsed = root / "seeded", root / "parsed"
        expected = _as_read(text, None)
        if all(_keys_apart(entry.params) for entry in versions[-1].values()):
            parsecache.cached_parse(text, LOCK_FILE, seeded, _never)  # the seed answers
            assert _remembered(text, seeded, root) == expected
        first = _as_read(text, parsed, root)  # parses, caches and remembers as a status does
        if expected.startswith("('entries'"):
            assert _remembered(text, parsed, root) == expected
        assert (_as_read(text, seeded) == _as_read(text, seeded, root) == _as_read(text, parsed)
                == first == _as_read(text, parsed, root) == expected)


@settings(max_examples=60, deadline=None)
@given(LOCKS, st.integers(0, 10**6), st.sampled_from(["flip", "drop", "line"]))
def test_a_lock_changed_after_the_seed_is_parsed(entries: dict[str, LockEntry], where: int,
                                                 how: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        text = _written(root, [entries], False)
        at = where % max(1, len(text))
        changed = {"flip": text[:at] + ("1" if text[at:at + 1] != "1" else "2") + text[at + 1:],
                   "drop": text[:at] + text[at + 1:],
                   "line": text + "  extra: {cmd: x, fingerprint: 'xxh3:" + "0" * 32 + "'}\n",
                   }[how]
        if changed == text:
            return
        assert (_as_read(changed, root / "seeded") == _as_read(changed, root / "seeded", root)
                == _as_read(changed, None))
