"""Garbage collection of backup chunks: free what nothing references, and nothing else.

:func:`collect` frees given chunks of a vault if their ``refs`` is 0, re-checked under
the row lock, and deletes their objects after the commit (a crash in between leaves an
object without a row, which the sweep removes).  :func:`sweep`, run by the leading
scheduler every ``[chunk_store] gc_interval`` seconds and by ``cbr-manage gc``:

1. gives back the pins of operations that ended without giving them back;
2. frees every chunk at ``refs = 0``;
3. deletes every object whose row is gone or names another token.  Listing happens
   before reading the rows, and a row is always committed before its object is written,
   so an object listed without its row can only be garbage: its token is unique and
   will never be used again.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select

from cbr_common.dataplane import chunk_index
from cbr_common.dataplane.chunk_store import ChunkStore, from_config
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope

LOG = logging.getLogger(__name__)
FINAL_OPERATION_STATES = ('SUCCESS', 'FAIL')


@dataclass
class SweepReport:
    """What one sweep did."""

    released_operations: int = 0
    freed_chunks: int = 0
    orphan_objects: int = 0


def collect(vault_id: str, digests: Collection[bytes], store: ChunkStore | None = None) -> int:
    """Free the chunks among ``digests`` that no backup or job references; returns how many."""
    freed: list[str] = []
    for batch in chunk_index.batches(sorted(d.hex() for d in digests)):
        with session_scope() as session:
            rows = session.execute(
                select(models.Chunk)
                .where(models.Chunk.vault_id == vault_id, models.Chunk.digest.in_(batch),
                       models.Chunk.refs == 0)
                .order_by(models.Chunk.digest).with_for_update()).scalars().all()
            for row in rows:
                freed.append(chunk_index.object_key(vault_id, row.digest, row.token))
                session.delete(row)
    if freed:
        (store or from_config()).delete(freed)
    return len(freed)


def _release_abandoned_pins() -> int:
    with session_scope() as session:
        live = select(models.Operation.id).where(
            models.Operation.status.not_in(FINAL_OPERATION_STATES))
        abandoned = session.execute(
            select(models.ChunkPin.operation_id).distinct()
            .where(models.ChunkPin.operation_id.not_in(live))).scalars().all()
        for operation_id in abandoned:
            chunk_index.release_pins(session, operation_id)
    return len(abandoned)


def _unreferenced() -> dict[str, list[bytes]]:
    with read_scope() as session:
        rows = session.execute(select(models.Chunk.vault_id, models.Chunk.digest)
                               .where(models.Chunk.refs == 0)).all()
    found: dict[str, list[bytes]] = {}
    for vault_id, digest in rows:
        found.setdefault(vault_id, []).append(bytes.fromhex(digest))
    return found


def _remove_orphans(store: ChunkStore) -> int:
    listed = list(store.keys())
    with read_scope() as session:
        live = {chunk_index.object_key(vault_id, digest, token) for vault_id, digest, token
                in session.execute(select(models.Chunk.vault_id, models.Chunk.digest,
                                          models.Chunk.token))}
    orphans = [key for key in listed if key not in live]
    if orphans:
        store.delete(orphans)
    store.remove_leftovers()
    return len(orphans)


def sweep(store: ChunkStore | None = None) -> SweepReport:
    """One full garbage-collection pass (see the module doc)."""
    store = store or from_config()
    report = SweepReport(released_operations=_release_abandoned_pins())
    for vault_id, digests in _unreferenced().items():
        report.freed_chunks += collect(vault_id, digests, store)
    report.orphan_objects = _remove_orphans(store)
    if report.freed_chunks or report.orphan_objects or report.released_operations:
        LOG.info('chunk sweep: %s', report)
    return report
