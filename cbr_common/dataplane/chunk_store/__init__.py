"""The chunk store: where backup chunks live, in a local folder or an S3-compatible store.

Objects are opaque and immutable, named by keys such as
``<vault_id>/packs/<32 hex token>`` (a pack of chunks).  :func:`from_config` gives the store
``[chunk_store] backend`` selects: :class:`LocalChunkStore` (``local``) or
``S3ChunkStore`` (``s3``, in :mod:`cbr_common.dataplane.chunk_store.s3`).
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Hashable
from typing import Any

from cbr_common.config import CONF
from cbr_common.dataplane.chunk_store.base import (ChunkMissing, ChunkStore, check_key,
                                                   check_prefix)
from cbr_common.dataplane.chunk_store.local import LocalChunkStore

__all__ = ['ChunkMissing', 'ChunkStore', 'LocalChunkStore', 'check_key', 'check_prefix',
           'from_config']


def from_config() -> ChunkStore:
    """The store selected by ``[chunk_store]``: one instance per process and configuration,
    shared by every thread."""
    group = CONF.chunk_store
    if group.backend == 's3':
        # Imported here so processes using the local store never load boto3.
        from cbr_common.dataplane.chunk_store.s3 import S3ChunkStore, S3Settings
        return _shared(os.getpid(), S3ChunkStore, S3Settings.from_group(group))
    return _shared(os.getpid(), LocalChunkStore, group.path)


@functools.lru_cache(maxsize=16)
def _shared(pid: int, factory: Callable[[Any], ChunkStore], settings: Hashable) -> ChunkStore:
    """``factory(settings)``, cached.  ``pid`` is only part of the cache key: a forked child
    builds its own store rather than share its parent's connections."""
    return factory(settings)
