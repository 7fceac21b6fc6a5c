"""VBS backups on the backup core: create, restore and delete requests, and what VBS lists.

Every VBS backup is a disk backup in the project's hidden ``vbs`` service vault.  VBS
lists those and the per-disk backups of CSBS server backups, whose source is ``CSBS``
(rule C5): such a backup restores its one disk through VBS, but only CSBS deletes it.

The jobs are the core's (``backupDevice``, ``restoreBackup``, ``deleteBackup``); each
request records in its operation's params the job type and entities the VBS job API
shows (``bksCreateBackup``, ``bksRestoreBackup``, ``bksDeleteBackup``).
"""
from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from cbr_common.backups import requests, restores
from cbr_common.backups.families import CSBS, VBS, service_vault
from cbr_common.db import models
from cbr_common.errors import InvalidInput, NotFound, WrongState
from cbr_common.operations import runner
from cbr_common.vbs import codes, rules

SOURCES = {VBS: 'VBS', CSBS: 'CSBS'}
# the core's backup statuses as VBS (Cinder) shows them
STATUSES = {'protecting': 'creating', 'available': 'available', 'deleting': 'deleting',
            'restoring': 'restoring', 'error': 'error'}
CREATE_JOB, RESTORE_JOB, DELETE_JOB = 'bksCreateBackup', 'bksRestoreBackup', 'bksDeleteBackup'
SHOWN_JOB = 'shown_job'
_CREATE_FIELDS = {'resource_id': 'backup.volume_id',
                  'checkpoint.parameters.incremental': 'backup.extend_param.FullBackup'}


def listed(project_id: str) -> ColumnElement[bool]:
    """The condition on :class:`models.Backup` rows: the project's backups VBS lists."""
    return and_(models.Backup.project_id == project_id,
                or_(models.Backup.family == VBS,
                    and_(models.Backup.family == CSBS, models.Backup.parent_id.is_not(None))))


def source(backup: models.Backup) -> str:
    """``VBS`` or ``CSBS``: the service whose request made the backup (rule C5)."""
    return SOURCES[backup.family]


def status(backup: models.Backup) -> str:
    """The backup's status as VBS shows it."""
    return STATUSES[backup.status]


def core_statuses(shown: str) -> list[str]:
    """The core statuses a VBS status filter selects (none for an unknown status)."""
    return [core for core, vbs in STATUSES.items() if vbs == shown]


def snapshot_id(backup: models.Backup) -> str | None:
    """The id of the disk snapshot the backup read, once it has taken one."""
    return str(uuid.UUID(hex=backup.snapshot_token)) if backup.snapshot_token else None


def with_dependents(session: Session, backup_ids: Collection[str]) -> set[str]:
    """Those of ``backup_ids`` that a later available backup is incremental to."""
    if not backup_ids:
        return set()
    return set(session.execute(select(models.Backup.base_backup_id).where(
        models.Backup.base_backup_id.in_(list(backup_ids)),
        models.Backup.status == 'available')).scalars())


def get(session: Session, project_id: str, backup_id: str, *,
        lock: bool = False) -> models.Backup:
    """A backup VBS lists, or a 404 (also for a CSBS server backup as a whole)."""
    with codes.translated({}):
        backup = requests.get(session, project_id, backup_id, lock=lock, families=(VBS, CSBS))
    if backup.family == CSBS and backup.parent_id is None:
        raise NotFound('backup %s does not exist' % backup_id, field='backup_id',
                       code=codes.RESTORE_NOT_FOUND)
    return backup


@dataclass(frozen=True)
class BackupRequest:
    """A manual backup of one disk: its name (D2), description and the full-backup flag.

    ``snapshot_id`` would name an EVS snapshot to read; the simulated EVS has none, so
    any given is refused as not found (a backup always reads a new snapshot).
    """

    volume_id: str
    name: str | None = None
    description: str = ''
    full: bool = False
    snapshot_id: str | None = None


def _show_as(operation: models.Operation, job_type: str, entities: dict[str, Any]) -> None:
    operation.params = {**operation.params,
                        SHOWN_JOB: {'job_type': job_type, 'entities': entities}}


def request_backup(session: Session, project_id: str,
                   spec: BackupRequest) -> models.Operation:
    """Back up a disk into the VBS vault; a disk has at most 20 backups.  Beyond the
    project's quota (rule D5) the job is made, but fails at once with a quota error."""
    if spec.snapshot_id is not None:
        raise NotFound('snapshot %s does not exist' % spec.snapshot_id,
                       field='backup.snapshot_id')
    if spec.name is not None:
        rules.check_name(spec.name, 'backup.name')
    rules.check_description(spec.description, 'backup.description')
    rules.check_disk_backups(session, project_id, spec.volume_id, 'backup.volume_id')
    usage = rules.usage(session, project_id)
    vault = service_vault(session, project_id, VBS)
    options = requests.BackupOptions(name=spec.name, description=spec.description,
                                      full=spec.full)
    with codes.translated(_CREATE_FIELDS):
        operation = requests.request_backup(session, project_id, vault.id, spec.volume_id,
                                            options=options, family=VBS)
    backup_id = operation.params['backup_id']
    _show_as(operation, CREATE_JOB, {
        'bks_create_volume_name': session.get_one(models.Backup, backup_id).name,
        'backup_id': backup_id, 'volume_id': spec.volume_id, 'snapshot_id': None})
    if usage.full:
        runner.fail_operation(session, operation, 'the project\'s backup quota (%d) is used up'
                              % usage.quota, codes.QUOTA)
    return operation


def request_restore(session: Session, project_id: str, backup_id: str,
                    volume_id: str) -> models.Operation:
    """Restore a disk backup (also a CSBS server backup's disk backup, rule C5) onto its
    own disk, which must be ``available``: detached, its server stopped (rule R3)."""
    backup = get(session, project_id, backup_id, lock=True)
    with codes.translated({}):
        if backup.parent_id is None:
            operation = restores.request_disk_restore(session, project_id, backup_id,
                                                      volume_id, family=VBS)
        else:
            operation = restores.restore_device(session, _restorable_part(session, backup),
                                                volume_id)
    if operation.params['target_states'][volume_id] != 'available':
        raise WrongState('disk %s is attached; detach it to restore it' % volume_id,
                         field='restore.volume_id', code=codes.RESTORE_DISK_STATE)
    _show_as(operation, RESTORE_JOB, {'backup_id': backup_id, 'volume_id': volume_id})
    return operation


def _restorable_part(session: Session, backup: models.Backup) -> models.Backup:
    """A disk backup of a server backup, if both are available to restore from."""
    parent = session.get_one(models.Backup, backup.parent_id)
    for row in (backup, parent):
        if row.status != 'available':
            raise WrongState('backup %s is %s; only an available backup restores'
                             % (row.id, row.status), field='backup_id',
                             code=codes.BACKUP_STATE)
    return backup


def request_delete(session: Session, project_id: str, backup_id: str) -> models.Operation:
    """Delete a VBS backup; one whose source is CSBS is refused (rule C5)."""
    backup = get(session, project_id, backup_id, lock=True)
    if backup.family == CSBS:
        raise InvalidInput('backup %s belongs to CSBS backup %s; delete it through CSBS'
                           % (backup_id, backup.parent_id), field='backup_id',
                           code=codes.BAD_REQUEST)
    with codes.translated({}):
        operation = requests.request_delete(session, project_id, backup_id, family=VBS)
    _show_as(operation, DELETE_JOB, {'backup_id': backup_id, 'volume_id': backup.resource_id})
    return operation


def shown_job(session: Session,
              operation: models.Operation) -> tuple[str, dict[str, Any]] | None:
    """The job type and entities the job API shows for an operation VBS made, else None.

    A create job names the snapshot its backup read once the backup has taken it.
    """
    shown = (operation.params or {}).get(SHOWN_JOB)
    if shown is None:
        return None
    entities = dict(shown['entities'])
    if 'snapshot_id' in entities:
        backup = session.get(models.Backup, entities['backup_id'])
        entities['snapshot_id'] = snapshot_id(backup) if backup is not None else None
    return shown['job_type'], entities

