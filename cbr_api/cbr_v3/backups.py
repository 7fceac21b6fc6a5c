"""CBR v3 backups and checkpoints: one-off backups, list, show, rename, delete, restore."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from cbr_api import errors, paging
from cbr_api.cbr_v3 import schemas, views
from cbr_api.intent import intent
from cbr_api.validation import (parse_body, query_bool, query_choice, query_choices,
                                query_page, query_period)
from cbr_common.backups import (RESOURCE_TYPES, checkpoints, families, images, requests,
                                restores, sharing)
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.errors import InvalidInput

blueprint = Blueprint('cbr_backups', __name__, url_prefix='/v3/<project_id>')
errors.use_style(blueprint, 'cbr')

BACKUP_STATES = ('available', 'protecting', 'deleting', 'restoring', 'error',
                 'waiting_protect', 'waiting_delete', 'waiting_restore')
SORT_KEYS = {'created_at': models.Backup.created_at, 'updated_at': models.Backup.updated_at,
             'name': models.Backup.name, 'status': models.Backup.status,
             'protected_at': models.Backup.protected_at, 'id': models.Backup.id}
_WITH_CHILDREN = selectinload(models.Backup.children)


# -- checkpoints -------------------------------------------------------------------------
def _checkpoint_body(session, checkpoint: models.Checkpoint) -> dict:
    backups = list(session.execute(select(models.Backup).where(
        models.Backup.checkpoint_id == checkpoint.id, models.Backup.parent_id.is_(None))
        .order_by(models.Backup.name)).scalars())
    vault = session.get(models.Vault, checkpoint.vault_id)
    return {'checkpoint': views.checkpoint(checkpoint, vault, backups)}


@blueprint.post('/checkpoints')
def create_checkpoint(project_id: str):
    spec = parse_body(schemas.CheckpointCreateBody).checkpoint
    params = spec.parameters
    request_ = checkpoints.CheckpointRequest(
        vault_id=spec.vault_id, resource_ids=params.resource_ids, name=params.name,
        description=params.description, incremental=params.incremental,
        retention_duration_days=params.retention_duration_days or -1)
    with intent() as it:
        checkpoint, operations = checkpoints.create(it.session, project_id, request_)
        it.publish_all(operations)
        it.session.flush()
        body = _checkpoint_body(it.session, checkpoint)
    return jsonify(body)


@blueprint.get('/checkpoints/<checkpoint_id>')
def show_checkpoint(project_id: str, checkpoint_id: str):
    with read_scope() as session:
        return jsonify(_checkpoint_body(session, checkpoints.get(session, project_id,
                                                                 checkpoint_id)))


# -- backups -----------------------------------------------------------------------------
def _order_by(raw: str | None) -> list:
    """``sort=key[:asc|desc],...`` (default ``created_at:desc``), then id for stability."""
    return paging.order_by(raw, SORT_KEYS, models.Backup.id)


def _ownership(project_id: str):
    """``own_type``: the caller's backups (private, the default), those shared with it
    (shared; ``member_status`` narrows them), or both (all_granted)."""
    own_type = request.args.get('own_type') or 'private'
    statuses = query_choices('member_status', sharing.MEMBER_STATES)
    own = models.Backup.project_id == project_id
    shared = models.Backup.id.in_(sharing.shared_with(project_id, statuses))
    choices = {'private': own, 'shared': shared, 'all_granted': or_(own, shared)}
    if own_type not in choices:
        raise InvalidInput('own_type must be private, shared or all_granted', field='own_type')
    return choices[own_type]


def _filters(project_id: str) -> list:
    args = request.args
    where = [_ownership(project_id), models.Backup.family == families.CBR]
    parent = args.get('parent_id')
    where.append(models.Backup.parent_id == parent if parent
                 else models.Backup.parent_id.is_(None))
    for name in ('checkpoint_id', 'name', 'resource_az', 'resource_id', 'resource_name',
                 'vault_id'):
        if args.get(name):
            where.append(getattr(models.Backup, name) == args[name])
    resource_type = query_choice('resource_type', RESOURCE_TYPES)
    if resource_type is not None:
        where.append(models.Backup.resource_type == resource_type)
    statuses = query_choices('status', BACKUP_STATES)
    if statuses:
        where.append(models.Backup.status.in_(statuses))
    if args.get('image_type') not in (None, '', 'backup'):
        if args['image_type'] != 'replication':
            raise InvalidInput('image_type must be backup or replication', field='image_type')
        where.append(models.Backup.id.is_(None))
    where += query_period(models.Backup.created_at)
    incremental = query_bool('incremental')
    if incremental is not None:
        where.append(models.Backup.incremental == incremental)
    return where


@blueprint.get('/backups')
def list_backups(project_id: str):
    limit, offset = query_page()
    where = _filters(project_id)
    order = _order_by(request.args.get('sort'))
    with read_scope() as session:
        count = session.execute(select(func.count()).select_from(models.Backup)
                                .where(*where)).scalar_one()
        query = select(models.Backup).where(*where).order_by(*order).options(_WITH_CHILDREN)
        start = paging.page_start(session,
                                  select(models.Backup.id).where(*where).order_by(*order),
                                  request.args.get('marker'), offset)
        page = list(session.execute(query.limit(limit).offset(start)).scalars())
        made = images.images_of(session, [row.id for row in page])
        body = {'backups': [views.backup(row, made) for row in page], 'count': count,
                'offset': offset, 'limit': limit}
    return jsonify(body)


@blueprint.get('/backups/<backup_id>')
def show_backup(project_id: str, backup_id: str):
    with read_scope() as session:
        backup = sharing.visible_backup(session, project_id, backup_id)
        return jsonify({'backup': views.backup(backup, images.images_of(session, [backup.id]))})


@blueprint.put('/backups/<backup_id>')
def update_backup(project_id: str, backup_id: str):
    spec = parse_body(schemas.BackupUpdateBody).backup
    with intent() as it:
        backup = requests.get(it.session, project_id, backup_id, lock=True)
        if spec.name is not None:
            backup.name = spec.name
        it.session.flush()
        body = {'backup': views.backup(backup, images.images_of(it.session, [backup.id]))}
    return jsonify(body)


@blueprint.delete('/backups/<backup_id>')
def delete_backup(project_id: str, backup_id: str):
    with intent() as it:
        it.publish(requests.request_delete(it.session, project_id, backup_id))
    return Response(status=204)


@blueprint.post('/backups/<backup_id>/restore')
def restore_backup(project_id: str, backup_id: str):
    spec = parse_body(schemas.RestoreBody).restore
    with intent() as it:
        if spec.server_id:
            mappings = ({m.backup_id: m.volume_id for m in spec.mappings}
                        if spec.mappings else None)
            operation = restores.request_server_restore(it.session, project_id, backup_id,
                                                        spec.server_id, mappings,
                                                        power_on=spec.power_on)
        else:
            operation = restores.request_disk_restore(it.session, project_id, backup_id,
                                                      spec.volume_id or spec.resource_id or '')
        it.publish(operation)
    return Response(status=202)

