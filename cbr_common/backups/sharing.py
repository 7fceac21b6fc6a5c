"""Sharing backups with other projects (rules S1–S3, B8).

The sharer adds members (other projects of the region, at most 10 per backup) to a
server or disk backup that is not encrypted.  A member starts ``pending``; the member
project accepts, naming one of its vaults of the backup's type whose free space is more
than the backup's size, or rejects.  An accepted backup can be used to create disks but
never restores the sharer's resources.  Deleting the backup removes its members, so it
disappears for them; what they made from it stays.  Accepting copies no blocks: the
backup's chunks stay in the sharer's vault (docs/decisions.md).  VBS v2 shares disk
backups through :func:`share` too, its members accepted at once (docs/vbs.md).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.backups import SERVER, VOLUME, codes, families, vaults
from cbr_common.dataplane.manifest import Manifest
from cbr_common.db import models
from cbr_common.errors import Forbidden, InvalidInput, NotFound, WrongState
from cbr_common.inventory import GIB, lookup
from cbr_common.statemachine import transition

MAX_MEMBERS = 10
SHAREABLE = (SERVER, VOLUME)
MEMBER_STATES = ('pending', 'accepted', 'rejected')


def add(session: Session, project_id: str, backup_id: str,
        member_ids: Sequence[str]) -> list[models.BackupMember]:
    """Share the caller's backup with ``member_ids``; returns the new members."""
    return share(session, _owned(session, project_id, backup_id, lock=True), member_ids)


def share(session: Session, backup: models.Backup, member_ids: Sequence[str], *,
          accept: bool = False) -> list[models.BackupMember]:
    """Share ``backup`` (found for its owner, locked) with ``member_ids`` (rules S1, B8);
    returns the new members, ``pending``, or ``accepted`` at once with ``accept`` (VBS has
    no accept step)."""
    project_id, backup_id = backup.project_id, backup.id
    if backup.parent_id is not None or backup.resource_type not in SHAREABLE:
        raise InvalidInput('only server and disk backups can be shared', field='backup_id',
                           code=codes.BACKUP_STATE)
    if any(device.key_id for device in [backup, *backup.children]):  # rule B8
        raise InvalidInput('an encrypted backup cannot be shared', field='backup_id',
                           code=codes.BACKUP_STATE)
    if backup.status != 'available':
        raise WrongState('backup %s is %s; only an available backup is shared'
                         % (backup_id, backup.status), field='backup_id',
                         code=codes.BACKUP_STATE)
    existing = members_of(session, backup_id)
    known = {member.dest_project_id for member in existing}
    if len(existing) + len(member_ids) > MAX_MEMBERS:  # rule S1
        raise InvalidInput('a backup is shared with at most %d projects' % MAX_MEMBERS,
                           field='members')
    if len(set(member_ids)) != len(member_ids):
        raise InvalidInput('members names a project twice', field='members')
    for member_id in member_ids:
        if member_id == project_id:
            raise InvalidInput('a backup is not shared with its own project', field='members')
        if member_id in known:
            raise WrongState('backup %s is already shared with %s' % (backup_id, member_id),
                             field='members', code=codes.BACKUP_STATE)
        if session.get(models.Project, member_id) is None:
            raise InvalidInput('project %s does not exist in this region' % member_id,
                               field='members')
    now = clock.now()
    added = []
    for member_id in member_ids:
        member = models.BackupMember(id=ids.new_uuid(), backup_id=backup_id,
                                     project_id=project_id, dest_project_id=member_id,
                                     created_at=now, updated_at=now)
        transition(session, member, 'pending', entity_type='member')
        if accept:
            transition(session, member, 'accepted', entity_type='member')
        session.add(member)
        added.append(member)
    return added


def _owned(session: Session, project_id: str, backup_id: str, *,
           lock: bool = False) -> models.Backup:
    backup = lookup.owned(session, models.Backup, project_id, backup_id, what='backup',
                          field='backup_id', lock=lock, code=codes.BACKUP_NOT_FOUND)
    return families.shown(backup, (families.CBR,), what='backup', field='backup_id',
                          code=codes.BACKUP_NOT_FOUND)


def members_of(session: Session, backup_id: str) -> list[models.BackupMember]:
    return list(session.execute(select(models.BackupMember)
                                .where(models.BackupMember.backup_id == backup_id)
                                .order_by(models.BackupMember.created_at,
                                          models.BackupMember.id)).scalars())


def _member(session: Session, backup_id: str, member_id: str, *,
            lock: bool = False) -> models.BackupMember:
    query = select(models.BackupMember).where(models.BackupMember.backup_id == backup_id,
                                              models.BackupMember.dest_project_id == member_id)
    if lock:
        query = query.with_for_update()
    member = session.execute(query).scalar_one_or_none()
    if member is None:
        raise NotFound('backup %s is not shared with %s' % (backup_id, member_id),
                       field='member_id', code=codes.MEMBER_NOT_FOUND)
    return member


def get(session: Session, project_id: str, backup_id: str,
        member_id: str) -> models.BackupMember:
    """A member, seen by the sharer or by the member project itself."""
    visible_backup(session, project_id, backup_id)
    member = _member(session, backup_id, member_id)
    if project_id not in (member.project_id, member.dest_project_id):
        raise NotFound('backup %s is not shared with %s' % (backup_id, member_id),
                       field='member_id', code=codes.MEMBER_NOT_FOUND)
    return member


def answer(session: Session, project_id: str, backup_id: str, member_id: str, status: str,
           vault_id: str | None) -> models.BackupMember:
    """The member project accepts (into one of its vaults) or rejects (rule S2)."""
    if member_id != project_id:
        raise Forbidden('only project %s answers its share' % member_id, field='member_id')
    member = _member(session, backup_id, member_id, lock=True)
    if status == 'accepted':
        if not vault_id:
            raise InvalidInput('vault_id is required to accept a shared backup',
                               field='vault_id')
        backup = session.get(models.Backup, backup_id)
        vault = vaults.get(session, project_id, vault_id)
        _check_room(session, vault, backup)
        member.vault_id = vault.id
    else:
        member.vault_id = None
    if member.status != status:
        transition(session, member, status, entity_type='member')
    member.updated_at = clock.now()
    return member


def _check_room(session: Session, vault: models.Vault, backup: models.Backup) -> None:
    if vault.resource_type != backup.resource_type:
        raise InvalidInput('vault %s holds %s, not %s backups' % (
            vault.id, vault.resource_type, backup.resource_type), field='vault_id',
            code=codes.RESOURCE_TYPE_MISMATCH)
    vaults.require_available(vault, 'accept a shared backup')
    free = vault.size * GIB - vaults.used_bytes(session, vault.id)
    if free <= data_bytes(backup):
        raise InvalidInput('vault %s has %d bytes free, not more than the backup\'s %d'
                           % (vault.id, free, data_bytes(backup)), field='vault_id',
                           code=codes.CAPACITY_TOO_SMALL)


def data_bytes(backup: models.Backup) -> int:
    """The bytes of data a backup holds (every non-zero block of each of its devices)."""
    total = 0
    for device in backup.children or [backup]:
        if device.manifest is not None:
            manifest = Manifest.decode(device.manifest)
            total += sum(manifest.block_length(block) for block in manifest.blocks)
    return total


def remove(session: Session, project_id: str, backup_id: str, member_id: str) -> None:
    """The sharer stops sharing with one project."""
    _owned(session, project_id, backup_id)
    drop(session, [_member(session, backup_id, member_id, lock=True)])


def drop(session: Session, members: Sequence[models.BackupMember]) -> None:
    """End these shares: each member goes ``deleted`` and its row is removed."""
    for member in members:
        transition(session, member, 'deleted', entity_type='member')
        session.delete(member)


def shared_with(project_id: str, statuses: Sequence[str] | None = None):
    """The ids of backups shared with ``project_id`` (in ``statuses``, if given)."""
    query = select(models.BackupMember.backup_id).where(
        models.BackupMember.dest_project_id == project_id)
    if statuses:
        query = query.where(models.BackupMember.status.in_(list(statuses)))
    return query


def visible_backup(session: Session, project_id: str, backup_id: str) -> models.Backup:
    """A CBR backup the project owns or that is shared with it, or a 404."""
    backup = session.execute(select(models.Backup).where(
        models.Backup.id == backup_id, models.Backup.family == families.CBR,
        or_(models.Backup.project_id == project_id,
            models.Backup.id.in_(shared_with(project_id))))).scalar_one_or_none()
    if backup is None:
        raise NotFound('backup %s does not exist' % backup_id, field='backup_id',
                       code=codes.BACKUP_NOT_FOUND)
    return backup


def usable_backup(session: Session, project_id: str, backup_id: str,
                  of: Sequence[str] = (families.CBR,)) -> models.Backup:
    """A backup of the families ``of`` the project may create resources from: its own, or
    one shared with it and accepted (rule S2); locked."""
    backup = session.execute(select(models.Backup).where(
        models.Backup.id == backup_id, models.Backup.family.in_(of),
        or_(models.Backup.project_id == project_id,
            models.Backup.id.in_(shared_with(project_id, ['accepted']))))
        .with_for_update()).scalar_one_or_none()
    if backup is None:
        raise NotFound('backup %s does not exist' % backup_id, field='backup_id',
                       code=codes.BACKUP_NOT_FOUND)
    return backup
