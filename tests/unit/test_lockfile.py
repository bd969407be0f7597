"""gitpipe.lock: round trip, a hand-written golden rendering, atomic writes, damage."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline import lockfile
from gitpipe.pipeline.lockfile import LockedPath, LockEntry, LockWriter, atomic_write, parse, render

FP = "xxh3:" + "1" * 32  # a fingerprint of the right form
TRAIN = LockEntry(
    cmd="python train.py",
    fingerprint="xxh3:ff00000000000000000000000000ff00",
    # Deliberately unsorted: render must sort deps and outs by path.
    deps=(LockedPath("src/train.py", "git:9a1b"),
          LockedPath("data/clean.csv", "xxh3:77e2", 1024)),
    params={"train": {"lr": 0.1, "epochs": 3}, "seed": 7},
    outs=(LockedPath("model", "xxh3:c0ff", 2048), LockedPath("metrics.json", "xxh3:abcd", 12)),
)
PREPARE = LockEntry(cmd="python prepare.py", fingerprint="xxh3:00000000000000000000000000000001",
                    deps=(LockedPath("data/raw.csv", "xxh3:0002", 10),))

# Written by hand from the lockfile's documented layout (docs/explanation/staleness.md):
# schema first, stages by name, deps/outs by path, params keys sorted, each
# dep/out on one line.
GOLDEN = """\
schema: 1
stages:
  prepare:
    cmd: python prepare.py
    fingerprint: xxh3:00000000000000000000000000000001
    deps:
    - {path: data/raw.csv, hash: 'xxh3:0002', size: 10}
  train:
    cmd: python train.py
    fingerprint: xxh3:ff00000000000000000000000000ff00
    deps:
    - {path: data/clean.csv, hash: 'xxh3:77e2', size: 1024}
    - {path: src/train.py, hash: 'git:9a1b'}
    params:
      seed: 7
      train:
        epochs: 3
        lr: 0.1
    outs:
    - {path: metrics.json, hash: 'xxh3:abcd', size: 12}
    - {path: model, hash: 'xxh3:c0ff', size: 2048}
"""


def sorted_entry(entry: LockEntry) -> LockEntry:
    return LockEntry(entry.cmd, entry.fingerprint,
                     tuple(sorted(entry.deps, key=lambda d: d.path)), entry.params,
                     tuple(sorted(entry.outs, key=lambda o: o.path)))


def test_render_matches_golden() -> None:
    assert render({"train": TRAIN, "prepare": PREPARE}) == GOLDEN


def test_render_is_independent_of_insertion_order() -> None:
    shuffled = LockEntry(TRAIN.cmd, TRAIN.fingerprint, tuple(reversed(TRAIN.deps)),
                         {"seed": 7, "train": {"epochs": 3, "lr": 0.1}},
                         tuple(reversed(TRAIN.outs)))
    assert render({"prepare": PREPARE, "train": shuffled}) == GOLDEN


def test_render_empty_lock() -> None:
    assert render({}) == "schema: 1\nstages: {}\n"
    assert parse(render({})) == {}


def test_round_trip() -> None:
    entries = {"train": TRAIN, "prepare": PREPARE, "features@2024-01-01": LockEntry(
        "featurize --date 2024-01-01", "xxh3:12341234123412341234123412341234",
        outs=(LockedPath("data/features/2024-01-01.parquet", "xxh3:9999", 0),))}
    parsed = parse(render(entries))
    assert parsed == {name: sorted_entry(entry) for name, entry in entries.items()}
    assert parsed["train"].params == {"seed": 7, "train": {"epochs": 3, "lr": 0.1}}
    assert parsed["train"].dep("src/train.py") == LockedPath("src/train.py", "git:9a1b", None)
    assert render(parsed) == render(entries)


@pytest.mark.parametrize("tricky", ["yes", "1.0", "null", "a: b", "#hash", "- x", "'q'",
                                    "multi\nline", "ünïcode", ""])
def test_round_trip_keeps_strings_that_look_like_other_types(tricky: str) -> None:
    entry = LockEntry(cmd=tricky, fingerprint=FP, params={"p": tricky, "n": "3"})
    assert parse(render({"s": entry}))["s"] == entry


def test_parse_empty_text_is_empty_lock() -> None:
    assert parse("") == {}
    assert parse("  \n") == {}


def test_read_missing_file_is_empty(tmp_path: Path) -> None:
    assert lockfile.read(tmp_path) == {}


# atomic writes ---------------------------------------------------------------------

def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "gitpipe.lock"
    atomic_write(target, "first\n")
    atomic_write(target, GOLDEN)
    assert target.read_text(encoding="utf-8") == GOLDEN
    assert sorted(os.listdir(tmp_path)) == ["gitpipe.lock"]


def test_atomic_write_failure_keeps_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "gitpipe.lock"
    atomic_write(target, "old\n")
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "bad \udcff surrogate\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["gitpipe.lock"]


def test_lock_writer_updates_file_for_each_task(tmp_path: Path) -> None:
    writer = LockWriter(tmp_path, {"prepare": PREPARE})
    threads = [threading.Thread(target=writer.update,
                                args=(f"s{i}", LockEntry(f"cmd {i}", f"xxh3:{i:032x}")))
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    on_disk = lockfile.read(tmp_path)
    assert set(on_disk) == {"prepare"} | {f"s{i}" for i in range(8)}
    assert on_disk["s3"] == LockEntry("cmd 3", f"xxh3:{3:032x}")
    writer.remove(["prepare", "s0", "absent"])
    assert set(lockfile.read(tmp_path)) == {f"s{i}" for i in range(1, 8)}
    assert sorted(os.listdir(tmp_path)) == ["gitpipe.lock"]


# damaged locks ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "match"), [
    ("stages: [unclosed\n", r"^gitpipe\.lock(:\d+)?: invalid YAML"),
    ("- a\n- b\n", r"^gitpipe\.lock: not a mapping"),
    ("schema: 2\nstages: {}\n", r"^gitpipe\.lock: unknown schema 2"),
    ("schema: 1\nstages:\n  a: {fingerprint: 'xxh3:" + "1" * 32 + "'}\n",
     r"^gitpipe\.lock: stage 'a': needs 'cmd' and 'fingerprint'"),
    ("schema: 1\nstages:\n  a: just text\n", r"stage 'a': needs 'cmd' and 'fingerprint'"),
    ("schema: 1\nstages:\n  a: {cmd: x, fingerprint: 'xxh3:" + "1" * 32 + "', deps: 5}\n",
     r"^gitpipe\.lock: stage 'a' deps must be a list"),
    ("schema: 1\nstages:\n  a: {cmd: x, fingerprint: 'xxh3:" + "1" * 32 + "', outs: [{path: o}]}\n",
     r"^gitpipe\.lock: stage 'a' outs: each item needs 'path' and 'hash'"),
])
def test_damaged_lock_is_a_bad_input_error(text: str, match: str) -> None:
    with pytest.raises(BadInputError, match=match):
        parse(text)


def test_invalid_yaml_hint_says_how_to_recover() -> None:
    with pytest.raises(BadInputError) as info:
        parse("stages: [unclosed\n")
    assert info.value.hint is not None and "restore it from git" in info.value.hint
    assert info.value.exit_code == 2


def test_stages_not_a_mapping_is_a_bad_input_error() -> None:
    with pytest.raises(BadInputError, match=r"gitpipe\.lock"):
        parse("schema: 1\nstages: [a, b]\n")


def test_params_not_a_mapping_is_a_bad_input_error() -> None:
    with pytest.raises(BadInputError, match=r"gitpipe\.lock"):
        parse("schema: 1\nstages:\n  a: {cmd: x, fingerprint: 'xxh3:" + "1" * 32
              + "', params: [1, 2]}\n")


def test_lock_writer_output_equals_render(tmp_path: Path) -> None:
    from gitpipe.pipeline.lockfile import LockedPath, LockEntry, LockWriter, parse, render

    entries = {
        "b": LockEntry("echo 'multi\nline'  # comment: yes", FP,
                       (LockedPath("z.txt", "git:abc"), LockedPath("a.txt", "xxh3:2", 3)),
                       {"train": {"lr": 0.1, "layers": [1, 2]}, "x": "y: z"},
                       (LockedPath("out/", "xxh3:9.dir", 10),)),
        "a@2024-01-01": LockEntry("true", "xxh3:33333333333333333333333333333333"),
    }
    writer = LockWriter(tmp_path, {})
    for name, entry in entries.items():
        writer.update(name, entry)
    text = (tmp_path / "gitpipe.lock").read_text()
    assert text == render(entries)
    assert parse(text) == parse(render(entries)) and set(parse(text)) == set(entries)
    writer.remove(["b"])
    assert (tmp_path / "gitpipe.lock").read_text() == render({"a@2024-01-01": entries[
        "a@2024-01-01"]})
    writer.remove(["a@2024-01-01"])
    assert parse((tmp_path / "gitpipe.lock").read_text()) == {}
    assert (tmp_path / "gitpipe.lock").stat().st_mode & 0o777 == 0o644


def test_write_behind_coalesces_and_close_writes_the_last_state(tmp_path: Path,
                                                                monkeypatch) -> None:
    writes: list[str] = []
    real = lockfile.atomic_write
    monkeypatch.setattr(lockfile, "atomic_write",
                        lambda path, text: writes.append(text) or real(path, text))
    writer = LockWriter(tmp_path, {}, write_behind=True)
    entries = {f"s{i:03}": LockEntry(f"cmd {i}", f"xxh3:{i:032x}") for i in range(200)}
    for name, entry in entries.items():
        writer.update(name, entry)
    writer.close()
    assert lockfile.read(tmp_path) == entries
    assert writes[-1] == lockfile.render(entries)
    assert len(writes) < 20  # 200 updates in well under a second: a few writes


def test_write_behind_failure_is_reported_at_close(tmp_path: Path) -> None:
    from gitpipe.core.errors import GitpipeError

    writer = LockWriter(tmp_path / "no-such-dir", {}, write_behind=True)
    writer.update("a", LockEntry("true", FP))
    with pytest.raises(GitpipeError, match=r"cannot write gitpipe\.lock"):
        writer.close()


def test_python_rows_render_sorted_one_line_each_and_read_back() -> None:
    module = "xxh3:" + "a" * 32
    entry = PREPARE._replace(python=(
        lockfile.LockedModule("src/utils.py", module, "src/train.py"),
        lockfile.LockedModule("src/train.py", module)))
    text = render({"prepare": entry})
    assert ("    python:\n"
            f"    - {{path: src/train.py, hash: '{module}'}}\n"
            f"    - {{path: src/utils.py, hash: '{module}', imported_by: src/train.py}}\n"
            ) in text
    assert parse(text)["prepare"].python == tuple(sorted(entry.python))
    assert parse(render({"prepare": PREPARE}))["prepare"].python == ()


def test_write_behind_spaces_slow_rewrites_out(tmp_path: Path, monkeypatch) -> None:
    """A lock that takes long to rewrite (a large one, a slow disk) is rewritten
    at most a tenth of the time, and close still writes the last state."""
    import time

    writes: list[str] = []
    real = lockfile.atomic_write

    def slow(path: Path, text: str) -> None:
        time.sleep(0.05)
        writes.append(text)
        real(path, text)

    monkeypatch.setattr(lockfile, "atomic_write", slow)
    writer = LockWriter(tmp_path, {}, write_behind=True)
    entries = {f"s{i:03}": LockEntry(f"cmd {i}", f"xxh3:{i:032x}") for i in range(60)}
    started = time.monotonic()
    for name, entry in entries.items():
        writer.update(name, entry)
        time.sleep(0.03)  # 1.8 s of updates: every 0.2 s would be 7 writes or more
    writer.close()
    elapsed = time.monotonic() - started
    assert lockfile.read(tmp_path) == entries
    assert len(writes) <= 2 + elapsed / (lockfile.WRITE_BEHIND_SPACING * 0.05)
