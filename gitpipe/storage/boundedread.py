"""Reads from a remote that take no more than asked for, whatever the server
answers.

An object store is asked for a byte range with an HTTP `Range` header, and a
server may ignore it and answer the whole object: fsspec's S3 files and
`cat_file` then read that whole answer into memory before handing back the
part asked for. A shared remote's server is not gitpipe's to trust, so on S3
the body is read here, a chunk at a time, and the connection is dropped once
the range is read; an answer that ignored a range starting past byte 0 is
read up to the range and the bytes before it thrown away.
"""

from __future__ import annotations

from typing import Any

from gitpipe.hashing.digests import CHUNK


class Capped:
    """A reader that ends after `left` bytes, whatever the file holds beyond:
    copy_hashing_stream reads until a read returns nothing."""

    def __init__(self, reader: Any, left: int) -> None:
        self.reader = reader
        self.left = left

    def readinto(self, view: Any) -> int:
        if self.left <= 0:
            return 0
        count = int(self.reader.readinto(memoryview(view)[:self.left]) or 0)
        self.left -= count
        return count

    def __enter__(self) -> Capped:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.close()


class _S3Body:
    """An S3 object's bytes [start, stop) (stop None: to its end), read from
    the response body as they are asked for."""

    def __init__(self, fs: Any, path: str, start: int, stop: int | None) -> None:
        bucket, key, version = fs.split_path(path)
        asked = {} if start == 0 and stop is None else {
            "Range": f"bytes={start}-{'' if stop is None else stop - 1}"}
        extra = {"VersionId": version} if version else {}
        answer = fs.call_s3("get_object", Bucket=bucket, Key=key, **asked, **extra)
        self.fs = fs
        self.body = answer["Body"]
        # No Content-Range: the server answered the whole object from byte 0.
        self.skip = start if asked and not answer.get("ContentRange") else 0
        self.left = None if stop is None else stop - start

    def _read(self, most: int) -> bytes:
        from fsspec.asyn import sync

        return bytes(sync(self.fs.loop, self.body.read, most))

    def readinto(self, view: Any) -> int:
        while self.skip > 0:
            dropped = len(self._read(min(self.skip, CHUNK)))
            if dropped == 0:
                return 0
            self.skip -= dropped
        most = len(view) if self.left is None else min(len(view), self.left)
        if most <= 0:
            return 0
        data = self._read(most)
        memoryview(view)[:len(data)] = data
        if self.left is not None:
            self.left -= len(data)
        return len(data)

    def close(self) -> None:
        self.body.close()

    def __enter__(self) -> _S3Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_range(fs: Any, path: str, start: int = 0, stop: int | None = None,
               block_size: int = 8 * CHUNK) -> Any:
    """A reader (readinto, a context manager) of bytes [start, stop) of `path`
    on `fs`: read as they come on S3; through fsspec's file elsewhere."""
    if hasattr(fs, "call_s3") and hasattr(fs, "split_path"):
        return _S3Body(fs, path, start, stop)
    handle = fs.open(path, "rb", block_size=block_size)
    handle.seek(start)
    return handle if stop is None else Capped(handle, stop - start)


def read_range(fs: Any, path: str, start: int, stop: int) -> bytes:
    """Bytes [start, stop) of `path` (fewer where it is shorter), never more."""
    found = bytearray(stop - start)
    done = 0
    with open_range(fs, path, start, stop) as reader:
        while done < len(found):
            count = reader.readinto(memoryview(found)[done:])
            if not count:
                break
            done += count
    return bytes(found[:done])
