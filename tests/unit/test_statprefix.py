"""The stat cache read by a prefix first (the directories' rows, before a
status forks its walks), then the rest: every answer as a State that reads
row by row gives it."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.storage.state import RACY_NS, State, StatKey

# Paths about the prefix's edges: it, its successor, shorter and longer ones.
NAMES = st.sampled_from(["tree:", "tree:a", "tree:a/b", "tree:é", "tree;", "tree;a", "tree",
                         "tre", "treea", "git:a", "git?:a", "a", "tree:\U0001f600", "trez"])


@settings(max_examples=40, deadline=None)
@given(rows=st.sets(NAMES), asked=st.lists(NAMES, max_size=8), whole=st.booleans(),
       pending=st.sets(NAMES, max_size=3))
def test_reading_a_prefix_first_answers_as_lookups_do(rows: set[str], asked: list[str],
                                                       whole: bool, pending: set[str]) -> None:
    old = time.time_ns() - 5 * RACY_NS
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / ".gitpipe" / "state.db"
        writer = State(db)
        for number, path in enumerate(sorted(rows)):
            writer.record_digest(path, StatKey(number, old, 7, old), f"xxh3:{number:02x}")
        writer.flush()
        writer.close()
        first, looked_up = State(db), State(db)
        first.prefetch_prefix("tree:")
        if whole:  # the rest of the table, as a large status reads it
            assert first.prefetch_all(1000)
        # Rows recorded in this command, not written yet: known as well.
        for state in (first, looked_up):
            for path in pending:
                state.record_digest(path, StatKey(99, old, 7, old), "xxh3:99")
        # Asked at once (as walk_ahead asks for its directories), with the
        # prefix apart or within each path: what was written or recorded since.
        known = rows | pending
        assert first.recorded_among(asked) == [path for path in asked if path in known]
        below = [path.removeprefix("tree:") for path in asked if path.startswith("tree:")]
        assert first.recorded_among(below, "tree:") == [
            path for path in below if f"tree:{path}" in known]
        for path in [*asked, *sorted(rows)]:
            assert first.recorded(path) == looked_up.recorded(path) == (path in known), path
            for number in range(len(rows)):
                key = StatKey(number, old, 7, old)
                assert first.cached_digest(path, key) == looked_up.cached_digest(path, key), path
        first.close()
        looked_up.close()


def test_a_prefix_read_before_the_table_exists_knows_what_is_written_since(
        tmp_path: Path) -> None:
    old = time.time_ns() - 5 * RACY_NS
    state = State(tmp_path / ".gitpipe" / "state.db")
    state.prefetch_prefix("tree:")
    assert not state.recorded("tree:a")
    state.record_digest("tree:a", StatKey(1, old, 7, old), "xxh3:01")
    state.flush()
    assert state.cached_digest("tree:a", StatKey(1, old, 7, old)) == "xxh3:01"
    state.close()
