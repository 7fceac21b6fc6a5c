"""Migrating resources between vaults (rule V10), and changing backups' expiry.

A migration moves resources' associations and every one of their backups to another
vault of the same type in the same project; both vaults must be ``available`` (or
``locked``) and the destination's free space must exceed what the moved backups store.
The ``migrateResources`` job copies their chunks into the destination vault (chunks are
per vault) and moves the rows in its last transaction (:mod:`.vault_jobs`).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.backups import codes, vault_resources, vaults
from cbr_common.dataplane.manifest import Manifest
from cbr_common.db import models
from cbr_common.errors import InvalidInput, QuotaExceeded, WrongState
from cbr_common.inventory import GIB
from cbr_common.operations import UNFINISHED_STATES, outbox

MOVABLE_VAULT_STATES = ('available', 'locked')
_TIME_ZONE = re.compile(r'^UTC([+-])(0\d|1[0-4]):(00|30|45)$')


def moved_devices(session: Session, vault_id: str,
                  resource_ids: Sequence[str]) -> list[models.Backup]:
    """Every backup row (server backups with their disk backups) of the resources in the
    vault, locked."""
    tops = select(models.Backup.id).where(models.Backup.vault_id == vault_id,
                                          models.Backup.resource_id.in_(list(resource_ids)),
                                          models.Backup.parent_id.is_(None))
    return list(session.execute(
        select(models.Backup).where((models.Backup.id.in_(tops))
                                    | (models.Backup.parent_id.in_(tops)))
        .order_by(models.Backup.id).with_for_update()).scalars())


def _stored_bytes(session: Session, vault_id: str, devices: Sequence[models.Backup]) -> int:
    digests = {digest.hex() for device in devices if device.manifest is not None
               for digest in Manifest.decode(device.manifest).distinct_digests()}
    total = 0
    ordered = sorted(digests)
    for start in range(0, len(ordered), 500):
        total += int(session.execute(
            select(func.coalesce(func.sum(models.Chunk.plain_size), 0))
            .where(models.Chunk.vault_id == vault_id,
                   models.Chunk.digest.in_(ordered[start:start + 500]))).scalar_one())
    return total


def _require_movable(vault: models.Vault, field: str) -> None:
    if vault.status not in MOVABLE_VAULT_STATES:
        raise WrongState('vault %s is %s' % (vault.id, vault.status), field=field,
                         code=codes.VAULT_BUSY)


def request_migrate(session: Session, project_id: str, vault_id: str, destination_id: str,
                    resource_ids: Sequence[str]) -> models.Operation:
    """Check a migration and add its job; the associations move when it commits."""
    source = vaults.get(session, project_id, vault_id, lock=True)
    destination = vaults.get(session, project_id, destination_id, lock=True,
                             field_name='destination_vault_id')
    if source.id == destination.id:
        raise InvalidInput('the destination is the source vault', field='destination_vault_id')
    _require_movable(source, 'vault_id')
    _require_movable(destination, 'destination_vault_id')
    if destination.resource_type != source.resource_type:
        raise InvalidInput('vault %s holds %s, not %s' % (
            destination.id, destination.resource_type, source.resource_type),
            field='destination_vault_id', code=codes.RESOURCE_TYPE_MISMATCH)
    associated = {resource.resource_id for resource in source.resources}
    if len(set(resource_ids)) != len(resource_ids):
        raise InvalidInput('resource_ids names a resource twice', field='resource_ids')
    for resource_id in resource_ids:
        if resource_id not in associated:
            raise InvalidInput('resource %s is not in vault %s' % (resource_id, source.id),
                               field='resource_ids', code=codes.RESOURCE_NOT_IN_VAULT)
    if len(destination.resources) + len(resource_ids) > vault_resources.MAX_RESOURCES:
        raise QuotaExceeded('a vault holds at most %d resources'
                            % vault_resources.MAX_RESOURCES, field='resource_ids',
                            code=codes.TOO_MANY_RESOURCES)
    _refuse_if_running(session, source.id)
    devices = moved_devices(session, source.id, resource_ids)
    busy = [device.id for device in devices if device.status not in ('available', 'error')]
    if busy:
        raise WrongState('backup %s of the resources is being worked on' % busy[0],
                         field='resource_ids', code=codes.BACKUP_IN_PROGRESS)
    free = destination.size * GIB - vaults.used_bytes(session, destination.id)
    moved = _stored_bytes(session, source.id, devices)
    if free <= moved:
        raise InvalidInput('vault %s has %d bytes free, not more than the %d bytes the '
                           'backups store' % (destination.id, free, moved),
                           field='destination_vault_id', code=codes.CAPACITY_TOO_SMALL)
    return outbox.create(session, project_id=project_id, job_type='migrateResources',
                         params={'source_vault_id': source.id,
                                 'destination_vault_id': destination.id,
                                 'resource_ids': list(resource_ids),
                                 'backup_ids': [device.id for device in devices]},
                         entities={'vault_id': source.id, 'vault_name': source.name,
                                   'destination_vault_id': destination.id,
                                   'resource_ids': list(resource_ids),
                                   'resource_type': source.resource_type},
                         vault_id=source.id,
                         resource_id=resource_ids[0] if len(resource_ids) == 1 else None)


def _refuse_if_running(session: Session, vault_id: str) -> None:
    running = session.execute(select(models.Operation.id).where(
        models.Operation.vault_id == vault_id,
        models.Operation.job_type == 'migrateResources',
        models.Operation.status.in_(UNFINISHED_STATES)).limit(1)).scalar_one_or_none()
    if running is not None:
        raise WrongState('a migration from vault %s is running (%s)' % (vault_id, running),
                         field='vault_id', code=codes.VAULT_BUSY)


def expiry_instant(date_text: str, time_zone: str) -> dt.datetime:
    """The end of ``date_text`` (YYYY-MM-DD) in ``time_zone`` (UTC+08:00), in UTC."""
    match = _TIME_ZONE.match(time_zone)
    if match is None:
        raise InvalidInput('time_zone must look like UTC+08:00', field='time_zone')
    try:
        day = dt.date.fromisoformat(date_text)
    except ValueError as exc:
        raise InvalidInput('expect_expiration_date must be a date YYYY-MM-DD',
                           field='expect_expiration_date') from exc
    sign = 1 if match.group(1) == '+' else -1
    offset = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3))) * sign
    local_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                                    tzinfo=dt.timezone(offset))
    instant = local_end.astimezone(dt.timezone.utc)
    if instant <= clock.now():
        raise InvalidInput('expect_expiration_date %s has passed' % date_text,
                           field='expect_expiration_date')
    return instant


def request_expiry_change(session: Session, project_id: str, vault_id: str, date_text: str,
                          time_zone: str) -> tuple[models.Operation, int]:
    """Set when every backup of the vault expires; returns the task and how many backups."""
    vault = vaults.get(session, project_id, vault_id, lock=True)
    vaults.require_available(vault, 'change its backups\' expiry')
    instant = expiry_instant(date_text, time_zone)
    backup_ids = list(session.execute(select(models.Backup.id).where(
        models.Backup.vault_id == vault.id, models.Backup.parent_id.is_(None),
        models.Backup.status.in_(('available', 'error')))).scalars())
    operation = outbox.create(session, project_id=project_id, job_type='updateExpiration',
                              params={'backup_ids': backup_ids, 'expired_at': instant.isoformat()},
                              entities={'vault_id': vault.id, 'vault_name': vault.name,
                                        'affected_backups_count': len(backup_ids),
                                        'expiration_day': date_text},
                              vault_id=vault.id)
    return operation, len(backup_ids)
