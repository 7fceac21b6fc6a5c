"""CBR v3 restores: a server backup onto the server's disks, a disk backup onto its disk.

Rules: R1 (the server is stopped while its disks restore and started afterwards unless
``power_on`` is false; each backed-up disk restores onto its own disk or a chosen disk of
the server at least as large; a data-disk backup never onto the system disk; no restore
onto a faulty server), R2 (a disk deleted since the backup is not restored), R3 (a disk
backup restores onto its original disk, which must be ``available`` or attached to a
stopped server), R5 (file-system backups never restore onto the original file system),
B10 (only from a vault that is ``available`` or ``locked``).
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from cbr_common.backups import SERVER, TURBO, codes, requests
from cbr_common.backups.families import CBR
from cbr_common.db import models
from cbr_common.errors import InvalidInput, WrongState
from cbr_common.inventory import lookup

RESTORABLE_SERVER = frozenset({'ACTIVE', 'SHUTOFF'})


def _restorable(session: Session, project_id: str, backup_id: str,
                family: str) -> models.Backup:
    backup = requests.restorable(session, project_id, backup_id, family)
    vault = session.get(models.Vault, backup.vault_id)
    if vault.status not in ('available', 'locked'):  # rule B10
        raise WrongState('vault %s is %s; its backups cannot be restored now'
                         % (vault.id, vault.status), field='backup_id', code=codes.VAULT_BUSY)
    return backup


def request_server_restore(session: Session, project_id: str, backup_id: str, server_id: str,
                           mappings: Mapping[str, str] | None,
                           power_on: bool = True, family: str = CBR) -> models.Operation:
    """Restore a server backup onto ``server_id``; ``mappings`` maps disk backup ids (the
    backup's children) to target disks, by default each disk's own."""
    backup = _restorable(session, project_id, backup_id, family)
    if backup.resource_type != SERVER:
        raise InvalidInput('backup %s is not a server backup; give volume_id' % backup_id,
                           field='restore.server_id')
    server = lookup.owned(session, models.Server, project_id, server_id, what='server',
                          field='restore.server_id', code=codes.RESTORE_TARGET)
    if server.status not in RESTORABLE_SERVER or server.task_state:  # rule R1
        raise WrongState('server %s is %s; it cannot be restored now' % (
            server_id, server.task_state or server.status), field='restore.server_id',
            code=codes.RESTORE_TARGET)
    attached = {attachment.volume_id: attachment for attachment in server.attachments}
    children = {child.id: child for child in backup.children}
    chosen = dict(mappings) if mappings else {
        child.id: child.resource_id for child in children.values()
        if session.get(models.Volume, child.resource_id) is not None}  # rule R2
    targets: dict[str, str] = {}
    previous: dict[str, str] = {}
    for child_id, volume_id in chosen.items():
        child = children.get(child_id)
        if child is None:
            raise InvalidInput('backup %s is not a disk backup of backup %s' % (
                child_id, backup_id), field='restore.mappings', code=codes.RESTORE_TARGET)
        attachment = attached.get(volume_id)
        if attachment is None:
            raise InvalidInput('disk %s is not attached to server %s' % (volume_id, server_id),
                               field='restore.mappings', code=codes.RESTORE_TARGET)
        if attachment.boot_index == 0 and not requests.was_system_disk(session, child):
            raise InvalidInput('a data disk backup cannot restore onto system disk %s'
                               % volume_id, field='restore.mappings',
                               code=codes.RESTORE_TARGET)
        if volume_id in previous:
            raise InvalidInput('disk %s is the target of two disk backups' % volume_id,
                               field='restore.mappings', code=codes.RESTORE_TARGET)
        previous[volume_id] = requests.lock_target(session, project_id, child, volume_id,
                                                   field='restore.mappings')
        targets[child.resource_id] = volume_id
    if not targets:
        raise InvalidInput('nothing to restore: no disk of the backup still exists',
                           field='restore.mappings', code=codes.RESTORE_TARGET)
    return requests.restore_operation(session, backup, targets, previous, server_id=server_id,
                                      power_on=power_on)


def request_disk_restore(session: Session, project_id: str, backup_id: str,
                         volume_id: str, family: str = CBR) -> models.Operation:
    """Restore a disk backup onto its original disk (rule R3)."""
    return restore_device(session, _restorable(session, project_id, backup_id, family),
                          volume_id)


def restore_device(session: Session, backup: models.Backup,
                   volume_id: str) -> models.Operation:
    """Restore ``backup`` (locked and available), the backup of one disk, onto its
    original disk (rule R3); it may also be one disk's backup inside a server backup."""
    project_id, backup_id = backup.project_id, backup.id
    if backup.resource_type == TURBO:  # rule R5
        raise InvalidInput('a file system backup cannot be restored onto a file system; '
                           'create a new file system from it', field='restore.volume_id',
                           code=codes.RESTORE_TARGET)
    if backup.resource_type == SERVER:
        raise InvalidInput('backup %s is a server backup; give server_id and mappings'
                           % backup_id, field='restore.volume_id', code=codes.RESTORE_TARGET)
    if volume_id != backup.resource_id:
        raise InvalidInput('a disk backup restores onto its own disk %s only'
                           % backup.resource_id, field='restore.volume_id',
                           code=codes.RESTORE_TARGET)
    volume = lookup.owned(session, models.Volume, project_id, volume_id, what='disk',
                          field='restore.volume_id', code=codes.RESTORE_TARGET)
    stopped = all(attachment.server.status == 'SHUTOFF' for attachment in volume.attachments)
    if volume.status not in ('available', 'in-use') or not stopped:
        raise WrongState('disk %s must be available or attached to a stopped server to be '
                         'restored' % volume_id, field='restore.volume_id',
                         code=codes.RESTORE_TARGET)
    previous = {volume_id: requests.lock_target(session, project_id, backup, volume_id,
                                                field='restore.volume_id')}
    return requests.restore_operation(session, backup, {backup.resource_id: volume_id},
                                      previous)
