"""Change stamps: every transaction that changes a project's inventory gives the project a
new random stamp, in that same transaction.

A ``before_flush`` hook on every ORM session finds new, changed and deleted disks,
servers, file systems and attachments and replaces their projects' stamps, so no code
path can forget to.  Bulk statements bypass the hook; code that issues them on inventory
tables calls :func:`bump` itself (``seed.reset`` does).  A reader that reads the stamp
before the data it renders, and keeps the rendering only while the stamp is unchanged,
never serves anything older than the database.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from cbr_common.db import models

TRACKED = (models.Project, models.Volume, models.Server, models.Share, models.VolumeAttachment)


def _project_of(instance: object) -> str | None:
    if isinstance(instance, models.Project):
        return instance.id
    if isinstance(instance, models.VolumeAttachment):
        volume = instance.volume
        return volume.project_id if volume is not None else None
    return getattr(instance, 'project_id', None)


def bump(session: Session, projects: Iterable[str]) -> None:
    """Give each project a new stamp inside the session's transaction."""
    connection = session.connection()
    for project_id in sorted(set(projects)):
        token = uuid.uuid4().hex
        changed = connection.execute(update(models.ChangeStamp)
                                     .where(models.ChangeStamp.scope == project_id)
                                     .values(stamp=token)).rowcount
        if not changed:
            connection.execute(insert(models.ChangeStamp).values(scope=project_id, stamp=token))


_CURRENT = select(models.ChangeStamp.stamp).where(models.ChangeStamp.scope == bindparam('scope'))


def current(connection: Connection, project_id: str) -> str | None:
    """The project's stamp, or None when it has none yet (then nothing may be cached)."""
    return connection.execute(_CURRENT, {'scope': project_id}).scalar_one_or_none()


@event.listens_for(Session, 'before_flush')
def _stamp_changed_projects(session: Session, flush_context, instances) -> None:
    projects = {_project_of(instance)
                for instance in (*session.new, *session.dirty, *session.deleted)
                if isinstance(instance, TRACKED)}
    projects.discard(None)
    if projects:
        bump(session, projects)
