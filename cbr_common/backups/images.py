"""Full-server images made from server backups (rules R6, B7), both sides.

``request_image`` (API side) checks the backup and adds the image (``queued``) and its
``createImage`` job; the job makes it ``active``.  An image holds no data of its own: it
stands for the backup, which therefore cannot be deleted while the image exists (B7).
A backup makes at most one image, and only a server backup holding the system disk; a
server backup being made can make it once every disk is snapshotted (B13).
"""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.backups import SERVER, codes, requests, sharing
from cbr_common.db import models
from cbr_common.errors import InvalidInput, NotFound, WrongState
from cbr_common.operations import outbox
from cbr_common.operations.registry import job
from cbr_common.operations.runner import JobContext
from cbr_common.statemachine import transition


def request_image(session: Session, project_id: str, backup_id: str, *, name: str,
                  description: str = '') -> tuple[models.Operation, models.Image]:
    """A full-server image from the backup (own, or shared with the project and accepted)."""
    backup = sharing.usable_backup(session, project_id, backup_id)
    if backup.resource_type != SERVER or backup.parent_id is not None:
        raise InvalidInput('backup %s is not a server backup' % backup_id, field='backup_id',
                           code=codes.BACKUP_STATE)
    if not imageable(backup):
        raise WrongState('backup %s is %s and its disks are not snapshotted yet'
                         % (backup_id, backup.status), field='backup_id',
                         code=codes.BACKUP_STATE)
    vault = session.get(models.Vault, backup.vault_id)
    if vault.status not in ('available', 'locked'):  # rule B10
        raise WrongState('vault %s is %s' % (vault.id, vault.status), field='backup_id',
                         code=codes.VAULT_BUSY)
    if not any(requests.was_system_disk(session, child) for child in backup.children):
        raise InvalidInput('backup %s holds no system disk' % backup_id, field='backup_id',
                           code=codes.BACKUP_STATE)
    taken = image_of(session, backup_id)
    if taken is not None:  # one image per backup
        raise WrongState('backup %s already made image %s' % (backup_id, taken.id),
                         field='backup_id', code=codes.BACKUP_STATE)
    now = clock.now()
    image = models.Image(id=ids.new_uuid(), project_id=project_id, name=name,
                         description=description, backup_id=backup_id, created_at=now,
                         updated_at=now)
    transition(session, image, 'queued', entity_type='image')
    session.add(image)
    operation = outbox.create(session, project_id=project_id, job_type='createImage',
                              params={'image_id': image.id},
                              entities={'image_id': image.id, 'backup_id': backup_id})
    return operation, image


def imageable(backup: models.Backup) -> bool:
    """Whether an image can be made from the backup now: it is available, or it is a server
    backup still being made whose disks are all snapshotted (rule B13)."""
    if backup.status == 'available':
        return True
    return (backup.status == 'protecting' and backup.resource_type == SERVER
            and bool(backup.children)
            and all(child.snapshot_token is not None for child in backup.children))


def image_of(session: Session, backup_id: str) -> models.Image | None:
    return session.execute(select(models.Image).where(
        models.Image.backup_id == backup_id)).scalar_one_or_none()


def images_of(session: Session, backup_ids: Collection[str]) -> dict[str, str]:
    """backup id -> the id of the image made from it, for the backups that made one."""
    if not backup_ids:
        return {}
    return dict(session.execute(select(models.Image.backup_id, models.Image.id)
                                .where(models.Image.backup_id.in_(list(backup_ids)))).all())


def get(session: Session, project_id: str, image_id: str, *,
        lock: bool = False) -> models.Image:
    """The project's image, or a 404."""
    query = select(models.Image).where(models.Image.id == image_id,
                                       models.Image.project_id == project_id)
    image = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if image is None:
        raise NotFound('image %s does not exist' % image_id, field='image_id')
    return image


def delete(session: Session, project_id: str, image_id: str) -> None:
    """Delete the image; its backup may then be deleted again."""
    image = get(session, project_id, image_id, lock=True)
    if image.status == 'queued':
        raise WrongState('image %s is still being made' % image_id, field='image_id')
    transition(session, image, 'deleted', entity_type='image')
    session.delete(image)


def _fail_image(session: Session, operation: models.Operation, reason: str) -> None:
    image = session.get(models.Image, operation.params['image_id'])
    if image is not None and image.status == 'queued':
        transition(session, image, 'killed', entity_type='image', reason=reason,
                   operation_id=operation.id)


@job('createImage', on_failure=_fail_image)
def create_image(ctx: JobContext) -> None:
    with ctx.finishing() as session:
        image = session.get(models.Image, ctx.params['image_id'])
        if image.status == 'queued':
            transition(session, image, 'active', entity_type='image',
                       operation_id=ctx.operation_id)
