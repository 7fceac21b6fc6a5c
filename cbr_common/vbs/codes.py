"""The ``VolumeBackup.NNNN`` codes of VBS errors (docs/errors.md), and the core's errors
said in them.

The core names its own fields and ``BackupService`` codes; :func:`translated` gives a
domain error raised inside it the VBS code of the same meaning and the VBS request field.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from cbr_common.backups import codes as core
from cbr_common.errors import DomainError

BAD_REQUEST = 'VolumeBackup.0002'
AUTO_NAME = 'VolumeBackup.0005'
DISK_STATE = 'VolumeBackup.0012'
BACKUP_RUNNING = 'VolumeBackup.0013'
DISK_NOT_FOUND = 'VolumeBackup.0021'
BACKUPS_PER_DISK = 'VolumeBackup.0040'
BACKUP_STATE = 'VolumeBackup.0089'
RESTORE_NOT_FOUND = 'VolumeBackup.0111'
RESTORE_DISK_STATE = 'VolumeBackup.0205'
# where the reference names no code, the simulator's own (docs/errors.md)
FORBIDDEN = 'VolumeBackup.0003'
INTERNAL = 'VolumeBackup.0001'
QUOTA = 'VolumeBackup.0900'
SHARE_NOT_FOUND = 'VolumeBackup.0300'

_FROM_CORE = {core.RESOURCE_NOT_FOUND: DISK_NOT_FOUND, core.RESOURCE_STATE: DISK_STATE,
              core.BACKUP_IN_PROGRESS: BACKUP_RUNNING, core.BACKUP_NOT_FOUND: RESTORE_NOT_FOUND,
              core.BACKUP_STATE: BACKUP_STATE, core.RESTORE_TARGET: RESTORE_DISK_STATE,
              core.FULL_TOO_SOON: BACKUP_STATE, core.VAULT_BUSY: BACKUP_STATE}


@contextlib.contextmanager
def translated(fields: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a domain error of the core with its VBS code and, through ``fields``
    (core field -> VBS request field), the field the VBS caller sent."""
    try:
        yield
    except DomainError as error:
        error.code = _FROM_CORE.get(error.code or '', error.code)
        error.field = fields.get(error.field or '', error.field)
        raise
