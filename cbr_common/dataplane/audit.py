"""Consistency audit of backup data: do the chunk index, the manifests and the store agree?

For every chunk row, ``refs`` must equal the number of backups whose manifest holds it
plus the times running jobs pinned it; every stored chunk's pack must exist; and, after
a garbage-collection sweep, no chunk is unreferenced, no pack is empty and no object
lacks its pack row.
``cbr-manage chunks audit`` prints this report; the tests assert it is clean.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from cbr_common.dataplane import chunk_index, gc
from cbr_common.dataplane.chunk_store import ChunkStore, from_config
from cbr_common.dataplane.manifest import DIGEST_BYTES, Manifest
from cbr_common.db import models
from cbr_common.db.engine import read_scope


@dataclass
class AuditReport:
    """Every disagreement found; all empty means consistent."""

    wrong_refs: dict[str, tuple[int, int]] = field(default_factory=dict)
    """``vault/digest`` -> (refs in the index, references counted)."""
    unknown_references: list[str] = field(default_factory=list)
    """Manifest or pin references to chunks the index does not have."""
    unreferenced: list[str] = field(default_factory=list)
    empty_packs: list[str] = field(default_factory=list)
    missing_objects: list[str] = field(default_factory=list)
    orphan_objects: list[str] = field(default_factory=list)
    pinned: int = 0
    chunks: int = 0

    @property
    def consistent(self) -> bool:
        """No wrong count, no dangling reference, no missing object."""
        return not (self.wrong_refs or self.unknown_references or self.missing_objects)

    @property
    def clean(self) -> bool:
        """Consistent, and nothing left for the garbage collector or held by a job."""
        return (self.consistent and not self.unreferenced and not self.empty_packs
                and not self.orphan_objects and not self.pinned)


def _counted_references() -> tuple[Counter[tuple[str, bytes]], int]:
    counted: Counter[tuple[str, bytes]] = Counter()
    pinned = 0
    with read_scope() as session:
        for vault_id, stored in session.execute(
                select(models.Backup.vault_id, models.Backup.manifest)
                .where(models.Backup.manifest.is_not(None))):
            counted.update((vault_id, digest)
                           for digest in Manifest.decode(stored).distinct_digests())
        for vault_id, raw in session.execute(select(models.ChunkPin.vault_id,
                                                    models.ChunkPin.digests)):
            pinned += 1
            counted.update((vault_id, raw[i:i + DIGEST_BYTES])
                           for i in range(0, len(raw), DIGEST_BYTES))
    return counted, pinned


def audit(store: ChunkStore | None = None) -> AuditReport:
    """Compare the index with the manifests, the pins, the packs and the store's objects."""
    store = store or from_config()
    listed = set(store.keys())
    counted, pinned = _counted_references()
    report = AuditReport(pinned=pinned)
    with read_scope() as session:
        rows = session.execute(select(models.Chunk)).scalars().all()
        packs = {chunk_index.pack_key(p.vault_id, p.token)
                 for p in session.execute(select(models.Pack)).scalars()}
        report.empty_packs = sorted(chunk_index.pack_key(p.vault_id, p.token) for p in
                                    session.execute(gc.empty_packs()).scalars())
    report.chunks = len(rows)
    for row in rows:
        name = '%s/%s' % (row.vault_id, row.digest)
        expected = counted.pop((row.vault_id, bytes.fromhex(row.digest)), 0)
        if row.refs != expected:
            report.wrong_refs[name] = (row.refs, expected)
        if row.refs == 0:
            report.unreferenced.append(name)
        if row.stored:
            key = chunk_index.pack_key(row.vault_id, row.pack)
            if key not in packs or key not in listed:
                report.missing_objects.append(name)
    report.unknown_references = sorted('%s/%s' % (vault_id, digest.hex())
                                       for vault_id, digest in counted)
    report.orphan_objects = sorted(listed - packs)
    return report
