"""Garbage collection of backup chunks: free what nothing references, and nothing else.

:func:`collect` frees given chunks of a vault if their ``refs`` is 0, re-checked under
the row lock, then deletes the vault's packs that no chunk lives in any more and whose
job has ended (a running job may still store chunks in its packs).  A pack's row goes
before its object, so a crash in between leaves an object without a row, which the
sweep removes.  :func:`sweep`, run by the leading scheduler every
``[chunk_store] gc_interval`` seconds and by ``cbr-manage chunks gc``:

1. gives back the pins of operations that ended without giving them back;
2. frees every chunk at ``refs = 0`` and every pack left empty;
3. deletes every object without a pack row.  Listing happens before reading the rows,
   and a pack's row is always committed before its object is written, so an object
   listed without its row can only be garbage: its token is unique and never reused.

Space is reclaimed a pack at a time: a pack stays while any chunk in it is referenced.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import exists, select

from cbr_common.dataplane import chunk_index
from cbr_common.dataplane.chunk_store import ChunkStore, from_config
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.operations import UNFINISHED_STATES

LOG = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep did."""

    released_operations: int = 0
    freed_chunks: int = 0
    freed_packs: int = 0
    orphan_objects: int = 0


def _live_operations():
    return select(models.Operation.id).where(
        models.Operation.status.in_(UNFINISHED_STATES))


def empty_packs(vault_id: str | None = None):
    """The query of packs that may go: their job has ended and no chunk lives in them."""
    query = select(models.Pack).where(
        models.Pack.operation_id.not_in(_live_operations()),
        ~exists().where(models.Chunk.vault_id == models.Pack.vault_id,
                        models.Chunk.pack == models.Pack.token))
    return query if vault_id is None else query.where(models.Pack.vault_id == vault_id)


def _free_packs(store: ChunkStore, vault_id: str | None = None) -> int:
    with session_scope() as session:
        packs = session.execute(empty_packs(vault_id).order_by(models.Pack.token)
                                .with_for_update()).scalars().all()
        keys = [chunk_index.pack_key(pack.vault_id, pack.token) for pack in packs]
        for pack in packs:
            session.delete(pack)
    if keys:
        store.delete(keys)
    return len(keys)


def _free_chunks(vault_id: str, digests: Collection[bytes]) -> int:
    freed = 0
    for batch in chunk_index.batches(sorted(d.hex() for d in digests)):
        with session_scope() as session:
            rows = session.execute(
                select(models.Chunk)
                .where(models.Chunk.vault_id == vault_id, models.Chunk.digest.in_(batch),
                       models.Chunk.refs == 0)
                .order_by(models.Chunk.digest).with_for_update()).scalars().all()
            for row in rows:
                session.delete(row)
            freed += len(rows)
    return freed


def collect(vault_id: str, digests: Collection[bytes], store: ChunkStore | None = None) -> int:
    """Free the chunks among ``digests`` that nothing references, and the packs left
    empty in the vault; returns how many chunks were freed."""
    freed = _free_chunks(vault_id, digests)
    _free_packs(store or from_config(), vault_id)
    return freed


def _release_abandoned_pins() -> int:
    with session_scope() as session:
        abandoned = session.execute(
            select(models.ChunkPin.operation_id).distinct()
            .where(models.ChunkPin.operation_id.not_in(_live_operations()))).scalars().all()
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
        live = {chunk_index.pack_key(vault_id, token) for vault_id, token
                in session.execute(select(models.Pack.vault_id, models.Pack.token))}
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
        report.freed_chunks += _free_chunks(vault_id, digests)
    report.freed_packs = _free_packs(store)
    report.orphan_objects = _remove_orphans(store)
    if any(vars(report).values()):
        LOG.info('chunk sweep: %s', report)
    return report
