"""The volume store: the bytes of simulated EVS disks and SFS Turbo file systems.

Every device (a disk or a file system, which is a block-device image here) is named by its
resource id and lives in one folder, ``[volume_store] path``, as three files, and two more
while it has a snapshot:

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
    Empty.  ``flock``-ed exclusively around every change (create, write, fill, write_blocks,
    snapshot, drop_snapshot, delete) and shared around every read, so any number of threads
    and processes may use a device.
``<id>.snap``
    The device's snapshot (it has at most one).  A 40-byte header -- the magic
    ``b'CBRSNP01'``, the block size and the generation the device had when the snapshot was
    taken, both little-endian uint64, then the snapshot's random 16-byte token -- followed
    by one little-endian uint64 per block: 0 while the snapshot still shares the block with
    the image, else the block's generation at snapshot time plus one.  Sparse.
``<id>.snapdata``
    The snapshot's old bytes of the blocks changed since it was taken, at the same offsets
    as in the image.  Sparse.

Each write, fill or write_blocks (the restore path, which punches holes for zero blocks)
takes the next generation and stamps every block it touches with it.  The header is
written first, then the block stamps, then the data, so a process killed half way leaves
blocks marked changed that maybe did not change, never the reverse.

Snapshots are copy-on-write, like LVM's: taking one copies nothing, and every later change
first preserves each touched block the snapshot still shares -- its bytes into
``.snapdata``, then its generation into the table -- and only then stamps the blocks and
writes the image.  (A block never written before has generation 0 and is all zeros: its
entry, 1, preserves it without copying anything.)  An entry appears only after its bytes
and the image changes only after its entries, so a process killed at any point leaves the
snapshot reading exactly its point-in-time bytes.

``snapshot`` takes the exclusive locks of all its devices (in sorted id order, so two
callers never deadlock), so a group's snapshots are one instant.  It makes sure
``.snapdata`` exists, writes the new header and an all-zero table to ``<id>.snap.tmp``,
renames that over ``.snap`` -- the commit point -- and then empties ``.snapdata``.  A crash
before the rename leaves the old snapshot whole, its table and bytes untouched; after it,
no entry of the new table points into ``.snapdata``, so old bytes left there are never
read, and a block's bytes are written there again before an entry points at them: a new
token never meets old entries.  ``drop_snapshot`` removes ``.snap``, then ``.snapdata``.

A device exists exactly when its image exists.  ``create`` makes the lock file, then the
tracking file, then renames a finished image (``<id>.img.tmp``) into place; ``delete``
removes the image, the tracking file, the snapshot files and last the lock file (while
holding it; a process that was waiting for that lock sees the file is gone and retries).
A crash in either leaves a device that ``exists`` denies and that the same call, repeated,
completes.

Checksums hash fixed 64 KiB chunks whatever the block size, so equal contents give equal
digests in any two stores.
"""
from __future__ import annotations

import bisect
import contextlib
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypedDict

from cbr_common.config import CONF
from cbr_common.dataplane import snapshot_file, sparse_io
from cbr_common.dataplane.snapshot_file import Snapshot, SnapshotFiles, SnapshotGone
from cbr_common.errors import InvalidInput, NotFound, WrongState

__all__ = ['DIGEST_CHUNK', 'GIB', 'Checksum', 'Snapshot', 'SnapshotGone', 'VolumeStore']

GIB = 1024 ** 3
"""Bytes in one GB of a volume's or share's ``size``."""
DIGEST_CHUNK = 64 * 1024
"""Unit of :meth:`VolumeStore.checksum`, independent of the block size."""

_MAGIC = b'CBRCBT01'
_HEADER = struct.Struct('<8sQQ')
_ENTRY = struct.Struct('<Q')
_MAX_ENTRIES_PER_READ = 128 * 1024
_LOOKUP_WINDOW = 8 * 1024
"""Entries read at once when looking up scattered blocks (64 KiB of table)."""
_COPY_BLOCKS = 256
"""Most blocks preserved by one read and one write (16 MiB at 64 KiB blocks)."""
_ZERO_CHUNK = bytes(DIGEST_CHUNK)
_DEVICE_ID = re.compile(r'[A-Za-z0-9][A-Za-z0-9_-]{0,127}')


class Checksum(TypedDict):
    """What :meth:`VolumeStore.checksum` reports about a device."""

    digest: str
    size: int
    allocated_bytes: int


class _Table:
    """A ``.cbt`` or ``.snap`` table: one little-endian uint64 per block after a header."""

    def __init__(self, fd: int, header_size: int, n_blocks: int) -> None:
        self.fd = fd
        self.header_size = header_size
        self.n_blocks = n_blocks

    def read(self, start: int, stop: int) -> array:
        """The entries of blocks ``start`` to ``stop`` (exclusive), in one read."""
        raw = sparse_io.pread_all(self.fd, (stop - start) * _ENTRY.size, self._offset(start))
        entries = array('Q', raw)
        if sys.byteorder == 'big':
            entries.byteswap()
        return entries

    def store(self, blocks: Iterable[int], entry_of: Callable[[int], int]) -> None:
        """Set the entries of ascending ``blocks`` to ``entry_of(block)``, a write per run."""
        for start, stop in sparse_io.runs(blocks):
            entries = array('Q', map(entry_of, range(start, stop)))
            if sys.byteorder == 'big':
                entries.byteswap()
            sparse_io.pwrite_all(self.fd, entries.tobytes(), self._offset(start))

    def lookup(self, blocks: Sequence[int]) -> dict[int, int]:
        """The entries of ascending ``blocks``: one read per window of the table holding any."""
        found: dict[int, int] = {}
        index = 0
        while index < len(blocks):
            first = blocks[index]
            end = bisect.bisect_left(blocks, first + _LOOKUP_WINDOW, index)
            window = self.read(first, blocks[end - 1] + 1)
            found.update((block, window[block - first]) for block in blocks[index:end])
            index = end
        return found

    def written(self) -> Iterator[tuple[int, int]]:
        """(block, entry) for every entry in the file's data extents (the rest are 0)."""
        extents = ((max(start, self.header_size) - self.header_size, stop - self.header_size)
                   for start, stop in sparse_io.data_extents(self.fd, self._offset(self.n_blocks))
                   if stop > self.header_size)
        for first, stop in sparse_io.unit_runs(extents, _ENTRY.size):
            for start in range(first, stop, _MAX_ENTRIES_PER_READ):
                yield from enumerate(self.read(start, min(start + _MAX_ENTRIES_PER_READ, stop)),
                                     start)

    def _offset(self, block: int) -> int:
        return self.header_size + block * _ENTRY.size


class _Device:
    """An open device under its lock: image and tracking, size, generation, snapshot."""

    def __init__(self, device_id: str, img_fd: int, cbt_fd: int, block_size: int) -> None:
        self.device_id = device_id
        self.img_fd = img_fd
        self.cbt_fd = cbt_fd
        self.block_size = block_size
        self.size = os.fstat(img_fd).st_size
        self.n_blocks = math.ceil(self.size / block_size)
        self.cbt = _Table(cbt_fd, _HEADER.size, self.n_blocks)
        self.generation = self._read_header()
        self.snapshot: SnapshotFiles | None = None

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

    def begin_change(self, blocks: Sequence[int]) -> None:
        """Do, in crash order, what must precede new bytes on ``blocks`` (ascending).

        Copy-on-write of the blocks the snapshot still shares, then a new generation
        stamped on them all.
        """
        if self.snapshot is not None:
            self.snapshot.preserve(blocks)
        generation = self.next_generation()
        self.cbt.store(blocks, lambda _: generation)

    def byte_range(self, start: int, stop: int) -> tuple[int, int]:
        """(offset, length) of blocks ``start`` to ``stop`` (exclusive); the last may be short."""
        offset = start * self.block_size
        return offset, min(stop * self.block_size, self.size) - offset

    def copy_blocks(self, fd: int, blocks: Iterable[int]) -> None:
        """Copy the image's ascending ``blocks`` into ``fd`` at the same offsets, in runs."""
        for start, stop in sparse_io.runs(blocks):
            for first in range(start, stop, _COPY_BLOCKS):
                offset, length = self.byte_range(first, min(first + _COPY_BLOCKS, stop))
                sparse_io.pwrite_all(fd, sparse_io.pread_all(self.img_fd, length, offset), offset)

    def read_blocks(self, blocks: Sequence[int],
                    fd_of: Callable[[int], int | None]) -> list[bytes]:
        """Each block's bytes, from the file ``fd_of(block)`` names (None: zeros).

        One read per run of neighbouring blocks from the same file.
        """
        found: list[bytes] = []
        for fd, start, stop in sparse_io.keyed_runs(blocks, fd_of):
            offset, length = self.byte_range(start, stop)
            data = bytes(length) if fd is None else sparse_io.pread_all(fd, length, offset)
            found += [data[at:at + self.block_size] for at in range(0, length, self.block_size)]
        return found

    def check_blocks(self, blocks: Iterable[int]) -> None:
        """Refuse block indexes outside the device."""
        for block in blocks:
            if not 0 <= block < self.n_blocks:
                raise InvalidInput('block %d is outside device %s of %d blocks'
                                   % (block, self.device_id, self.n_blocks), field='blocks')

    def check_whole_blocks(self, blocks: Sequence[tuple[int, bytes | None]]) -> None:
        """Refuse unless ascending blocks of the device each come with all their bytes or None."""
        indexes = [block for block, _ in blocks]
        self.check_blocks(indexes)
        if any(earlier >= later for earlier, later in itertools.pairwise(indexes)):
            raise InvalidInput('block indexes must be ascending', field='blocks')
        for block, data in blocks:
            length = self.byte_range(block, block + 1)[1]
            if data is not None and len(data) != length:
                raise InvalidInput('block %d of device %s needs %d bytes, not %d'
                                   % (block, self.device_id, length, len(data)), field='blocks')

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
    """Sparse device images in one folder, change-tracked and snapshotted (see module doc)."""

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
            n_blocks = math.ceil(size_bytes / self.block_size)
            sparse_io.create_file(self._path(device_id, 'cbt'),
                                  _HEADER.size + n_blocks * _ENTRY.size,
                                  _HEADER.pack(_MAGIC, self.block_size, 0))
            self._install(device_id, 'img', size_bytes)

    def delete(self, device_id: str) -> None:
        """Remove the device, its tracking and its snapshot; a device not there is fine."""
        with self._lock(device_id, fcntl.LOCK_EX, missing_ok=True) as present:
            if present:
                self._unlink(device_id, ('img', 'img.tmp', 'cbt', 'snap', 'snap.tmp',
                                         'snapdata', 'lock'))

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
        with self._open(device_id, fcntl.LOCK_EX, with_snapshot=True) as device:
            device.check_range(offset, len(data), length_field='offset')
            if not data:
                return
            first = offset // self.block_size
            last = (offset + len(data) - 1) // self.block_size
            device.begin_change(range(first, last + 1))
            sparse_io.pwrite_all(device.img_fd, data, offset)

    def write_blocks(self, device_id: str, blocks: Sequence[tuple[int, bytes | None]]) -> None:
        """Write whole blocks (the restore path), all in one new write generation.

        ``blocks`` are (index, bytes) in ascending index order, the bytes exactly the
        block's length (the device's last block may be short) or None for all zeros.  Zero
        blocks are deallocated (hole punching), or written as zeros where that cannot be
        done and the image holds data there; every block is stamped either way.
        """
        with self._open(device_id, fcntl.LOCK_EX, with_snapshot=True) as device:
            device.check_whole_blocks(blocks)
            if not blocks:
                return
            payloads = dict(blocks)
            device.begin_change(list(payloads))
            for has_data, start, stop in sparse_io.keyed_runs(
                    payloads, lambda block: payloads[block] is not None):
                offset, length = device.byte_range(start, stop)
                if has_data:
                    data = b''.join(payloads[block] for block in range(start, stop))
                    sparse_io.pwrite_all(device.img_fd, data, offset)
                else:
                    sparse_io.zero_range(device.img_fd, offset, length)

    def read(self, device_id: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``; never-written ranges read as zeros."""
        with self._open(device_id, fcntl.LOCK_SH) as device:
            device.check_range(offset, length, length_field='length')
            return sparse_io.pread_all(device.img_fd, length, offset)

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
        with self._open(device_id, fcntl.LOCK_EX, with_snapshot=True) as device:
            picked = sorted(random.Random(seed).sample(range(device.n_blocks),
                                                       round(fraction * device.n_blocks)))
            device.begin_change(picked)
            return sum(self._fill_block(device, seed, block) for block in picked)

    def checksum(self, device_id: str) -> Checksum:
        """A digest equal exactly when two devices' whole contents (and sizes) are equal.

        SHA-256 over the size, then the index and bytes of every non-zero 64 KiB chunk in
        order; only the image's data extents are read, so the cost follows the allocated
        data, not the device size.  ``allocated_bytes`` is the length of the data extents.
        """
        with self._open(device_id, fcntl.LOCK_SH) as device:
            extents = list(sparse_io.data_extents(device.img_fd, device.size))
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
        _check_since(since_generation)
        with self._open(device_id, fcntl.LOCK_SH) as device:
            return [block for block, generation in device.cbt.written()
                    if generation > since_generation]

    def allocated_blocks(self, device_id: str) -> list[int]:
        """Blocks overlapping the image's data extents, ascending (holes are skipped)."""
        with self._open(device_id, fcntl.LOCK_SH) as device:
            extents = sparse_io.data_extents(device.img_fd, device.size)
            return [block for first, stop in sparse_io.unit_runs(extents, self.block_size)
                    for block in range(first, stop)]

    # -- snapshots ------------------------------------------------------------------------
    def snapshot(self, device_ids: Sequence[str]) -> dict[str, Snapshot]:
        """Snapshot every device at one instant; each device's previous snapshot is discarded.

        Takes the exclusive locks of all the devices (in sorted id order, so two callers
        never deadlock), then creates each snapshot, then releases them.  Raises
        :class:`NotFound` for a missing device, and takes no snapshot at all then.
        """
        with contextlib.ExitStack() as stack:
            devices = [stack.enter_context(self._open(device_id, fcntl.LOCK_EX))
                       for device_id in sorted(set(device_ids))]
            return {device.device_id: self._take_snapshot(device) for device in devices}

    def snapshot_of(self, device_id: str) -> Snapshot | None:
        """The device's current snapshot, if any."""
        with self._open(device_id, fcntl.LOCK_SH, with_snapshot=True) as device:
            return None if device.snapshot is None else device.snapshot.describe()

    def drop_snapshot(self, device_id: str, token: str) -> None:
        """Discard the snapshot if it is still the one named by ``token`` (no-op otherwise)."""
        with (contextlib.suppress(NotFound),
              self._open(device_id, fcntl.LOCK_EX, with_snapshot=True) as device):
            if device.snapshot is not None and device.snapshot.token == token:
                self._unlink(device_id, ('snap', 'snapdata'))

    def snapshot_changed_blocks(self, snap: Snapshot, since_generation: int) -> list[int]:
        """Blocks (ascending) whose generation as of the snapshot is above ``since_generation``.

        0 gives every block written before the snapshot.  Reads no image data and visits
        only the tracked part of the tables.  Raises :class:`SnapshotGone` if the snapshot
        was replaced or dropped.
        """
        _check_since(since_generation)
        with self._open(snap.device_id, fcntl.LOCK_SH, with_snapshot=True) as device:
            return snapshot_file.current(device.snapshot, snap).changed_since(since_generation)

    def read_snapshot(self, snap: Snapshot, blocks: Sequence[int]) -> list[bytes]:
        """The bytes of each block as they were when the snapshot was taken.

        Each is ``block_size`` long but the device's last block, which may be shorter.  One
        shared-lock hold per call, one table read per batch (spanning up to 8192 blocks)
        and one data read per run of neighbouring blocks with the same source: the image,
        the preserved bytes, or zeros.  Raises :class:`SnapshotGone` if the device's
        current snapshot is not ``snap``.
        """
        with self._open(snap.device_id, fcntl.LOCK_SH, with_snapshot=True) as device:
            files = snapshot_file.current(device.snapshot, snap)
            device.check_blocks(blocks)
            return files.read(blocks)

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
                if sparse_io.is_current(fd, path):
                    yield True
                    return
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _open(self, device_id: str, mode: int, *,
              with_snapshot: bool = False) -> Iterator[_Device]:
        """The device, open for writing (``LOCK_EX``) or reading (``LOCK_SH``)."""
        flags = (os.O_RDWR if mode == fcntl.LOCK_EX else os.O_RDONLY) | os.O_CLOEXEC
        with self._lock(device_id, mode), contextlib.ExitStack() as stack:
            try:
                img_fd, cbt_fd = [self._open_file(stack, device_id, suffix, flags)
                                  for suffix in ('img', 'cbt')]
            except FileNotFoundError:
                raise self._not_found(device_id) from None
            device = _Device(device_id, img_fd, cbt_fd, self.block_size)
            if with_snapshot:
                device.snapshot = self._open_snapshot(stack, device, flags)
            yield device

    def _open_snapshot(self, stack: contextlib.ExitStack, device: _Device,
                       flags: int) -> SnapshotFiles | None:
        try:
            table_fd = self._open_file(stack, device.device_id, 'snap', flags)
        except FileNotFoundError:
            return None
        return SnapshotFiles(device, _Table(table_fd, snapshot_file.HEADER.size, device.n_blocks),
                             self._open_file(stack, device.device_id, 'snapdata', flags))

    def _open_file(self, stack: contextlib.ExitStack, device_id: str, suffix: str,
                   flags: int) -> int:
        fd = os.open(self._path(device_id, suffix), flags)
        stack.callback(os.close, fd)
        return fd

    def _take_snapshot(self, device: _Device) -> Snapshot:
        """Replace the device's snapshot by a new, empty one, in the module doc's order."""
        token = snapshot_file.new_token()
        data_path = self._path(device.device_id, 'snapdata')
        os.close(os.open(data_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
        self._install(device.device_id, 'snap',
                      snapshot_file.HEADER.size + device.n_blocks * _ENTRY.size,
                      snapshot_file.pack_header(self.block_size, device.generation, token))
        os.truncate(data_path, 0)
        return snapshot_file.describe(device, token, device.generation)

    def _install(self, device_id: str, suffix: str, size: int, header: bytes = b'') -> None:
        """Build ``<id>.<suffix>`` as ``<id>.<suffix>.tmp``, then rename it into place."""
        staging = self._path(device_id, suffix + '.tmp')
        sparse_io.create_file(staging, size, header)
        os.replace(staging, self._path(device_id, suffix))

    def _unlink(self, device_id: str, suffixes: Iterable[str]) -> None:
        for suffix in suffixes:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(device_id, suffix))

    def _check_existing_size(self, device_id: str, size_bytes: int) -> None:
        existing = self.size(device_id)
        if existing != size_bytes:
            raise WrongState('device %s already exists with %d bytes, not %d'
                             % (device_id, existing, size_bytes), field='size_bytes')

    def _fill_block(self, device: _Device, seed: int, block: int) -> int:
        offset = block * self.block_size
        length = min(self.block_size, device.size - offset)
        data = random.Random('%d:%d' % (seed, block)).randbytes(length)
        sparse_io.pwrite_all(device.img_fd, data, offset)
        return length


def _check_since(since_generation: int) -> None:
    if since_generation < 0:
        raise InvalidInput('since_generation must not be negative', field='since_generation')


def _nonzero_chunks(device: _Device, extents: list[tuple[int, int]]
                    ) -> Iterator[tuple[int, bytes]]:
    """(index, bytes) of every 64 KiB chunk in the extents that is not all zeros."""
    for first, stop in sparse_io.unit_runs(extents, DIGEST_CHUNK):
        for index in range(first, stop):
            offset = index * DIGEST_CHUNK
            length = min(DIGEST_CHUNK, device.size - offset)
            chunk = sparse_io.pread_all(device.img_fd, length, offset)
            if chunk != _ZERO_CHUNK[:len(chunk)]:
                yield index, chunk
