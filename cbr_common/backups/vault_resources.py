"""Resources associated with vaults: adding and removing them.

Rules: V1 (only a vault of the resource's own type), V4 (at most 256 per vault, and a
resource in at most one vault: the resource id is the association's key, so of two
vaults claiming one resource at once exactly one wins), V5 (statuses that allow it),
V6 (associated sizes within the capacity), V9 (removing one deletes its backups there),
V12 (a server vault may back up a subset of a server's disks).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.backups import SERVER, TURBO, VOLUME, codes, requests
from cbr_common.db import models
from cbr_common.errors import InvalidInput, QuotaExceeded, WrongState
from cbr_common.inventory import lookup

MAX_RESOURCES = 256
ASSOCIABLE = {SERVER: frozenset({'ACTIVE', 'SHUTOFF'}),
              VOLUME: frozenset({'available', 'in-use'}),
              TURBO: frozenset({'200'})}
INVENTORY = {SERVER: (models.Server, 'server'), VOLUME: (models.Volume, 'disk'),
             TURBO: (models.Share, 'file system')}


@dataclass(frozen=True)
class ResourceRef:
    """A resource named in a request: its id, type and optional extra info (V12)."""

    id: str
    type: str
    extra_info: dict[str, Any] = field(default_factory=dict)


def inventory_row(session: Session, project_id: str, resource_type: str, resource_id: str,
                  *, field_name: str = 'resources') -> Any:
    """The project's server, disk or file system, or a 404."""
    model, what = INVENTORY[resource_type]
    return lookup.owned(session, model, project_id, resource_id, what=what,
                        field=field_name, code=codes.RESOURCE_NOT_FOUND)


def size_of(row: Any) -> int:
    """A resource's allocated GB: a server's is the sum of its attached disks."""
    if isinstance(row, models.Server):
        return sum(attachment.volume.size for attachment in row.attachments)
    return int(row.size)


def _current_rows(session: Session, vault: models.Vault) -> dict[str, Any]:
    model, _ = INVENTORY[vault.resource_type]
    ids = [resource.resource_id for resource in vault.resources]
    if not ids:
        return {}
    return {row.id: row for row in session.execute(
        select(model).where(model.id.in_(ids))).scalars()}


def association_problem(row: Any, resource_type: str) -> tuple[str, str] | None:
    """(short reason, message) when the resource's state refuses association (rule V5)."""
    allowed = ASSOCIABLE[resource_type]
    if row.status not in allowed:
        return ('status %s does not allow backup' % row.status,
                '%s %s is %s; only %s can be associated with a vault'
                % (INVENTORY[resource_type][1], row.id, row.status, ', '.join(sorted(allowed))))
    if resource_type == SERVER and not row.attachments:
        return 'no disk attached', 'server %s has no disk attached' % row.id
    return None


def _check_associable(row: Any, resource_type: str) -> None:
    problem = association_problem(row, resource_type)
    if problem is not None:
        raise WrongState(problem[1], field='resources', code=codes.RESOURCE_STATE)


def add(session: Session, vault: models.Vault, refs: Sequence[ResourceRef]) -> list[str]:
    """Associate resources with the vault; returns their ids."""
    if vault.status not in ('available', 'locked'):
        raise WrongState('vault %s is %s' % (vault.id, vault.status), field='vault_id',
                         code=codes.VAULT_BUSY)
    ids = [ref.id for ref in refs]
    if len(set(ids)) != len(ids):
        raise InvalidInput('resources names a resource twice', field='resources')
    for ref in refs:
        if ref.type != vault.resource_type:  # rule V1
            raise InvalidInput('resource %s is %s; vault %s holds %s' % (
                ref.id, ref.type, vault.id, vault.resource_type), field='resources',
                code=codes.RESOURCE_TYPE_MISMATCH)
    if len(vault.resources) + len(refs) > MAX_RESOURCES:  # rule V4
        raise QuotaExceeded('a vault holds at most %d resources' % MAX_RESOURCES,
                            field='resources', code=codes.TOO_MANY_RESOURCES)
    existing = _current_rows(session, vault)
    total = sum(size_of(row) for row in existing.values())
    now = clock.now()
    for ref in refs:
        row = inventory_row(session, vault.project_id, ref.type, ref.id)
        _check_associable(row, ref.type)  # rule V5
        taken = session.get(models.VaultResource, ref.id)
        if taken is not None:
            raise WrongState('resource %s is already in vault %s' % (ref.id, taken.vault_id),
                             field='resources', code=codes.RESOURCE_IN_VAULT)
        total += size_of(row)
        session.add(models.VaultResource(resource_id=ref.id, vault_id=vault.id,
                                         project_id=vault.project_id, resource_type=ref.type,
                                         name=row.name, extra_info=dict(ref.extra_info),
                                         auto_protect=True, created_at=now))
    if total > vault.size:  # rule V6
        raise InvalidInput('the associated resources total %d GB, more than the vault\'s '
                           '%d GB' % (total, vault.size), field='resources',
                           code=codes.CAPACITY_TOO_SMALL)
    try:
        session.flush()
    except IntegrityError as exc:  # another vault claimed one of them at the same instant
        raise WrongState('a resource of the request was just added to another vault',
                         field='resources', code=codes.RESOURCE_IN_VAULT) from exc
    vault.updated_at = now
    return ids


def remove(session: Session, vault: models.Vault,
           resource_ids: Sequence[str]) -> tuple[list[str], list[models.Operation]]:
    """Dissociate resources and delete all their backups in the vault (rule V9); returns
    the ids and the delete operations."""
    if vault.status not in ('available', 'locked'):
        raise WrongState('vault %s is %s' % (vault.id, vault.status), field='vault_id',
                         code=codes.VAULT_BUSY)
    associated = {resource.resource_id: resource for resource in vault.resources}
    operations = []
    for resource_id in resource_ids:
        association = associated.get(resource_id)
        if association is None:
            raise InvalidInput('resource %s is not in vault %s' % (resource_id, vault.id),
                               field='resource_ids', code=codes.RESOURCE_NOT_IN_VAULT)
        backups = session.execute(
            select(models.Backup).where(models.Backup.vault_id == vault.id,
                                        models.Backup.resource_id == resource_id,
                                        models.Backup.parent_id.is_(None))
            .order_by(models.Backup.created_at).with_for_update()).scalars().all()
        for backup in backups:
            if backup.status == 'deleting':
                continue
            operations.append(requests.delete_operation(session, backup))
        session.delete(association)
    vault.updated_at = clock.now()
    return list(resource_ids), operations


def include_volumes(association: models.VaultResource) -> frozenset[str] | None:
    """The disks a server association backs up (V12), or None for all attached ones."""
    listed = (association.extra_info or {}).get('include_volumes') or []
    return frozenset(entry['id'] for entry in listed) if listed else None



def set_auto_protect(vault: models.Vault, resource_ids: Sequence[str],
                     enabled: bool) -> list[str]:
    """Whether the vault's policy backs up each resource (``auto_protect``)."""
    associated = {resource.resource_id: resource for resource in vault.resources}
    for resource_id in resource_ids:
        if resource_id not in associated:
            raise InvalidInput('resource %s is not in vault %s' % (resource_id, vault.id),
                               field='resource_ids', code=codes.RESOURCE_NOT_IN_VAULT)
        associated[resource_id].auto_protect = enabled
    vault.updated_at = clock.now()
    return list(resource_ids)
