"""Vaults: creating one, and what it really stores (rules V14 and B6)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.backups import RESOURCE_TYPES
from cbr_common.db import models
from cbr_common.errors import InvalidInput
from cbr_common.inventory import GIB
from cbr_common.statemachine import transition


@dataclass(frozen=True)
class VaultUsage:
    """A vault's used space: exact bytes, whole GB (rounded) and percent of its capacity."""

    used_bytes: int
    used_vault_size: int
    vault_util: float


def create(session: Session, project_id: str, *, name: str, resource_type: str,
           size: int) -> models.Vault:
    """A new, available vault of ``size`` GB for backups of ``resource_type``."""
    if resource_type not in RESOURCE_TYPES:
        raise InvalidInput('resource_type must be one of %s' % ', '.join(RESOURCE_TYPES),
                           field='resource_type')
    if size < 1:
        raise InvalidInput('size must be at least 1 GB', field='size')
    now = clock.now()
    vault = models.Vault(id=ids.new_uuid(), project_id=project_id, name=name,
                         resource_type=resource_type, size=size, created_at=now,
                         updated_at=now)
    transition(session, vault, 'available', entity_type='vault')
    session.add(vault)
    return vault


def used_bytes(session: Session, vault_id: str) -> int:
    """Bytes of the distinct chunks the vault's backups (and running jobs) reference."""
    return int(session.execute(select(func.coalesce(func.sum(models.Chunk.plain_size), 0))
                               .where(models.Chunk.vault_id == vault_id,
                                      models.Chunk.refs > 0)).scalar_one())


def usage(session: Session, vault: models.Vault) -> VaultUsage:
    """The vault's used space as V14 shows it: GB rounded (200 MB shows 0), util in %."""
    used = used_bytes(session, vault.id)
    return VaultUsage(used_bytes=used, used_vault_size=round(used / GIB),
                      vault_util=round(100.0 * used / (vault.size * GIB), 2))


def capacity_used_up(session: Session, vault: models.Vault) -> bool:
    """B6: backups fail once used space exceeds the capacity (reaching it is still fine)."""
    return used_bytes(session, vault.id) > vault.size * GIB
