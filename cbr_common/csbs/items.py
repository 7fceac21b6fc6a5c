"""CSBS backups on the backup core: records (checkpoints), items (server backups), one-off
backups, deletion and the backup quota.

A CSBS *backup record* is a :class:`models.Checkpoint` of one of the project's hidden CSBS
vaults (the service vault of one-off backups, or a policy's); its *checkpoint items* are
the server backups (``family = 'csbs'``, no parent) made with it, each a consistency
group with one disk backup per attached disk (rules C3, C4).  A record is shown while it
has an item; items are deleted through the record (rule C5) by the core's delete job,
which frees their blocks.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from cbr_common.backups import SERVER, checkpoints, families, images, requests
from cbr_common.backups import codes as backup_codes
from cbr_common.backups.families import CSBS
from cbr_common.backups.vaults import used_bytes_of
from cbr_common.config import CONF
from cbr_common.csbs import checks, codes
from cbr_common.csbs.codes import CsbsError
from cbr_common.db import models
from cbr_common.errors import WrongState
from cbr_common.inventory import GIB

ITEM_STATES = ('waiting_protect', 'protecting', 'available', 'waiting_restore', 'restoring',
               'error', 'waiting_delete', 'deleting', 'deleted')
DELETABLE = frozenset({'available', 'error'})


def of_project(project_id: str) -> list[ColumnElement[bool]]:
    """The conditions on :class:`models.Backup` rows: the project's checkpoint items."""
    return [models.Backup.project_id == project_id, models.Backup.family == CSBS,
            models.Backup.parent_id.is_(None)]


def vaults(project_id: str) -> Select[tuple[str]]:
    """The ids of the project's CSBS vaults: its service vault and its policies' vaults."""
    return select(models.Vault.id).where(families.vaults_of(project_id, CSBS))


def get(session: Session, project_id: str, item_id: str, *,
        field: str = 'checkpoint_item_id') -> models.Backup:
    """The project's checkpoint item, or CSBS.3001 (also for any other backup)."""
    item = session.get(models.Backup, item_id)
    if (item is None or item.project_id != project_id or item.family != CSBS
            or item.parent_id is not None):
        raise CsbsError(codes.ITEM_NOT_FOUND, 'Checkpoint_item (%s) is not found.' % item_id,
                        field=field)
    return item


def of_checkpoint(session: Session, project_id: str, checkpoint_id: str) -> list[models.Backup]:
    """The items of the project's backup record, oldest first; CSBS.3001 when the record
    does not exist or has none left."""
    found = list(session.execute(select(models.Backup).where(
        *of_project(project_id), models.Backup.checkpoint_id == checkpoint_id)
        .order_by(models.Backup.created_at, models.Backup.id)).scalars())
    if not found:
        raise CsbsError(codes.ITEM_NOT_FOUND, 'Checkpoint (%s) is not found.' % checkpoint_id,
                        field='checkpoint_id')
    return found


@dataclass(frozen=True)
class ProtectRequest:
    """``protect`` of a one-off backup of a server (#12)."""

    backup_name: str | None = None
    description: str = ''
    incremental: bool = True
    resource_type: str = SERVER
    tags: tuple[dict[str, str], ...] = ()


def protect(session: Session, project_id: str, server_id: str, request: ProtectRequest
            ) -> tuple[models.Checkpoint, models.Backup, models.Operation]:
    """Back up the server now: a new backup record with one item, its consistency-group
    job (rule C3), unless :mod:`.checks` or the quota refuse it."""
    refusal = checks.protect_refusal(session, project_id, server_id, request.resource_type)
    if refusal is not None:
        raise refusal
    _require_quota(session, project_id)
    vault = families.service_vault(session, project_id, CSBS)
    checkpoint = checkpoints.new(session, project_id, vault.id, name=request.backup_name or '',
                                 description=request.description)
    options = requests.BackupOptions(name=request.backup_name, description=request.description,
                                     full=not request.incremental, checkpoint_id=checkpoint.id,
                                     tags=request.tags)
    try:
        operation = requests.request_backup(session, project_id, vault.id, server_id,
                                            options=options, family=CSBS)
    except WrongState as exc:
        if exc.code != backup_codes.FULL_TOO_SOON:
            raise
        raise CsbsError(codes.INVALID, exc.message, field='protect.incremental') from exc
    return checkpoint, session.get(models.Backup, operation.params['backup_id']), operation


def request_deletes(session: Session, project_id: str, checkpoint_id: str,
                    item_ids: Collection[str] = ()) -> list[models.Operation]:
    """Delete the named items of the backup record (default: all of them); their delete
    jobs.  An item being made, restored or deleted refuses (CSBS.2003), and so does one an
    image was made from (CSBS.8007, rule B7)."""
    items = of_checkpoint(session, project_id, checkpoint_id)
    chosen = [item for item in items if not item_ids or item.id in item_ids]
    missing = sorted(set(item_ids) - {item.id for item in chosen})
    if missing:
        raise CsbsError(codes.ITEM_NOT_FOUND, 'Checkpoint_item (%s) is not found in checkpoint '
                        '%s.' % (', '.join(missing), checkpoint_id), field='checkpoint_items')
    made = images.images_of(session, [item.id for item in chosen])
    for item in chosen:
        if item.status not in DELETABLE:
            raise CsbsError(codes.BACKUP_BUSY, 'checkpoint item %s is %s; item in executing'
                            % (item.id, item.status), field='checkpoint_id')
        if item.id in made:
            raise CsbsError(codes.REGISTERED_AS_IMAGE, "The backup %s has register to image %s, "
                            "can't be delete" % (item.id, made[item.id]), field='checkpoint_id')
    return [requests.request_delete(session, project_id, item.id, family=CSBS)
            for item in chosen]


@dataclass(frozen=True)
class QuotaUse:
    """The project's CSBS quotas and what it uses of them (-1: no limit)."""

    backups: int
    backup_quota: int
    used_gb: int
    capacity_quota_gb: int


def quota_use(session: Session, project_id: str) -> QuotaUse:
    """How many items the project has and the GB of backup data they use."""
    count = session.execute(select(func.count()).select_from(models.Backup)
                            .where(*of_project(project_id))).scalar_one()
    used = sum(used_bytes_of(session, session.execute(vaults(project_id)).scalars().all())
               .values())
    return QuotaUse(backups=count, backup_quota=CONF.csbs.backup_quota,
                    used_gb=round(used / GIB), capacity_quota_gb=CONF.csbs.capacity_quota_gb)


def _require_quota(session: Session, project_id: str) -> None:
    use = quota_use(session, project_id)
    if 0 <= use.backup_quota <= use.backups:
        raise CsbsError(codes.QUOTA_EXCEEDED, 'Quota exceeded for resources: backups (%d of %d)'
                        % (use.backups, use.backup_quota), field='resource_id')
    if 0 <= use.capacity_quota_gb <= use.used_gb:
        raise CsbsError(codes.QUOTA_EXCEEDED, 'Quota exceeded for resources: backup_capacity '
                        '(%d of %d GB)' % (use.used_gb, use.capacity_quota_gb),
                        field='resource_id')
