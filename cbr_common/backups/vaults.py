"""Vaults: creating, changing and deleting one, and what it really stores.

Rules: V1 (a vault's type never changes), V3 (expansion adds at least 1 GB, never
shrinks), V8 (deletion only when ``available`` or ``error``; it deletes every backup),
V11 (at most one policy), V14 (used space) and B6 (capacity).
"""
from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.backups import RESOURCE_TYPES, codes
from cbr_common.backups import families
from cbr_common.backups.families import CBR
from cbr_common.db import models
from cbr_common.errors import InvalidInput, WrongState
from cbr_common.inventory import GIB, lookup
from cbr_common.operations import outbox
from cbr_common.statemachine import transition

NAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
BUSY_BACKUP_STATES = ('protecting', 'restoring', 'deleting')


@dataclass(frozen=True)
class VaultUsage:
    """A vault's used space: exact bytes, whole GB (rounded) and percent of its capacity."""

    used_bytes: int
    used_vault_size: int
    vault_util: float


@dataclass(frozen=True)
class VaultSettings:
    """The settings of a vault besides its type and capacity, as CBR v3 names them."""

    description: str = ''
    consistent_level: str = 'crash_consistent'
    charging_mode: str = 'post_paid'
    auto_bind: bool = False
    auto_expand: bool = False
    smn_notify: bool = True
    threshold: int = 80
    bind_rules: list[dict[str, str]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)


def default_name(prefix: str) -> str:
    """``prefix`` and four random letters or digits (rules V2, B1, B2)."""
    return prefix + ''.join(secrets.choice(NAME_ALPHABET) for _ in range(4))


def create(session: Session, project_id: str, *, name: str | None, resource_type: str,
           size: int, settings: VaultSettings | None = None,
           user_id: str = '') -> models.Vault:
    """A new, available vault of ``size`` GB for backups of ``resource_type``."""
    if resource_type not in RESOURCE_TYPES:
        raise InvalidInput('resource_type must be one of %s' % ', '.join(RESOURCE_TYPES),
                           field='resource_type')
    if size < 1:
        raise InvalidInput('size must be at least 1 GB', field='size')
    now = clock.now()
    vault = models.Vault(id=ids.new_uuid(), project_id=project_id,
                         name=name or default_name('vault_'), resource_type=resource_type,
                         size=size, created_at=now, updated_at=now, user_id=user_id,
                         policy_id=None,
                         **dataclasses.asdict(settings or VaultSettings()))
    transition(session, vault, 'available', entity_type='vault')
    session.add(vault)
    return vault


def get(session: Session, project_id: str, vault_id: str, *, lock: bool = False,
        field_name: str = 'vault_id', family: str = CBR) -> models.Vault:
    """The project's vault of ``family``, or a 404 (also for another project's vault, and
    for a service vault asked for as a CBR one)."""
    vault = lookup.owned(session, models.Vault, project_id, vault_id, what='vault',
                         field=field_name, lock=lock, code=codes.VAULT_NOT_FOUND)
    return families.shown(vault, (family,), what='vault', field=field_name,
                          code=codes.VAULT_NOT_FOUND)


def require_available(vault: models.Vault, action: str) -> None:
    """Refuse ``action`` unless the vault is ``available`` (rule V7)."""
    if vault.status != 'available':
        raise WrongState('vault %s is %s; cannot %s' % (vault.id, vault.status, action),
                         field='vault_id', code=codes.VAULT_BUSY)


def update(session: Session, vault: models.Vault, changes: dict[str, Any]) -> models.Vault:
    """Apply the given settings; ``size`` may only grow, by at least 1 GB (rule V3)."""
    if 'size' in changes:
        require_available(vault, 'change its capacity')
        if changes['size'] <= vault.size:
            raise InvalidInput('the capacity can only be expanded, by at least 1 GB: %d GB '
                               'is not more than %d GB' % (changes['size'], vault.size),
                               field='vault.billing.size', code=codes.RESIZE_REFUSED)
    for name, value in changes.items():
        setattr(vault, name, value)
    vault.updated_at = clock.now()
    return vault


def request_delete(session: Session, project_id: str, vault_id: str) -> models.Operation:
    """Delete a vault with every backup in it (rule V8), as a ``vault_delete`` task."""
    vault = get(session, project_id, vault_id, lock=True)
    if vault.status not in ('available', 'error'):
        raise WrongState('vault %s is %s; only an available or error vault can be deleted'
                         % (vault_id, vault.status), field='vault_id', code=codes.VAULT_BUSY)
    busy = session.execute(select(models.Backup.id).where(
        models.Backup.vault_id == vault_id,
        models.Backup.status.in_(BUSY_BACKUP_STATES)).limit(1)).scalar_one_or_none()
    if busy is not None:
        raise WrongState('backup %s of vault %s is still being worked on' % (busy, vault_id),
                         field='vault_id', code=codes.VAULT_BUSY)
    imaged = session.execute(select(models.Image.backup_id).join(
        models.Backup, models.Backup.id == models.Image.backup_id).where(
        models.Backup.vault_id == vault_id).limit(1)).scalar_one_or_none()
    if imaged is not None:  # rule B7
        raise WrongState('backup %s of vault %s made an image; delete the image first'
                         % (imaged, vault_id), field='vault_id', code=codes.BACKUP_STATE)
    transition(session, vault, 'deleting', entity_type='vault')
    return outbox.create(session, project_id=project_id, job_type='deleteVault',
                         params={'vault_id': vault_id},
                         entities={'vault_id': vault_id, 'vault_name': vault.name},
                         vault_id=vault_id)


def used_bytes(session: Session, vault_id: str) -> int:
    """Bytes of the distinct chunks the vault's backups (and running jobs) reference."""
    return used_bytes_of(session, [vault_id]).get(vault_id, 0)


def used_bytes_of(session: Session, vault_ids: Collection[str]) -> dict[str, int]:
    """Used bytes of each of several vaults, in one query (vaults using nothing are absent)."""
    if not vault_ids:
        return {}
    rows = session.execute(select(models.Chunk.vault_id, func.sum(models.Chunk.plain_size))
                           .where(models.Chunk.vault_id.in_(list(vault_ids)),
                                  models.Chunk.refs > 0)
                           .group_by(models.Chunk.vault_id)).all()
    return {vault_id: int(total or 0) for vault_id, total in rows}


def usage_of(vault: models.Vault, used: int) -> VaultUsage:
    """The vault's used space as V14 shows it: GB rounded (200 MB shows 0), util in %."""
    return VaultUsage(used_bytes=used, used_vault_size=round(used / GIB),
                      vault_util=round(100.0 * used / (vault.size * GIB), 2))


def usage(session: Session, vault: models.Vault) -> VaultUsage:
    return usage_of(vault, used_bytes(session, vault.id))


def capacity_used_up(session: Session, vault: models.Vault) -> bool:
    """B6: backups fail once used space exceeds the capacity (reaching it is still fine)."""
    return used_bytes(session, vault.id) > vault.size * GIB
