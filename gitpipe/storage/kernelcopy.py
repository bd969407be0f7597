"""Copying between two open files in the kernel (copy_file_range): no byte
passes through Python, and a file system that can share extents shares them.
"""

from __future__ import annotations

import errno
import os

# What copy_file_range says when the kernel or file system cannot copy
# between two files: the caller copies through a buffer instead.
_NO_KERNEL_COPY = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP)


def kernel_copy(source: int, target: int, cap: int | None = None) -> int | None:
    """Copy all of `source` (from its start; its first `cap` bytes at most) to
    `target` (from its start) in the kernel; the bytes copied, or None when the
    kernel refuses before copying anything. The copy ends where the source
    ends, when it was cut meanwhile."""
    done = 0
    while cap is None or done < cap:
        step = 1 << 30 if cap is None else min(1 << 30, cap - done)
        try:
            count = os.copy_file_range(source, target, step, done, done)
        except OSError as exc:
            if done == 0 and exc.errno in _NO_KERNEL_COPY:
                return None
            raise
        if count == 0:
            return done
        done += count
    return done
