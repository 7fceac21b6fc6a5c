"""Change stamps: every transaction that changes a project's inventory gives the project a
new random stamp, in that same transaction; every transaction that changes what its
vault list shows gives its vault scope (:func:`vaults_scope`) a new stamp.

A ``before_flush`` hook on every ORM session finds new, changed and deleted disks,
servers, file systems and attachments and replaces their projects' stamps, so no code
path can forget to.  The same hook notes the projects whose vaults, vault resources,
backups or inventory changed; chunk reference changes (bulk statements) note their
vault's project with :func:`touch_vault`; the noted vault scopes get new stamps just
before the transaction commits, after every other lock it takes, so the stamp row never
takes part in a lock cycle.  Other bulk statements on tracked tables call :func:`bump` or
:func:`touch_vaults` themselves (``seed.reset`` does).  A reader that reads the stamp
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
VAULT_TRACKED = (models.Vault, models.VaultResource, models.Backup)
_NOTED = 'cbr_vault_scopes'
_vault_projects: dict[str, str] = {}  # vault id -> project id; a vault never moves


def vaults_scope(project_id: str) -> str:
    """The scope whose stamp changes with anything a project's vault list shows."""
    return 'vaults:%s' % project_id


def _project_of(instance: object) -> str | None:
    if isinstance(instance, models.Project):
        return instance.id
    if isinstance(instance, models.VolumeAttachment):
        volume = instance.volume
        return volume.project_id if volume is not None else None
    return getattr(instance, 'project_id', None)


def bump(session: Session, projects: Iterable[str]) -> None:
    """Give each project (or other scope) a new stamp inside the session's transaction."""
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


def touch_vaults(session: Session, project_ids: Iterable[str]) -> None:
    """Note that these projects' vault lists change; stamped when the session commits."""
    session.info.setdefault(_NOTED, set()).update(vaults_scope(p) for p in project_ids)


def touch_vault(session: Session, vault_id: str) -> None:
    """Note that a vault's figures change (its chunks' references)."""
    project_id = _vault_projects.get(vault_id)
    if project_id is None:
        project_id = session.execute(select(models.Vault.project_id)
                                     .where(models.Vault.id == vault_id)).scalar_one_or_none()
        if project_id is None:
            return
        _vault_projects[vault_id] = project_id
    touch_vaults(session, [project_id])


@event.listens_for(Session, 'before_flush')
def _stamp_changed_projects(session: Session, flush_context, instances) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    projects = {_project_of(instance) for instance in changed if isinstance(instance, TRACKED)}
    projects.discard(None)
    if projects:
        bump(session, projects)
    owners = projects | {_project_of(instance) for instance in changed
                         if isinstance(instance, VAULT_TRACKED)}
    owners.discard(None)
    if owners:
        touch_vaults(session, owners)


@event.listens_for(Session, 'before_commit')
def _stamp_noted_vault_scopes(session: Session) -> None:
    session.flush()  # commit's own flush comes after this hook; its changes count too
    scopes = session.info.pop(_NOTED, None)
    if scopes:
        bump(session, scopes)


@event.listens_for(Session, 'after_rollback')
def _forget_noted(session: Session) -> None:
    session.info.pop(_NOTED, None)
