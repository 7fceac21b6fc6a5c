"""Sparse-file I/O: whole reads and writes at offsets, data extents, holes and index runs.

The volume store's files are sparse: never-written ranges are holes that read as zeros
and cost nothing.  These helpers find the data extents (``SEEK_DATA``/``SEEK_HOLE``),
punch holes (``fallocate``), and group block indexes into runs so that consecutive blocks
move in one system call.
"""
from __future__ import annotations

import ctypes
import errno
import itertools
import os
from collections.abc import Callable, Hashable, Iterable, Iterator

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
ZERO_RUN = bytes(64 * 1024)
"""Zeros written at once where a hole cannot be punched."""


def is_current(fd: int, path: str) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (it was not deleted meanwhile)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def create_file(path: str, size: int, header: bytes = b'') -> None:
    """Create (or empty) ``path`` as ``header`` followed by zeros up to ``size``, sparsely."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        pwrite_all(fd, header, 0)
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def pread_all(fd: int, length: int, offset: int) -> bytes:
    parts = []
    while length > 0:
        part = os.pread(fd, length, offset)
        if not part:
            break
        parts.append(part)
        length, offset = length - len(part), offset + len(part)
    return b''.join(parts) + bytes(length)


def _load_fallocate() -> Callable[[int, int, int, int], int] | None:
    """The C library's 64-bit ``fallocate`` (Linux), or None where there is none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    fallocate = getattr(libc, 'fallocate64', None) or getattr(libc, 'fallocate', None)
    if fallocate is not None:
        fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
        fallocate.restype = ctypes.c_int
    return fallocate


_FALLOCATE = _load_fallocate()


def punch_hole(fd: int, offset: int, length: int) -> bool:
    """Deallocate a byte range, which then reads as zeros; False where that is unsupported."""
    if _FALLOCATE is None:
        return False
    if _FALLOCATE(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EOPNOTSUPP, errno.ENOSYS):
        return False
    raise OSError(code, os.strerror(code))


def zero_range(fd: int, offset: int, length: int) -> None:
    """Make a byte range read as zeros: punch it out, else overwrite the data in it."""
    if punch_hole(fd, offset, length):
        return
    zeros = memoryview(ZERO_RUN)
    for start, stop in data_extents(fd, offset + length, offset):
        for at in range(start, stop, len(zeros)):
            pwrite_all(fd, zeros[:stop - at], at)


def data_extents(fd: int, end: int, start: int = 0) -> Iterator[tuple[int, int]]:
    """``[start, stop)`` of every data extent of the file in ``[start, end)`` (SEEK_DATA/HOLE)."""
    position = start
    while position < end:
        try:
            first = max(os.lseek(fd, position, os.SEEK_DATA), position)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                return
            raise
        if first >= end:
            return
        position = min(os.lseek(fd, first, os.SEEK_HOLE), end)
        yield first, position


def unit_runs(extents: Iterable[tuple[int, int]], unit: int) -> Iterator[tuple[int, int]]:
    """``[first, stop)`` unit indexes overlapping ascending byte extents, never twice."""
    next_unit = 0
    for start, stop in extents:
        first = max(start // unit, next_unit)
        last = (stop - 1) // unit
        if last >= first:
            yield first, last + 1
            next_unit = last + 1


def keyed_runs(indexes: Iterable[int],
               key: Callable[[int], Hashable]) -> Iterator[tuple[Hashable, int, int]]:
    """Indexes, in their order, grouped into (key, start, stop) runs of consecutive values.

    A run also ends where ``key(index)`` changes.
    """
    for (value, _), group in itertools.groupby(
            enumerate(indexes), key=lambda pair: (key(pair[1]), pair[1] - pair[0])):
        members = [index for _, index in group]
        yield value, members[0], members[-1] + 1


def runs(indexes: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Ascending indexes grouped into ``[start, stop)`` runs of consecutive values."""
    return ((start, stop) for _, start, stop in keyed_runs(indexes, lambda _: None))
