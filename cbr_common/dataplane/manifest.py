"""Backup manifests: which chunk holds each block of a backed-up device.

A manifest covers the whole device as it was at the backup's snapshot: every block not
listed is all zeros, every listed block is the chunk of that digest.  So every backup is a
virtual full one and restores on its own, however it was made.

Encoded form (stored in ``backups.manifest``), zlib-compressed: the header
``b'CBRMAN01'``, device size, block size and entry count (little-endian uint64), then
the ascending block indexes (uint64 each) and then the raw 32-byte digests in the same
order.
"""
from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field

from cbr_common.errors import WrongState

DIGEST_BYTES = 32
_MAGIC = b'CBRMAN01'
_HEADER = struct.Struct('<8sQQQ')


@dataclass
class Manifest:
    """A device's size, its block size and its non-zero blocks' digests (raw bytes)."""

    size: int
    block_size: int
    blocks: dict[int, bytes] = field(default_factory=dict)

    @property
    def block_count(self) -> int:
        """Blocks of the device, the last one possibly short."""
        return -(-self.size // self.block_size)

    def block_length(self, block: int) -> int:
        """Bytes of ``block`` (only the device's last block may be shorter)."""
        return min(self.block_size, self.size - block * self.block_size)

    def distinct_digests(self) -> set[bytes]:
        """Every chunk the manifest refers to, once."""
        return set(self.blocks.values())

    def updated(self, changes: Mapping[int, bytes | None]) -> Manifest:
        """A new manifest: this one with ``changes`` applied (``None`` = now zeros)."""
        blocks = dict(self.blocks)
        for block, digest in changes.items():
            if digest is None:
                blocks.pop(block, None)
            else:
                blocks[block] = digest
        return Manifest(self.size, self.block_size, blocks)

    def encode(self) -> bytes:
        """The stored form (see the module doc)."""
        order = sorted(self.blocks)
        indexes = array('Q', order)
        if sys.byteorder == 'big':
            indexes.byteswap()
        body = b''.join((_HEADER.pack(_MAGIC, self.size, self.block_size, len(order)),
                         indexes.tobytes(), b''.join(self.blocks[b] for b in order)))
        return zlib.compress(body, 1)

    @classmethod
    def decode(cls, stored: bytes) -> Manifest:
        """Read back what :meth:`encode` wrote; a damaged manifest raises WrongState."""
        try:
            body = zlib.decompress(stored)
            magic, size, block_size, count = _HEADER.unpack_from(body)
        except (zlib.error, struct.error) as exc:
            raise WrongState('backup manifest is damaged: %s' % exc) from None
        digests_at = _HEADER.size + 8 * count
        if magic != _MAGIC or len(body) != digests_at + DIGEST_BYTES * count:
            raise WrongState('backup manifest is damaged: bad header or length')
        indexes = array('Q', body[_HEADER.size:digests_at])
        if sys.byteorder == 'big':
            indexes.byteswap()
        blocks = {block: body[digests_at + i * DIGEST_BYTES:digests_at + (i + 1) * DIGEST_BYTES]
                  for i, block in enumerate(indexes)}
        return cls(size, block_size, blocks)
