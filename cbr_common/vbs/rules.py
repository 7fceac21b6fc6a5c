"""VBS-only rules: manual backup names and descriptions (D2), the project's backup quota
(D5) and the 20 backups a disk may have.

Both counts take the project's VBS backups that are not in ``error``: a failed backup
holds no data, and the user deletes it at leisure.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cbr_common import naming
from cbr_common.backups.families import VBS
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.errors import InvalidInput, QuotaExceeded
from cbr_common.vbs import codes

NAME_MAX = 64
DESCRIPTION_MAX = 64
BACKUPS_PER_DISK = 20
UNLIMITED = -1


def check_name(name: str, field: str) -> str:
    """A manual backup's name (rule D2): 1 to 64 letters, digits, ``_`` and ``-``, not
    starting with ``auto`` (policy backups are ``autobk_...``)."""
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput('%s must be 1 to %d characters' % (field, NAME_MAX), field=field,
                           code=codes.BAD_REQUEST)
    if name.startswith('auto'):
        raise InvalidInput('%s must not start with "auto"' % field, field=field,
                           code=codes.AUTO_NAME)
    try:
        naming.check_name(name)
    except PydanticCustomError as error:
        raise InvalidInput('%s: %s' % (field, error.message()), field=field,
                           code=codes.BAD_REQUEST) from error
    return name


def check_description(description: str, field: str) -> str:
    """A backup's description (rule D2): up to 64 characters, no ``<`` or ``>``."""
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput('%s must be at most %d characters' % (field, DESCRIPTION_MAX),
                           field=field, code=codes.BAD_REQUEST)
    if '<' in description or '>' in description:
        raise InvalidInput('%s must not contain "<" or ">"' % field, field=field,
                           code=codes.BAD_REQUEST)
    return description


def _counted(project_id: str) -> list[ColumnElement[bool]]:
    return [models.Backup.project_id == project_id, models.Backup.family == VBS,
            models.Backup.status != 'error']


@dataclass(frozen=True)
class Usage:
    """What the project's VBS backups take of its quota (rule D5)."""

    backups: int
    gigabytes: int
    quota: int

    @property
    def full(self) -> bool:
        """Whether one more backup would go beyond the quota."""
        return self.quota != UNLIMITED and self.backups >= self.quota


def usage(session: Session, project_id: str) -> Usage:
    """The project's VBS backups, their disks' gigabytes and its backup quota."""
    count, size = session.execute(
        select(func.count(), func.coalesce(func.sum(models.Backup.resource_size), 0))
        .where(*_counted(project_id))).one()
    return Usage(count, int(size), CONF.vbs.backup_quota)


def check_disk_backups(session: Session, project_id: str, volume_id: str, field: str) -> None:
    """Refuse a backup of a disk that already has 20 VBS backups (VolumeBackup.0040)."""
    count = session.execute(select(func.count()).select_from(models.Backup).where(
        *_counted(project_id), models.Backup.resource_id == volume_id)).scalar_one()
    if count >= BACKUPS_PER_DISK:
        raise QuotaExceeded('disk %s already has %d backups, the most a disk may have'
                            % (volume_id, count), field=field, code=codes.BACKUPS_PER_DISK)
