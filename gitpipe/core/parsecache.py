"""The parse cache: parsed YAML remembered as JSON, keyed by the text it came from.

A no-op `status` reads every YAML file (spec, params, config, lock) from here:
the C YAML loader still builds every object in Python, and JSON of the same
data loads many times faster. It lives in this user's folder for the
repository (project/root.py), never in the work tree.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xxhash

from gitpipe.core.yamlio import PARSE_RULES

_MARKS = frozenset({"__date__", "__datetime__", "__map__"})


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    raise TypeError(type(value).__name__)


def _keyed(value: Any) -> Any:
    """`value` with each mapping JSON would change written as its pairs: one with
    a key that is not a string (JSON makes `1` the text "1", and params tell
    them apart), or one that reads as a mark of _decode."""
    if isinstance(value, list):
        return [_keyed(item) for item in value]
    if not isinstance(value, dict):
        return value
    if all(isinstance(key, str) for key in value) and not (len(value) == 1
                                                          and _MARKS.issuperset(value)):
        return {key: _keyed(item) for key, item in value.items()}
    return {"__map__": [[key, _keyed(item)] for key, item in value.items()]}


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "__date__" in obj:
            return dt.date.fromisoformat(obj["__date__"])
        if "__datetime__" in obj:
            return dt.datetime.fromisoformat(obj["__datetime__"])
        if "__map__" in obj:
            return {key: item for key, item in obj["__map__"]}
    return obj


def cached_parse(text: str, source: str, cache_dir: Path | None,
                 parse: Callable[[str], Any], reader: str = "") -> Any:
    """`parse(text)`, remembered as JSON under `cache_dir` keyed by the text's xxh3.

    The C YAML loader still builds every object in Python; JSON of the same
    data loads many times faster. The cache is
    only a shortcut: a changed text, or any problem reading the cache, parses.
    A `reader` other than the file's own (a params file that is the spec or
    the lock: the params reader takes `1e-3` for a number, the spec's for
    text) has entries of its own: one reader never takes another's data. A
    reader that parses by a file's name names its parser (`params-json`):
    two names may share one cache file (`x/json` and `x%json`)."""
    if cache_dir is None:
        return parse(text)
    key = _parse_key(text, reader)
    path = _parse_path(cache_dir, source, reader)
    try:
        with open(path, encoding="utf-8") as handle:
            stored = json.load(handle, object_hook=_decode)
        if stored.get("key") == key:
            return stored["data"]
    except (OSError, ValueError, AttributeError):
        pass
    data = parse(text)
    _store_parsed(path, key, data)
    return data


def seed_parse(text: str, source: str, cache_dir: Path | None, data: Any) -> Any:
    """Remember `data` as what `text` parses to, for the next `cached_parse` of
    `source`: the writer of a file it has just rendered from `data` (the lock)
    spares the next reader its parse. Keyed by the text like any entry, so a
    file edited since (by hand, by a checkout) misses and is parsed. `data`
    must be what the parser gives back for `text` (the property test of the
    lock holds the two together). Returns what a reader of the cache now
    takes for `text`, or None where nothing was remembered."""
    if cache_dir is None:
        return None
    payload = _store_parsed(_parse_path(cache_dir, source), _parse_key(text), data)
    return None if payload is None else json.loads(payload, object_hook=_decode)["data"]


def keys_apart(value: Any) -> bool:
    """Whether every mapping in `value` has keys whose texts differ: the parser
    refuses two keys written alike (`1` and `'1'`, yamlio), so data that has
    such keys is never what it gives, and is not seeded."""
    if isinstance(value, dict):
        return (len({str(key) for key in value}) == len(value)
                and all(keys_apart(item) for item in value.values()))
    if isinstance(value, list):
        return all(keys_apart(item) for item in value)
    return True


def _parse_key(text: str, reader: str = "") -> str:
    rules = f"{PARSE_RULES}\0{reader}" if reader else f"{PARSE_RULES}"
    return xxhash.xxh3_128_hexdigest(f"{rules}\0{text}".encode())


def _parse_path(cache_dir: Path, source: str, reader: str = "") -> Path:
    return cache_dir / (source.replace("/", "%") + (f".{reader}" if reader else "") + ".json")


def _store_parsed(path: Path, key: str, data: Any) -> str | None:
    """Write the entry; its JSON text, or None where it cannot be written."""
    try:
        payload = json.dumps({"key": key, "data": _keyed(data)}, default=_encode)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, path)
    except (TypeError, ValueError, OSError):
        return None  # not JSON-shaped, or a read-only checkout: parse every time
    return payload
