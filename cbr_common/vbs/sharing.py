"""VBS v2 backup sharing (``os-vendor-backup-sharing``) on the core's backup members.

A VBS share is a :class:`models.BackupMember` of one of the project's VBS disk backups,
made through the core (:func:`cbr_common.backups.sharing.share`, rule S1: at most 10
other projects of the region, never an encrypted backup) and accepted at once: VBS has no
accept step.  Project ids are checked first (rule S4).  Deleting the backup removes its
members in the core's delete job, so the shares disappear for everyone (rule S3).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from cbr_common.backups import sharing
from cbr_common.backups.families import VBS
from cbr_common.db import models
from cbr_common.errors import Forbidden, InvalidInput, NotFound
from cbr_common.vbs import backups, codes

PROJECT_IDS_FIELD = 'shared.to_project_ids'
_PROJECT_ID = re.compile(r'[A-Za-z0-9]{32}')
_SHARE_FIELDS = {'members': PROJECT_IDS_FIELD, 'backup_id': 'shared.backup_id'}

Share = tuple[models.BackupMember, models.Backup]


def check_project_ids(project_ids: Sequence[str], field: str = PROJECT_IDS_FIELD) -> None:
    """Rule S4: each id is 32 letters and digits, not digits only; else a 400 naming
    ``field``."""
    for project_id in project_ids:
        if not _PROJECT_ID.fullmatch(project_id) or project_id.isdigit():
            raise InvalidInput('project id %r is not 32 letters and digits (not all digits)'
                               % project_id, field=field)


def share(session: Session, project_id: str, backup_id: str,
          to_project_ids: Sequence[str]) -> list[models.BackupMember]:
    """Share the project's VBS backup with ``to_project_ids``; one new share each."""
    check_project_ids(to_project_ids)
    with codes.translated(_SHARE_FIELDS):
        backup = backups.get(session, project_id, backup_id, lock=True)
        return sharing.share(session, backup, to_project_ids, accept=True)


def listed(project_id: str, to_me: bool) -> ColumnElement[bool]:
    """The condition on a member joined with its backup (:func:`joined`): the VBS shares
    made by the project, or with ``to_me`` those made to it."""
    side = models.BackupMember.dest_project_id if to_me else models.BackupMember.project_id
    return and_(side == project_id, models.Backup.family == VBS)


def joined(*columns: Any) -> Select:
    """Shares joined with their backups: rows of (member, backup), or of ``columns``."""
    return select(*(columns or (models.BackupMember, models.Backup))).select_from(
        models.BackupMember).join(models.Backup,
                                  models.Backup.id == models.BackupMember.backup_id)


def get(session: Session, project_id: str, share_id: str, *, lock: bool = False) -> Share:
    """A share the project made or received, with its backup; else a 404."""
    query = joined().where(models.BackupMember.id == share_id, or_(
        listed(project_id, to_me=False), listed(project_id, to_me=True)))
    if lock:
        query = query.with_for_update(of=models.BackupMember)
    row = session.execute(query).one_or_none()
    if row is None:
        raise NotFound('share %s does not exist' % share_id, field='share_id',
                       code=codes.SHARE_NOT_FOUND)
    return row[0], row[1]


def cancel(session: Session, project_id: str, share_id: str) -> None:
    """The sharing project ends one share; the recipient may not (403)."""
    member, _ = get(session, project_id, share_id, lock=True)
    if member.project_id != project_id:
        raise Forbidden('only project %s, which shared the backup, cancels share %s'
                        % (member.project_id, share_id), field='share_id',
                        code=codes.FORBIDDEN)
    sharing.drop(session, [member])


def cancel_all(session: Session, project_id: str, backup_id: str) -> None:
    """The owner ends every share of its VBS backup (none is no error)."""
    backup = backups.get(session, project_id, backup_id, lock=True)
    sharing.drop(session, sharing.members_of(session, backup.id))
