"""A device's copy-on-write snapshot: its ``.snap`` and ``.snapdata`` files and what they mean.

The file formats and the crash ordering are in the module doc of
:mod:`cbr_common.dataplane.volume_store`, which opens the files, holds the locks and provides
the block I/O (:class:`Device`, :class:`EntryTable`).  Here are the rules: which blocks a
change must preserve first, where the snapshot's bytes of a block are, and what a block's
generation was when the snapshot was taken.

A table entry is 0 while the snapshot still shares the block with the image, else the
block's generation at snapshot time plus one.  A block never written before the snapshot
(generation 0, entry 1) is all zeros, so preserving it copies nothing.
"""
from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from cbr_common.errors import WrongState

MAGIC = b'CBRSNP01'
HEADER = struct.Struct('<8sQQ16s')
"""Magic, block size, the device's generation at snapshot time, token."""
_TOKEN_BYTES = 16
_NEVER_WRITTEN = 1
"""The entry of a block preserved while its generation was 0: all zeros."""


@dataclass(frozen=True)
class Snapshot:
    """A device's snapshot: what backups read."""

    device_id: str
    token: str
    """32 hex chars, random, identifies this snapshot."""
    generation: int
    """The device's write generation when the snapshot was taken."""
    size: int
    """Device size in bytes."""
    block_size: int


class SnapshotGone(WrongState):
    """The snapshot a reader holds was replaced or dropped."""


class EntryTable(Protocol):
    """A per-block table of uint64 entries: the device's ``.cbt`` or ``.snap``."""

    fd: int

    def lookup(self, blocks: Sequence[int]) -> dict[int, int]:
        """The entries of ascending ``blocks``."""

    def store(self, blocks: Iterable[int], entry_of: Callable[[int], int]) -> None:
        """Set the entries of ascending ``blocks``."""

    def written(self) -> Iterator[tuple[int, int]]:
        """(block, entry) for every block whose entry may be non-zero, ascending."""


class Device(Protocol):
    """What a snapshot needs of its device, open under the device's lock."""

    device_id: str
    size: int
    block_size: int
    img_fd: int

    @property
    def cbt(self) -> EntryTable:
        """The device's changed-block tracking table."""

    def copy_blocks(self, fd: int, blocks: Iterable[int]) -> None:
        """Copy the image's ascending ``blocks`` into ``fd`` at the same offsets."""

    def read_blocks(self, blocks: Sequence[int],
                    fd_of: Callable[[int], int | None]) -> list[bytes]:
        """Each block's bytes from the file ``fd_of(block)`` names (None: zeros)."""


class SnapshotFiles:
    """A device's open snapshot: the header and table of ``.snap``, and ``.snapdata``."""

    def __init__(self, device: Device, table: EntryTable, data_fd: int) -> None:
        self.generation, self.token = _unpack_header(os.pread(table.fd, HEADER.size, 0),
                                                     device)
        self.device = device
        self.table = table
        self.data_fd = data_fd

    def describe(self) -> Snapshot:
        """The record of this snapshot."""
        return describe(self.device, self.token, self.generation)

    def preserve(self, blocks: Sequence[int]) -> None:
        """Save the snapshot's view of the ``blocks`` (ascending) it still shares.

        The bytes of them all first, then their entries, so that no entry ever names bytes
        not yet saved.
        """
        entries = self.table.lookup(blocks)
        shared = [block for block in blocks if entries[block] == 0]
        generations = self.device.cbt.lookup(shared)
        self.device.copy_blocks(self.data_fd, (block for block in shared if generations[block]))
        self.table.store(shared, lambda block: generations[block] + 1)

    def read(self, blocks: Sequence[int]) -> list[bytes]:
        """The snapshot's bytes of ``blocks``: live, preserved or never written (zeros)."""
        entries = self.table.lookup(sorted(set(blocks)))

        def fd_of(block: int) -> int | None:
            entry = entries[block]
            if entry == 0:
                return self.device.img_fd
            return None if entry == _NEVER_WRITTEN else self.data_fd
        return self.device.read_blocks(blocks, fd_of)

    def changed_since(self, since_generation: int) -> list[int]:
        """Blocks (ascending) whose generation as of the snapshot is above ``since_generation``.

        Only blocks written after the snapshot have a (non-zero) entry, holding the
        generation they had then; both tables are read only where they hold data.
        """
        then = {block: entry - 1 for block, entry in self.table.written() if entry}
        return [block for block, generation in self.device.cbt.written()
                if then.get(block, generation) > since_generation]


def describe(device: Device, token: str, generation: int) -> Snapshot:
    """The record of ``device``'s snapshot ``token``, taken at ``generation``."""
    return Snapshot(device.device_id, token, generation, device.size, device.block_size)


def current(files: SnapshotFiles | None, snap: Snapshot) -> SnapshotFiles:
    """The device's open snapshot if it is still ``snap``, else :class:`SnapshotGone`."""
    if files is None or files.token != snap.token:
        raise SnapshotGone('snapshot %s of device %s was replaced or dropped'
                           % (snap.token, snap.device_id))
    return files


def new_token() -> str:
    """A fresh random snapshot token (32 hex chars)."""
    return secrets.token_hex(_TOKEN_BYTES)


def pack_header(block_size: int, generation: int, token: str) -> bytes:
    """The ``.snap`` header of snapshot ``token`` taken at ``generation``."""
    return HEADER.pack(MAGIC, block_size, generation, bytes.fromhex(token))


def _unpack_header(raw: bytes, device: Device) -> tuple[int, str]:
    """(generation, token) from a ``.snap`` header, after checking it matches the device."""
    magic, block_size, generation, token = (HEADER.unpack(raw) if len(raw) == HEADER.size
                                            else (b'', 0, 0, b''))
    if magic != MAGIC or block_size != device.block_size:
        raise WrongState('the snapshot of device %s was taken with block size %d, not %d (or '
                         'its table is damaged)' % (device.device_id, block_size,
                                                    device.block_size))
    return generation, token.hex()
