"""Backup, restore and delete requests: the API side of the backup jobs.

Each function checks the request, moves the rows it concerns to their transitional
status and adds the operation, all in the caller's transaction; the caller publishes
the operation after the commit (:mod:`cbr_api.intent` does both).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.backups import SERVER, TURBO, VOLUME, codes, durations, sharing, vaults
from cbr_common.backups.families import CBR, VBS, shown
from cbr_common.db import models
from cbr_common.errors import InvalidInput, WrongState
from cbr_common.inventory import lookup, shares, volumes
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


@dataclass(frozen=True)
class BackupOptions:
    """What a backup request says besides the resource: names, checkpoint, expiry, and for
    a server the disks to include (rule V12; ``None`` means every attached disk)."""

    name: str | None = None
    description: str = ''
    full: bool = False
    checkpoint_id: str | None = None
    expired_at: dt.datetime | None = None
    include_volumes: frozenset[str] | None = None
    policy_id: str | None = None  # the policy whose scheduled run makes it (rule B2)
    created_at: dt.datetime | None = None  # that run's instant (default: now)
    tags: Sequence[dict[str, str]] = ()  # ``{"key", "value"}``: given, or the policy's (P16)


def _new_backup(session: Session, vault: models.Vault, *, resource: Any, resource_type: str,
                resource_size: int, options: BackupOptions, name: str,
                parent: models.Backup | None = None, key_id: str | None = None
                ) -> models.Backup:
    now = options.created_at or clock.now()
    backup = models.Backup(id=ids.new_uuid(), project_id=vault.project_id, vault_id=vault.id,
                           parent_id=parent.id if parent else None, resource_id=resource.id,
                           resource_type=resource_type, resource_size=resource_size,
                           resource_name=resource.name,
                           resource_az=getattr(resource, 'availability_zone', ''),
                           name=name, description=options.description, incremental=False,
                           full_requested=options.full, key_id=key_id, added_bytes=0,
                           checkpoint_id=options.checkpoint_id, expired_at=options.expired_at,
                           policy_id=options.policy_id,
                           auto_trigger=options.policy_id is not None, created_at=now,
                           updated_at=now, family=vault.family, tags=list(options.tags))
    transition(session, backup, 'protecting', entity_type='backup')
    session.add(backup)
    return backup


def running_backups(session: Session, resource_ids: Collection[str],
                    at: dt.datetime | None = None) -> dict[str, str]:
    """resource id -> the id of a backup of it still being made, for those that have one.

    With ``at`` (a policy run's instant, rule P10), a backup counts too if it had begun
    by then and was not done until after it in domain time, even if it has ended since.
    """
    if not resource_ids:
        return {}
    still_running = models.Backup.status == 'protecting'
    if at is not None:
        still_running = or_(still_running, and_(models.Backup.created_at <= at,
                                                models.Operation.finishes_at > at,
                                                models.Backup.status != 'error'))
    return dict(session.execute(
        select(models.Backup.resource_id, models.Backup.id)
        .outerjoin(models.Operation, models.Operation.id == models.Backup.operation_id)
        .where(models.Backup.resource_id.in_(resource_ids), still_running)).all())


def running_backup(session: Session, resource_id: str) -> str | None:
    """The id of a backup of the resource still being made, if there is one."""
    return running_backups(session, [resource_id]).get(resource_id)


MIN_FULL_INTERVAL = dt.timedelta(days=1)  # rule P12


def _last_full(session: Session, vault_id: str, resource_id: str) -> models.Backup | None:
    """The resource's latest full backup in the vault that ended well."""
    return session.execute(
        select(models.Backup)
        .where(models.Backup.vault_id == vault_id, models.Backup.resource_id == resource_id,
               models.Backup.parent_id.is_(None), models.Backup.incremental.is_(False),
               models.Backup.status.in_(('available', 'restoring')))
        .order_by(models.Backup.created_at.desc()).limit(1)).scalar_one_or_none()


def _within_a_day(last_full: models.Backup | None, at: dt.datetime) -> bool:
    """Whether a full backup at ``at`` would follow ``last_full`` too soon (rule P12)."""
    return last_full is not None and at - last_full.created_at < MIN_FULL_INTERVAL


def full_backup_due(session: Session, vault_id: str, resource_id: str, every: int | None,
                    at: dt.datetime) -> bool:
    """Whether a policy run at ``at`` makes a full backup of the resource: its policy's
    ``full_backup_interval`` (a full after that many incremental ones; -1 or unset: never
    forced) says so and rule P12 allows it.  The first backup is full anyway."""
    if every is None or every < 0:
        return False
    last = _last_full(session, vault_id, resource_id)
    if last is None or _within_a_day(last, at):
        return False
    since = session.execute(select(func.count()).select_from(models.Backup).where(
        models.Backup.vault_id == vault_id, models.Backup.resource_id == resource_id,
        models.Backup.parent_id.is_(None), models.Backup.incremental.is_(True),
        models.Backup.created_at > last.created_at)).scalar_one()
    return since >= every


def _refuse_early_full(session: Session, vault_id: str, resource_id: str,
                       at: dt.datetime) -> None:
    if _within_a_day(_last_full(session, vault_id, resource_id), at):
        raise WrongState('the last full backup of %s was less than a day ago; a full backup '
                         'needs a day between it and the last one' % resource_id,
                         field='checkpoint.parameters.incremental', code=codes.FULL_TOO_SOON)


def _refuse_if_busy(session: Session, resource_id: str) -> None:
    running = running_backup(session, resource_id)
    if running is not None:
        raise WrongState('a backup of %s is already in progress (%s)' % (resource_id, running),
                         field='resource_id', code=codes.BACKUP_IN_PROGRESS)


def request_backup(session: Session, project_id: str, vault_id: str, resource_id: str, *,
                   name: str | None = None, full: bool = False,
                   options: BackupOptions | None = None, family: str = CBR
                   ) -> models.Operation:
    """Back up one resource of the vault's type: a disk, a file system or a whole server.

    A server's disks are backed up as one consistency group (rule C3).  ``full`` forces
    a full backup (rule B4); otherwise the backup is incremental to the resource's latest
    backup in the vault when there is one.
    """
    options = options or BackupOptions(name=name, full=full)
    vault = vaults.get(session, project_id, vault_id, family=family)
    vaults.require_available(vault, 'back up into it')
    if options.full and options.policy_id is None:
        _refuse_early_full(session, vault.id, resource_id, options.created_at or clock.now())
    name = options.name or vaults.default_name('manualbk_')
    if vault.resource_type == SERVER:
        backup, devices = _server_backup(session, vault, resource_id, name, options)
        job_type = 'backupServer'
    elif vault.resource_type == VOLUME:
        volume = lookup.owned(session, models.Volume, project_id, resource_id, what='disk',
                              field='resource_id', code=codes.RESOURCE_NOT_FOUND)
        _require(volume.status, BACKUP_READY_VOLUME, 'disk', resource_id)
        _refuse_if_busy(session, resource_id)
        backup = _new_backup(session, vault, resource=volume, resource_type=VOLUME,
                             resource_size=volume.size, options=options, name=name,
                             key_id=_key_id(volume))
        job_type, devices = 'backupDevice', [backup]
    else:
        share = lookup.owned(session, models.Share, project_id, resource_id,
                             what='file system', field='resource_id',
                             code=codes.RESOURCE_NOT_FOUND)
        _require(share.status, BACKUP_READY_SHARE, 'file system', resource_id)
        _refuse_if_busy(session, resource_id)
        backup = _new_backup(session, vault, resource=share, resource_type=TURBO,
                             resource_size=share.size, options=options, name=name)
        job_type, devices = 'backupDevice', [backup]
    operation = outbox.create(session, project_id=project_id, job_type=job_type,
                              params={'backup_id': backup.id},
                              entities={'backup_id': backup.id, 'backup_name': backup.name,
                                        'resource_id': resource_id,
                                        'resource_name': backup.resource_name,
                                        'resource_type': backup.resource_type,
                                        'vault_id': vault.id, 'vault_name': vault.name,
                                        'checkpoint_id': options.checkpoint_id,
                                        'policy_id': options.policy_id},
                              vault_id=vault.id, resource_id=resource_id,
                              finishes_at=durations.backup_finishes_at(session, backup, devices))
    backup.operation_id = operation.id
    return operation


def _require(status: str, allowed: frozenset[str], what: str, resource_id: str) -> None:
    if status not in allowed:
        raise WrongState('%s %s is %s; it cannot be backed up now' % (what, resource_id, status),
                         field='resource_id', code=codes.RESOURCE_STATE)


def _server_backup(session: Session, vault: models.Vault, server_id: str, name: str,
                   options: BackupOptions) -> tuple[models.Backup, list[models.Backup]]:
    server = lookup.owned(session, models.Server, vault.project_id, server_id, what='server',
                          field='resource_id', code=codes.RESOURCE_NOT_FOUND)
    _require(server.status, BACKUP_READY_SERVER, 'server', server_id)
    _refuse_if_busy(session, server_id)
    volumes = [attachment.volume for attachment in server.attachments
               if options.include_volumes is None
               or attachment.volume_id in options.include_volumes]
    if not volumes:
        raise WrongState('server %s has no disks to back up' % server_id, field='resource_id',
                         code=codes.RESOURCE_STATE)
    parent = _new_backup(session, vault, resource=server, resource_type=SERVER,
                         resource_size=sum(v.size for v in volumes), options=options,
                         name=name)
    session.flush()
    devices = [_new_backup(session, vault, resource=volume, resource_type=VOLUME,
                           resource_size=volume.size, options=options, name=name,
                           parent=parent, key_id=_key_id(volume))
               for volume in volumes]
    return parent, devices


def _owned_backup(session: Session, project_id: str, backup_id: str,
                  family: str = CBR) -> models.Backup:
    backup = get(session, project_id, backup_id, lock=True, families=(family,))
    if backup.parent_id is not None:
        raise WrongState('backup %s is part of server backup %s; use that one'
                         % (backup_id, backup.parent_id), field='backup_id',
                         code=codes.BACKUP_STATE)
    return backup


def get(session: Session, project_id: str, backup_id: str, *, lock: bool = False,
        families: Collection[str] = (CBR,)) -> models.Backup:
    """The project's backup of one of ``families``, or a 404 (also for another project's,
    and for one that only another API family shows)."""
    backup = lookup.owned(session, models.Backup, project_id, backup_id, what='backup',
                          field='backup_id', lock=lock, code=codes.BACKUP_NOT_FOUND)
    return shown(backup, families, what='backup', field='backup_id',
                 code=codes.BACKUP_NOT_FOUND)


def restorable(session: Session, project_id: str, backup_id: str,
               family: str = CBR) -> models.Backup:
    """The project's own backup, locked, if it is available to restore from."""
    backup = _owned_backup(session, project_id, backup_id, family)
    _require_available(backup)
    return backup


def _require_available(backup: models.Backup) -> None:
    if backup.status != 'available':
        raise WrongState('backup %s is %s; only an available backup restores'
                         % (backup.id, backup.status), field='backup_id',
                         code=codes.BACKUP_STATE)


def restore_operation(session: Session, backup: models.Backup, targets: Mapping[str, str],
                      previous: Mapping[str, str], *, create_targets: bool = False,
                      server_id: str | None = None, power_on: bool = False,
                      project_id: str | None = None) -> models.Operation:
    """Move the backup to ``restoring`` and add the restore job writing it onto
    ``targets`` (backed-up device id -> target id), whose prior states are ``previous``.

    The job belongs to ``project_id``, the project whose resources it writes (by default
    the backup's own; another one when it makes a disk from a backup shared with it).
    """
    transition(session, backup, 'restoring', entity_type='backup')
    return outbox.create(session, project_id=project_id or backup.project_id,
                         job_type='restoreBackup',
                         params={'backup_id': backup.id, 'targets': dict(targets),
                                 'target_states': dict(previous),
                                 'create_targets': create_targets, 'server_id': server_id,
                                 'power_on': power_on},
                         entities={'backup_id': backup.id, 'backup_name': backup.name,
                                   'resource_id': backup.resource_id,
                                   'resource_name': backup.resource_name,
                                   'resource_type': backup.resource_type,
                                   'target_ids': sorted(targets.values()),
                                   'server_id': server_id,
                                   'checkpoint_id': backup.checkpoint_id},
                         vault_id=backup.vault_id, resource_id=backup.resource_id,
                         finishes_at=durations.restore_finishes_at(backup, clock.now()))


def was_system_disk(session: Session, device: models.Backup) -> bool:
    """Whether a disk backup is of a system disk: its disk is (still) bootable."""
    volume = session.get(models.Volume, device.resource_id)
    return volume is not None and volume.bootable


def _source(session: Session, project_id: str, backup_id: str, resource_type: str, what: str,
            size: int, fields: tuple[str, str]) -> models.Backup:
    """The backup a new disk or file system of ``size`` GB is made from: the project's own
    or one shared with it and accepted (rule S2), a CBR or VBS one (EVS makes disks from
    both), available, of ``resource_type``, and no larger than ``size``; ``fields`` name
    the backup id and the size in errors."""
    backup = sharing.usable_backup(session, project_id, backup_id, of=(CBR, VBS))
    _require_available(backup)
    if backup.resource_type != resource_type or backup.parent_id is not None:
        raise InvalidInput('backup %s is not a %s backup' % (backup_id, what), field=fields[0])
    if size < backup.resource_size:
        raise InvalidInput('size %d GB is less than the backed-up %s\'s %d GB'
                           % (size, what, backup.resource_size), field=fields[1])
    return backup


def request_new_disk(session: Session, project_id: str, backup_id: str,
                     spec: volumes.VolumeSpec) -> tuple[models.Operation, models.Volume]:
    """Create a disk from a disk backup (rule R4): ``creating``, ``available``,
    ``restoring-backup``, then ``available`` holding exactly the backup's data.

    The disk may be of any type and zone, at least as large as the backed-up disk; one
    made from a system disk's backup is a data disk.
    """
    backup = _source(session, project_id, backup_id, VOLUME, 'disk', spec.size,
                     ('backup_id', 'size'))
    volume = volumes.new_volume(session, project_id, dataclasses.replace(spec, bootable=False),
                                name=spec.name or 'volume')
    session.flush()
    operation = restore_operation(session, backup, {backup.resource_id: volume.id},
                                  {volume.id: 'available'}, create_targets=True,
                                  project_id=project_id)
    return operation, volume


def request_new_file_system(session: Session, project_id: str, backup_id: str,
                            spec: shares.ShareSpec) -> tuple[models.Operation, models.Share]:
    """Create an SFS Turbo file system from a file system backup (rule R5): ``100`` until
    it holds exactly the backup's data, then ``200``; at least as large as the source."""
    backup = _source(session, project_id, backup_id, TURBO, 'file system', spec.size,
                     ('share.backup_id', 'share.size'))
    share = shares.new_share(session, project_id, spec, status=shares.CREATING)
    session.flush()
    operation = restore_operation(session, backup, {backup.resource_id: share.id},
                                  {share.id: shares.AVAILABLE}, create_targets=True,
                                  project_id=project_id)
    return operation, share


def request_restore(session: Session, project_id: str, backup_id: str,
                    targets: Mapping[str, str], family: str = CBR) -> models.Operation:
    """Restore a backup onto disks: ``targets`` maps each backed-up disk (or file system)
    id to the disk (or file system) that receives its data, at least as large (R1, R4)."""
    backup = restorable(session, project_id, backup_id, family)
    devices = backup.children or [backup]
    missing = sorted({d.resource_id for d in devices} - set(targets))
    if missing or len(targets) != len(devices):
        raise InvalidInput('targets must map exactly the backed-up devices %s'
                           % sorted(d.resource_id for d in devices), field='targets')
    previous: dict[str, str] = {}
    for device in devices:
        previous[targets[device.resource_id]] = lock_target(session, project_id, device,
                                                             targets[device.resource_id])
    return restore_operation(session, backup, targets, previous)


def _target_row(session: Session, project_id: str, model: type, target_id: str, field: str):
    return lookup.owned(session, model, project_id, target_id, what='restore target',
                        field=field, code=codes.RESTORE_TARGET)


def lock_target(session: Session, project_id: str, device: models.Backup, target_id: str,
                field: str = 'targets') -> str:
    """Check a restore target and move it to its restoring state; returns its status."""
    if device.resource_type == TURBO:
        share = _target_row(session, project_id, models.Share, target_id, field)
        _require_size(share.size, device, target_id, field)
        if share.status != '200':
            raise WrongState('file system %s is not available' % target_id, field=field,
                             code=codes.RESTORE_TARGET)
        return share.status
    volume = _target_row(session, project_id, models.Volume, target_id, field)
    _require_size(volume.size, device, target_id, field)
    if volume.status not in BACKUP_READY_VOLUME:
        raise WrongState('disk %s is %s; it cannot be restored now' % (target_id, volume.status),
                         field=field, code=codes.RESTORE_TARGET)
    status = volume.status
    transition(session, volume, 'restoring-backup', entity_type='volume')
    return status


def _require_size(size: int, device: models.Backup, target_id: str, field: str) -> None:
    if size < device.resource_size:
        raise InvalidInput('target %s has %d GB, less than the backed-up %d GB'
                           % (target_id, size, device.resource_size), field=field,
                           code=codes.RESTORE_TARGET)


def request_delete(session: Session, project_id: str, backup_id: str,
                   family: str = CBR) -> models.Operation:
    """Delete a backup (a server backup with its disk backups) and free its blocks."""
    return delete_operation(session, _owned_backup(session, project_id, backup_id, family))


def delete_operation(session: Session, backup: models.Backup) -> models.Operation:
    """Move a (locked) backup to ``deleting`` and add its delete job (rule B3)."""
    busy = backup.status not in ('available', 'error') or any(
        child.status == 'protecting' for child in backup.children)
    if busy:
        raise WrongState('backup %s is %s; it cannot be deleted now' % (backup.id, backup.status),
                         field='backup_id', code=codes.BACKUP_STATE)
    image = session.execute(select(models.Image.id).where(
        models.Image.backup_id == backup.id)).scalar_one_or_none()
    if image is not None:  # rule B7
        raise WrongState('backup %s made image %s; delete the image first' % (backup.id, image),
                         field='backup_id', code=codes.BACKUP_STATE)
    vault = session.get(models.Vault, backup.vault_id)
    if vault is not None and vault.status == 'deleting':
        raise WrongState('vault %s is being deleted' % vault.id, field='backup_id',
                         code=codes.VAULT_BUSY)
    transition(session, backup, 'deleting', entity_type='backup')
    return outbox.create(session, project_id=backup.project_id, job_type='deleteBackup',
                         params={'backup_id': backup.id},
                         entities={'backup_id': backup.id, 'backup_name': backup.name,
                                   'resource_id': backup.resource_id,
                                   'resource_name': backup.resource_name,
                                   'resource_type': backup.resource_type,
                                   'checkpoint_id': backup.checkpoint_id},
                         vault_id=backup.vault_id, resource_id=backup.resource_id)
