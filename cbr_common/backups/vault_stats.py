"""Figures a vault shows besides its own row, read for a page of vaults in a few queries:
used space (rule V14), and per associated resource its size, backup count, backup size
and whether a backup, restore or delete of it is running."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cbr_common.backups import SERVER, TURBO, VOLUME, vaults
from cbr_common.db import models

BUSY = {'protecting': 'protecting', 'restoring': 'restoring', 'deleting': 'removing'}


@dataclass(frozen=True)
class ResourceFacts:
    """What a vault shows of one associated resource besides the association itself."""

    size: int = 0
    backup_count: int = 0
    backup_bytes: int = 0
    busy_status: str | None = None


@dataclass(frozen=True)
class VaultFacts:
    """Figures of a vault read from other tables: used bytes and its resources' facts."""

    used_bytes: int = 0
    resources: Mapping[str, ResourceFacts] = field(default_factory=dict)


def _sizes(session: Session, refs: Sequence[models.VaultResource]) -> dict[str, int]:
    by_type: dict[str, list[str]] = {}
    for ref in refs:
        by_type.setdefault(ref.resource_type, []).append(ref.resource_id)
    sizes: dict[str, int] = {}
    for resource_type, model in ((VOLUME, models.Volume), (TURBO, models.Share)):
        if by_type.get(resource_type):
            sizes.update(session.execute(select(model.id, model.size)
                                         .where(model.id.in_(by_type[resource_type]))).all())
    if by_type.get(SERVER):
        sizes.update(session.execute(
            select(models.VolumeAttachment.server_id, func.sum(models.Volume.size))
            .join(models.Volume, models.Volume.id == models.VolumeAttachment.volume_id)
            .where(models.VolumeAttachment.server_id.in_(by_type[SERVER]))
            .group_by(models.VolumeAttachment.server_id)).all())
    return {resource_id: int(size or 0) for resource_id, size in sizes.items()}


def facts(session: Session, rows: Sequence[models.Vault]) -> dict[str, VaultFacts]:
    """The facts of each vault of ``rows``, by vault id."""
    ids = [v.id for v in rows]
    if not ids:
        return {}
    refs = [ref for v in rows for ref in v.resources]
    used = vaults.used_bytes_of(session, ids)
    sizes = _sizes(session, refs)
    counts = {(vault_id, resource_id): (int(count), int(total or 0))
              for vault_id, resource_id, count, total in session.execute(
                  select(models.Backup.vault_id, models.Backup.resource_id, func.count(),
                         func.sum(models.Backup.added_bytes))
                  .where(models.Backup.vault_id.in_(ids), models.Backup.parent_id.is_(None))
                  .group_by(models.Backup.vault_id, models.Backup.resource_id))}
    busy = {(vault_id, resource_id): BUSY[status]
            for vault_id, resource_id, status in session.execute(
                select(models.Backup.vault_id, models.Backup.resource_id, models.Backup.status)
                .where(models.Backup.vault_id.in_(ids), models.Backup.parent_id.is_(None),
                       models.Backup.status.in_(list(BUSY))))}
    found: dict[str, VaultFacts] = {}
    for v in rows:
        per_resource = {}
        for ref in v.resources:
            key = (v.id, ref.resource_id)
            count, total = counts.get(key, (0, 0))
            per_resource[ref.resource_id] = ResourceFacts(
                size=sizes.get(ref.resource_id, 0), backup_count=count, backup_bytes=total,
                busy_status=busy.get(key))
        found[v.id] = VaultFacts(used_bytes=used.get(v.id, 0), resources=per_resource)
    return found
