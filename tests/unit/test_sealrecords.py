"""The seal's records file (fastpath/sealdirs.py) read back as written: each
record's names are split out when the record is asked for, and a file that
this code did not write whole gives no record, never a wrong one."""

from __future__ import annotations

from gitpipe.fastpath.sealdirs import Record, Records, compose
from gitpipe.hashing.statsig import pack_numbers

CODE = "0.1.0 test"


def _record(seed: int, names: list[str]) -> Record:
    numbers = [seed * 100 + i for i in range(5 * len(names))]
    return (pack_numbers([2, seed, seed + 1, seed + 2, 0]), (1, seed, seed + 3, seed + 4),
            names, pack_numbers(numbers))


RECORDS = {"data/a": _record(1, ["x.csv", "y.csv"]), "empty": _record(2, []),
           "data/b c": _record(3, ["só.txt", "z"]), "last": _record(4, ["only"])}


def test_every_record_reads_back_as_written() -> None:
    data = compose(RECORDS, CODE)
    assert data is not None
    read = Records(data, None, CODE)
    assert {path: read.get(path) for path in RECORDS} == RECORDS
    assert read.get("data") is None
    assert Records(data, None, "0.1.0 other code").get("data/a") is None
    assert Records(compose({}, CODE) or b"", None, CODE).get("data/a") is None


def test_a_file_not_written_whole_gives_no_record() -> None:
    data = compose(RECORDS, CODE)
    assert data is not None
    for cut in (1, 40, len(data) // 2, len(data) - 1):
        read = Records(data[:cut], None, CODE)
        assert all(read.get(path) in (None, record) for path, record in RECORDS.items())
        assert read.get("last") is None, cut
    # where the first files start, the second record's names no longer fit: no record
    shifted = data.replace(b"\x000\x002\x002\x00", b"\x000\x001\x002\x00", 1)
    assert shifted != data
    read = Records(shifted, None, CODE)
    assert read.get("data/a") is None and read.get("empty") is None
    assert read.get("last") == RECORDS["last"]


def test_a_name_a_record_cannot_hold_is_not_written() -> None:
    for bad in ("a/b", "a\0b", ""):
        assert compose({"data": _record(1, ["ok", bad])}, CODE) is None
