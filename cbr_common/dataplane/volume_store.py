"""The volume store: the bytes of simulated EVS disks and SFS Turbo file systems.

Every device (a disk or a file system, which is a block-device image here) is named by its
resource id and lives in one folder, ``[volume_store] path``, as three files:

``<id>.img``
    The device's bytes: a sparse file whose length is the device size.  Ranges never
    written are holes and read as zeros; creating a device allocates nothing.
``<id>.cbt``
    Changed-block tracking.  A 24-byte header -- the magic ``b'CBRCBT01'``, the block size
    and the device's current write generation, both little-endian uint64 -- followed by
    one little-endian uint64 per block of the device: the generation of the last write
    that touched the block (0 = never written).  This file is sparse too, so the blocks
    changed since a generation are found by visiting only its data extents.
``<id>.lock``
    Empty.  ``flock``-ed exclusively around every change (create, write, fill, delete) and
    shared around every read, so any number of threads and processes may use a device.

Each write or fill takes the next generation and stamps every block it touches with it.
The header is written first, then the block stamps, then the data, so a process killed
half way leaves blocks marked changed that maybe did not change, never the reverse.

A device exists exactly when its image exists.  ``create`` makes the lock file, then the
tracking file, then renames a finished image (``<id>.img.tmp``) into place; ``delete``
removes the image, the tracking file and last the lock file (while holding it; a process
that was waiting for that lock sees the file is gone and retries).  A crash in either
leaves a device that ``exists`` denies and that the same call, repeated, completes.

Checksums hash fixed 64 KiB chunks whatever the block size, so equal contents give equal
digests in any two stores.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import math
import os
import random
import re
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator
from typing import TypedDict

from cbr_common.config import CONF
from cbr_common.errors import InvalidInput, NotFound, WrongState

GIB = 1024 ** 3
"""Bytes in one GB of a volume's or share's ``size``."""
DIGEST_CHUNK = 64 * 1024
"""Unit of :meth:`VolumeStore.checksum`, independent of the block size."""

_MAGIC = b'CBRCBT01'
_HEADER = struct.Struct('<8sQQ')
_ENTRY = struct.Struct('<Q')
_MAX_ENTRIES_PER_READ = 128 * 1024
_ZERO_CHUNK = bytes(DIGEST_CHUNK)
_DEVICE_ID = re.compile(r'[A-Za-z0-9][A-Za-z0-9_-]{0,127}')


class Checksum(TypedDict):
    """What :meth:`VolumeStore.checksum` reports about a device."""

    digest: str
    size: int
    allocated_bytes: int


class _Device:
    """An open device under its lock: image and tracking descriptors, size, generation."""

    def __init__(self, device_id: str, img_fd: int, cbt_fd: int, block_size: int) -> None:
        self.device_id = device_id
        self.img_fd = img_fd
        self.cbt_fd = cbt_fd
        self.block_size = block_size
        self.size = os.fstat(img_fd).st_size
        self.n_blocks = math.ceil(self.size / block_size)
        self.generation = self._read_header()

    def _read_header(self) -> int:
        """The stored generation, after checking the header matches this store."""
        raw = os.pread(self.cbt_fd, _HEADER.size, 0)
        magic, block_size, generation = (_HEADER.unpack(raw) if len(raw) == _HEADER.size
                                         else (b'', 0, 0))
        if magic != _MAGIC or block_size != self.block_size:
            raise WrongState('device %s was tracked with block size %d, not %d (or its '
                             'tracking file is damaged)' % (self.device_id, block_size,
                                                            self.block_size))
        return generation

    def next_generation(self) -> int:
        """Start a new write: bump and store the generation counter."""
        self.generation += 1
        os.pwrite(self.cbt_fd, _HEADER.pack(_MAGIC, self.block_size, self.generation), 0)
        return self.generation

    def stamp(self, blocks: Iterable[int], generation: int) -> None:
        """Record that ``blocks`` (ascending) were written in ``generation``."""
        entry = _ENTRY.pack(generation)
        for start, stop in _runs(blocks):
            _pwrite_all(self.cbt_fd, entry * (stop - start), _HEADER.size + start * _ENTRY.size)

    def block_generations(self) -> Iterator[tuple[int, int]]:
        """(block, generation) for every block that may have been written, ascending."""
        table_end = _HEADER.size + self.n_blocks * _ENTRY.size
        extents = ((max(start, _HEADER.size) - _HEADER.size, end - _HEADER.size)
                   for start, end in _data_extents(self.cbt_fd, table_end)
                   if end > _HEADER.size)
        for first, stop in _unit_runs(extents, _ENTRY.size):
            for start in range(first, stop, _MAX_ENTRIES_PER_READ):
                count = min(_MAX_ENTRIES_PER_READ, stop - start)
                entries = array('Q', os.pread(self.cbt_fd, count * _ENTRY.size,
                                              _HEADER.size + start * _ENTRY.size))
                if sys.byteorder == 'big':
                    entries.byteswap()
                yield from enumerate(entries, start)

    def check_range(self, offset: int, length: int, *, length_field: str) -> None:
        """Refuse ``[offset, offset + length)`` unless it lies inside the device."""
        if offset < 0 or offset > self.size:
            raise InvalidInput('offset %d is outside device %s of %d bytes'
                               % (offset, self.device_id, self.size), field='offset')
        if length < 0 or offset + length > self.size:
            raise InvalidInput('%d bytes at offset %d run past the end of device %s of %d '
                               'bytes' % (length, offset, self.device_id, self.size),
                               field=length_field)


class VolumeStore:
    """Sparse device images in one folder, with changed-block tracking (see module doc)."""

    def __init__(self, root: str, block_size: int) -> None:
        if block_size < 512 or block_size & (block_size - 1):
            raise ValueError('block_size must be a power of two of at least 512, not %d'
                             % block_size)
        self.root = root
        self.block_size = block_size

    @classmethod
    def from_config(cls) -> VolumeStore:
        """The store configured in ``[volume_store]``."""
        return cls(CONF.volume_store.path, CONF.volume_store.block_size)

    # -- lifecycle ------------------------------------------------------------------------
    def create(self, device_id: str, size_bytes: int) -> None:
        """Create an empty (all-zero, unallocated) device; again with the same size is a no-op."""
        if size_bytes <= 0:
            raise InvalidInput('device size must be positive, not %d' % size_bytes,
                               field='size_bytes')
        os.makedirs(self.root, exist_ok=True)
        with self._lock(device_id, fcntl.LOCK_EX, create=True):
            image = self._path(device_id, 'img')
            if os.path.exists(image):
                self._check_existing_size(device_id, size_bytes)
                return
            self._create_tracking(device_id, size_bytes)
            self._create_image(device_id, size_bytes)

    def delete(self, device_id: str) -> None:
        """Remove the device and its tracking; a device that is not there is fine."""
        with self._lock(device_id, fcntl.LOCK_EX, missing_ok=True) as present:
            if not present:
                return
            for suffix in ('img', 'img.tmp', 'cbt', 'lock'):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path(device_id, suffix))

    def exists(self, device_id: str) -> bool:
        """Whether the device exists."""
        return os.path.exists(self._path(device_id, 'img'))

    def size(self, device_id: str) -> int:
        """The device size in bytes."""
        try:
            return os.stat(self._path(device_id, 'img')).st_size
        except FileNotFoundError:
            raise self._not_found(device_id) from None

    # -- data -----------------------------------------------------------------------------
    def write(self, device_id: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``; every block touched gets a new write generation."""
        with self._open(device_id, fcntl.LOCK_EX) as device:
            device.check_range(offset, len(data), length_field='offset')
            if not data:
                return
            first = offset // self.block_size
            last = (offset + len(data) - 1) // self.block_size
            device.stamp(range(first, last + 1), device.next_generation())
            _pwrite_all(device.img_fd, data, offset)

    def read(self, device_id: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``; never-written ranges read as zeros."""
        with self._open(device_id, fcntl.LOCK_SH) as device:
            device.check_range(offset, length, length_field='length')
            return _pread_all(device.img_fd, length, offset)

    def fill(self, device_id: str, seed: int, fraction: float) -> int:
        """Write pseudo-random data over ``round(fraction * blocks)`` blocks; bytes written.

        ``random.Random(seed)`` picks the blocks; each block's bytes come from
        ``random.Random('<seed>:<block>')``, so the same seed on the same size of device
        always writes the same bytes at the same places.  Blocks not picked keep their
        content; all picked blocks share one new write generation.
        """
        if not 0.0 <= fraction <= 1.0:
            raise InvalidInput('fraction must be between 0 and 1, not %r' % fraction,
                               field='fraction')
        with self._open(device_id, fcntl.LOCK_EX) as device:
            picked = sorted(random.Random(seed).sample(range(device.n_blocks),
                                                       round(fraction * device.n_blocks)))
            device.stamp(picked, device.next_generation())
            return sum(self._fill_block(device, seed, block) for block in picked)

    def checksum(self, device_id: str) -> Checksum:
        """A digest equal exactly when two devices' whole contents (and sizes) are equal.

        SHA-256 over the size, then the index and bytes of every non-zero 64 KiB chunk in
        order; only the image's data extents are read, so the cost follows the allocated
        data, not the device size.  ``allocated_bytes`` is the length of the data extents.
        """
        with self._open(device_id, fcntl.LOCK_SH) as device:
            extents = list(_data_extents(device.img_fd, device.size))
            digest = hashlib.sha256(_ENTRY.pack(device.size))
            for index, chunk in _nonzero_chunks(device, extents):
                digest.update(_ENTRY.pack(index))
                digest.update(chunk)
            return Checksum(digest=digest.hexdigest(), size=device.size,
                            allocated_bytes=sum(end - start for start, end in extents))

    # -- changed-block tracking -----------------------------------------------------------
    def current_generation(self, device_id: str) -> int:
        """The generation of the device's latest write or fill (0 before any)."""
        with self._open(device_id, fcntl.LOCK_SH) as device:
            return device.generation

    def changed_blocks(self, device_id: str, since_generation: int) -> list[int]:
        """Blocks written after ``since_generation``, ascending; reads no data."""
        if since_generation < 0:
            raise InvalidInput('since_generation must not be negative',
                               field='since_generation')
        with self._open(device_id, fcntl.LOCK_SH) as device:
            return [block for block, generation in device.block_generations()
                    if generation > since_generation]

    def allocated_blocks(self, device_id: str) -> list[int]:
        """Blocks overlapping the image's data extents, ascending (holes are skipped)."""
        with self._open(device_id, fcntl.LOCK_SH) as device:
            extents = _data_extents(device.img_fd, device.size)
            return [block for first, stop in _unit_runs(extents, self.block_size)
                    for block in range(first, stop)]

    # -- internals ------------------------------------------------------------------------
    def _path(self, device_id: str, suffix: str) -> str:
        if not isinstance(device_id, str) or not _DEVICE_ID.fullmatch(device_id):
            raise InvalidInput('invalid device id %r' % (device_id,), field='device_id')
        return os.path.join(self.root, '%s.%s' % (device_id, suffix))

    @staticmethod
    def _not_found(device_id: str) -> NotFound:
        return NotFound('device %s not found in the volume store' % device_id,
                        field='device_id')

    @contextlib.contextmanager
    def _lock(self, device_id: str, mode: int, *, create: bool = False,
              missing_ok: bool = False) -> Iterator[bool]:
        """Hold ``flock(mode)`` on the device's lock file; yields False if there is none."""
        path = self._path(device_id, 'lock')
        flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        while True:
            try:
                fd = os.open(path, flags, 0o644)
            except FileNotFoundError:
                if not missing_ok:
                    raise self._not_found(device_id) from None
                yield False
                return
            try:
                fcntl.flock(fd, mode)
                if _is_current(fd, path):
                    yield True
                    return
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _open(self, device_id: str, mode: int) -> Iterator[_Device]:
        """The device, open for writing (``LOCK_EX``) or reading (``LOCK_SH``)."""
        flags = (os.O_RDWR if mode == fcntl.LOCK_EX else os.O_RDONLY) | os.O_CLOEXEC
        with self._lock(device_id, mode), contextlib.ExitStack() as stack:
            fds = []
            for suffix in ('img', 'cbt'):
                try:
                    fds.append(os.open(self._path(device_id, suffix), flags))
                except FileNotFoundError:
                    raise self._not_found(device_id) from None
                stack.callback(os.close, fds[-1])
            yield _Device(device_id, fds[0], fds[1], self.block_size)

    def _check_existing_size(self, device_id: str, size_bytes: int) -> None:
        existing = self.size(device_id)
        if existing != size_bytes:
            raise WrongState('device %s already exists with %d bytes, not %d'
                             % (device_id, existing, size_bytes), field='size_bytes')

    def _create_tracking(self, device_id: str, size_bytes: int) -> None:
        n_blocks = math.ceil(size_bytes / self.block_size)
        fd = os.open(self._path(device_id, 'cbt'),
                     os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.pwrite(fd, _HEADER.pack(_MAGIC, self.block_size, 0), 0)
            os.ftruncate(fd, _HEADER.size + n_blocks * _ENTRY.size)
        finally:
            os.close(fd)

    def _create_image(self, device_id: str, size_bytes: int) -> None:
        staging = self._path(device_id, 'img.tmp')
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.ftruncate(fd, size_bytes)
        finally:
            os.close(fd)
        os.replace(staging, self._path(device_id, 'img'))

    def _fill_block(self, device: _Device, seed: int, block: int) -> int:
        offset = block * self.block_size
        length = min(self.block_size, device.size - offset)
        _pwrite_all(device.img_fd, random.Random('%d:%d' % (seed, block)).randbytes(length),
                    offset)
        return length


# -- file helpers ---------------------------------------------------------------------------
def _is_current(fd: int, path: str) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (it was not deleted meanwhile)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    parts = []
    while length > 0:
        part = os.pread(fd, length, offset)
        if not part:
            break
        parts.append(part)
        length, offset = length - len(part), offset + len(part)
    return b''.join(parts) + bytes(length)


def _data_extents(fd: int, end: int) -> Iterator[tuple[int, int]]:
    """``[start, stop)`` of every data extent of the file before ``end`` (SEEK_DATA/HOLE)."""
    position = 0
    while position < end:
        try:
            start = os.lseek(fd, position, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                return
            raise
        if start >= end:
            return
        position = min(os.lseek(fd, start, os.SEEK_HOLE), end)
        yield start, position


def _unit_runs(extents: Iterable[tuple[int, int]], unit: int) -> Iterator[tuple[int, int]]:
    """``[first, stop)`` unit indexes overlapping ascending byte extents, never twice."""
    next_unit = 0
    for start, stop in extents:
        first = max(start // unit, next_unit)
        last = (stop - 1) // unit
        if last >= first:
            yield first, last + 1
            next_unit = last + 1


def _runs(indexes: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Ascending indexes grouped into ``[start, stop)`` runs of consecutive values."""
    for _, group in itertools.groupby(enumerate(indexes), key=lambda pair: pair[1] - pair[0]):
        members = [index for _, index in group]
        yield members[0], members[-1] + 1


def _nonzero_chunks(device: _Device, extents: list[tuple[int, int]]
                    ) -> Iterator[tuple[int, bytes]]:
    """(index, bytes) of every 64 KiB chunk in the extents that is not all zeros."""
    for first, stop in _unit_runs(extents, DIGEST_CHUNK):
        for index in range(first, stop):
            offset = index * DIGEST_CHUNK
            chunk = _pread_all(device.img_fd, min(DIGEST_CHUNK, device.size - offset), offset)
            if chunk != _ZERO_CHUNK[:len(chunk)]:
                yield index, chunk
