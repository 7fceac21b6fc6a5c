"""Backup, restore and delete requests: the API side of the backup jobs.

Each function checks the request, moves the rows it concerns to their transitional
status and adds the operation, all in the caller's transaction; the caller publishes
the operation after the commit (:mod:`cbr_api.intent` does both).
"""
from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.backups import SERVER, TURBO, VOLUME
from cbr_common.db import models
from cbr_common.errors import InvalidInput, WrongState
from cbr_common.inventory import lookup, volumes
from cbr_common.inventory.volumes import CMK_KEY, ENCRYPTED_KEY
from cbr_common.operations import outbox
from cbr_common.statemachine import transition

BACKUP_READY_VOLUME = frozenset({'available', 'in-use'})
BACKUP_READY_SERVER = frozenset({'ACTIVE', 'SHUTOFF'})
BACKUP_READY_SHARE = frozenset({'200'})


def _key_id(volume: models.Volume) -> str | None:
    """The KMS key of an encrypted disk (EVS metadata), None for a plain one."""
    if (volume.metadata_ or {}).get(ENCRYPTED_KEY) != '1':
        return None
    key_id = volume.metadata_.get(CMK_KEY)
    if not key_id:
        raise WrongState('disk %s is encrypted but names no %s' % (volume.id, CMK_KEY),
                         field='resource_id')
    return key_id


def _new_backup(session: Session, vault: models.Vault, *, resource_id: str,
                resource_type: str, resource_size: int, name: str, full: bool,
                parent: models.Backup | None = None, key_id: str | None = None
                ) -> models.Backup:
    now = clock.now()
    backup = models.Backup(id=ids.new_uuid(), project_id=vault.project_id, vault_id=vault.id,
                           parent_id=parent.id if parent else None, resource_id=resource_id,
                           resource_type=resource_type, resource_size=resource_size,
                           name=name, incremental=False, full_requested=full, key_id=key_id,
                           added_bytes=0, created_at=now, updated_at=now)
    transition(session, backup, 'protecting', entity_type='backup')
    session.add(backup)
    return backup


def _refuse_if_busy(session: Session, resource_id: str) -> None:
    running = session.execute(select(models.Backup.id).where(
        models.Backup.resource_id == resource_id,
        models.Backup.status == 'protecting').limit(1)).scalar_one_or_none()
    if running is not None:
        raise WrongState('a backup of %s is already in progress (%s)' % (resource_id, running),
                         field='resource_id')


def request_backup(session: Session, project_id: str, vault_id: str, resource_id: str, *,
                   name: str | None = None, full: bool = False) -> models.Operation:
    """Back up one resource of the vault's type: a disk, a file system or a whole server.

    A server's disks are backed up as one consistency group (rule C3).  ``full`` forces
    a full backup (rule B4); otherwise the backup is incremental to the resource's latest
    backup in the vault when there is one.
    """
    vault = lookup.owned(session, models.Vault, project_id, vault_id, what='vault',
                         field='vault_id')
    if vault.status != 'available':
        raise WrongState('vault %s is %s' % (vault_id, vault.status), field='vault_id')
    name = name or 'manualbk_%s' % uuid.uuid4().hex[:4]
    if vault.resource_type == SERVER:
        backup, job_type = _server_backup(session, vault, resource_id, name, full)
    elif vault.resource_type == VOLUME:
        volume = lookup.owned(session, models.Volume, project_id, resource_id, what='disk',
                              field='resource_id')
        _require(volume.status, BACKUP_READY_VOLUME, 'disk', resource_id)
        _refuse_if_busy(session, resource_id)
        backup = _new_backup(session, vault, resource_id=volume.id, resource_type=VOLUME,
                             resource_size=volume.size, name=name, full=full,
                             key_id=_key_id(volume))
        job_type = 'backupDevice'
    else:
        share = lookup.owned(session, models.Share, project_id, resource_id,
                             what='file system', field='resource_id')
        _require(share.status, BACKUP_READY_SHARE, 'file system', resource_id)
        _refuse_if_busy(session, resource_id)
        backup = _new_backup(session, vault, resource_id=share.id, resource_type=TURBO,
                             resource_size=share.size, name=name, full=full)
        job_type = 'backupDevice'
    operation = outbox.create(session, project_id=project_id, job_type=job_type,
                              params={'backup_id': backup.id},
                              entities={'backup_id': backup.id, 'resource_id': resource_id,
                                        'vault_id': vault.id})
    backup.operation_id = operation.id
    return operation


def _require(status: str, allowed: frozenset[str], what: str, resource_id: str) -> None:
    if status not in allowed:
        raise WrongState('%s %s is %s; it cannot be backed up now' % (what, resource_id, status),
                         field='resource_id')


def _server_backup(session: Session, vault: models.Vault, server_id: str, name: str,
                   full: bool) -> tuple[models.Backup, str]:
    server = lookup.owned(session, models.Server, vault.project_id, server_id, what='server',
                          field='resource_id')
    _require(server.status, BACKUP_READY_SERVER, 'server', server_id)
    _refuse_if_busy(session, server_id)
    volumes = [attachment.volume for attachment in server.attachments]
    if not volumes:
        raise WrongState('server %s has no disks to back up' % server_id, field='resource_id')
    parent = _new_backup(session, vault, resource_id=server.id, resource_type=SERVER,
                         resource_size=sum(v.size for v in volumes), name=name, full=full)
    session.flush()
    for volume in volumes:
        _new_backup(session, vault, resource_id=volume.id, resource_type=VOLUME,
                    resource_size=volume.size, name=name, full=full, parent=parent,
                    key_id=_key_id(volume))
    return parent, 'backupServer'


def _owned_backup(session: Session, project_id: str, backup_id: str) -> models.Backup:
    backup = lookup.owned(session, models.Backup, project_id, backup_id, what='backup',
                          field='backup_id', lock=True)
    if backup.parent_id is not None:
        raise WrongState('backup %s is part of server backup %s; use that one'
                         % (backup_id, backup.parent_id), field='backup_id')
    return backup


def _restorable(session: Session, project_id: str, backup_id: str) -> models.Backup:
    backup = _owned_backup(session, project_id, backup_id)
    if backup.status != 'available':
        raise WrongState('backup %s is %s; only an available backup restores'
                         % (backup_id, backup.status), field='backup_id')
    return backup


def _restore_operation(session: Session, backup: models.Backup, targets: Mapping[str, str],
                       previous: Mapping[str, str], *,
                       create_targets: bool = False) -> models.Operation:
    transition(session, backup, 'restoring', entity_type='backup')
    return outbox.create(session, project_id=backup.project_id, job_type='restoreBackup',
                         params={'backup_id': backup.id, 'targets': dict(targets),
                                 'target_states': dict(previous),
                                 'create_targets': create_targets},
                         entities={'backup_id': backup.id,
                                   'target_ids': sorted(targets.values())})


def request_new_disk(session: Session, project_id: str, backup_id: str,
                     spec: volumes.VolumeSpec) -> tuple[models.Operation, models.Volume]:
    """Create a disk from a disk backup (rule R4): ``creating``, ``available``,
    ``restoring-backup``, then ``available`` holding exactly the backup's data.

    The disk may be of any type and zone, at least as large as the backed-up disk; one
    made from a system disk's backup is a data disk.
    """
    backup = _restorable(session, project_id, backup_id)
    if backup.resource_type != VOLUME:
        raise InvalidInput('backup %s is not a disk backup' % backup_id, field='backup_id')
    if spec.size < backup.resource_size:
        raise InvalidInput('size %d GB is less than the backed-up disk\'s %d GB'
                           % (spec.size, backup.resource_size), field='size')
    volume = volumes.new_volume(session, project_id, dataclasses.replace(spec, bootable=False),
                                name=spec.name or 'volume')
    session.flush()
    operation = _restore_operation(session, backup, {backup.resource_id: volume.id},
                                   {volume.id: 'available'}, create_targets=True)
    return operation, volume


def request_restore(session: Session, project_id: str, backup_id: str,
                    targets: Mapping[str, str]) -> models.Operation:
    """Restore a backup onto disks: ``targets`` maps each backed-up disk (or file system)
    id to the disk (or file system) that receives its data, at least as large (R1, R4)."""
    backup = _restorable(session, project_id, backup_id)
    devices = backup.children or [backup]
    missing = sorted({d.resource_id for d in devices} - set(targets))
    if missing or len(targets) != len(devices):
        raise InvalidInput('targets must map exactly the backed-up devices %s'
                           % sorted(d.resource_id for d in devices), field='targets')
    previous: dict[str, str] = {}
    for device in devices:
        previous[targets[device.resource_id]] = _lock_target(session, project_id, device,
                                                             targets[device.resource_id])
    return _restore_operation(session, backup, targets, previous)


def _target_row(session: Session, project_id: str, model: type, target_id: str):
    return lookup.owned(session, model, project_id, target_id, what='restore target',
                        field='targets')


def _lock_target(session: Session, project_id: str, device: models.Backup,
                 target_id: str) -> str:
    """Check a restore target and move it to its restoring state; returns its status."""
    if device.resource_type == TURBO:
        share = _target_row(session, project_id, models.Share, target_id)
        _require_size(share.size, device, target_id)
        if share.status != '200':
            raise WrongState('file system %s is not available' % target_id, field='targets')
        return share.status
    volume = _target_row(session, project_id, models.Volume, target_id)
    _require_size(volume.size, device, target_id)
    if volume.status not in BACKUP_READY_VOLUME:
        raise WrongState('disk %s is %s; it cannot be restored now' % (target_id, volume.status),
                         field='targets')
    status = volume.status
    transition(session, volume, 'restoring-backup', entity_type='volume')
    return status


def _require_size(size: int, device: models.Backup, target_id: str) -> None:
    if size < device.resource_size:
        raise InvalidInput('target %s has %d GB, less than the backed-up %d GB'
                           % (target_id, size, device.resource_size), field='targets')


def request_delete(session: Session, project_id: str, backup_id: str) -> models.Operation:
    """Delete a backup (a server backup with its disk backups) and free its blocks."""
    backup = _owned_backup(session, project_id, backup_id)
    busy = backup.status not in ('available', 'error') or any(
        child.status == 'protecting' for child in backup.children)
    if busy:
        raise WrongState('backup %s is %s; it cannot be deleted now' % (backup_id, backup.status),
                         field='backup_id')
    transition(session, backup, 'deleting', entity_type='backup')
    return outbox.create(session, project_id=project_id, job_type='deleteBackup',
                         params={'backup_id': backup.id}, entities={'backup_id': backup.id})
