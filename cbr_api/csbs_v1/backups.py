"""CSBS v1 backups: one-off backups of a server (#12), checkpoint items (#3, #4, #5), backup
records (Karbor's checkpoints) and their deletion (#2)."""
from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TypeVar

from flask import Blueprint, jsonify, request
from sqlalchemy import false, func, select
from sqlalchemy.orm import Session, selectinload

from cbr_api import errors, paging
from cbr_api.csbs_v1 import backup_schemas, item_views
from cbr_api.intent import intent
from cbr_api.validation import (parse_body, query_choice, query_int, query_iso_time,
                                query_period)
from cbr_common.backups import images
from cbr_common.csbs import checks, items
from cbr_common.db import models
from cbr_common.db.engine import read_scope

blueprint = Blueprint('csbs_backups', __name__, url_prefix='/v1/<project_id>')
errors.use_style(blueprint, 'csbs')

MAX_LIMIT = 1000
SORT_KEYS = {'created_at': models.Backup.created_at, 'updated_at': models.Backup.updated_at,
             'name': models.Backup.name, 'status': models.Backup.status,
             'protected_at': models.Backup.protected_at, 'id': models.Backup.id}
_EXACT = {'az': models.Backup.resource_az, 'resource_id': models.Backup.resource_id,
          'checkpoint_id': models.Backup.checkpoint_id, 'policy_id': models.Backup.policy_id,
          'resource_type': models.Backup.resource_type}
_FUZZY = {'name': models.Backup.name, 'resource_name': models.Backup.resource_name}
_WITH_CHILDREN = selectinload(models.Backup.children)
Row = TypeVar('Row', models.Operation, models.Server, models.Volume)


def _by_id(session: Session, model: type[Row], ids: Iterable[str | None]) -> dict[str, Row]:
    """The rows of ``model`` with these ids (None and repeats ignored), by id."""
    wanted = sorted({row_id for row_id in ids if row_id})
    if not wanted:
        return {}
    return {row.id: row for row in session.execute(
        select(model).where(model.id.in_(wanted))).scalars()}


def _facts(session: Session, rows: list[models.Backup]) -> item_views.ItemFacts:
    """The jobs, images, servers and disks the items' bodies show, in four queries."""
    by_id = functools.partial(_by_id, session)
    return item_views.ItemFacts(
        operations=by_id(models.Operation, [row.operation_id for row in rows]),
        images=images.images_of(session, [row.id for row in rows]),
        servers=by_id(models.Server, [row.resource_id for row in rows]),
        volumes=by_id(models.Volume, [child.resource_id for row in rows
                                      for child in row.children]))


def items_body(session: Session, rows: list[models.Backup]) -> list[dict]:
    facts = _facts(session, rows)
    return [item_views.item(row, facts) for row in rows]


# -- one-off backup ------------------------------------------------------------------------
@blueprint.post('/providers/<provider_id>/resources/<resource_id>/action')
def protect(project_id: str, provider_id: str, resource_id: str):
    checks.require_provider(provider_id)
    spec = parse_body(backup_schemas.ProtectBody).protect
    request_ = items.ProtectRequest(backup_name=spec.backup_name, description=spec.description,
                                    incremental=spec.incremental,
                                    resource_type=spec.resource_type,
                                    tags=tuple(tag.model_dump() for tag in spec.tags or ()))
    with intent() as it:
        checkpoint, item, operation = items.protect(it.session, project_id, resource_id,
                                                    request_)
        it.publish(operation)
        body = {'checkpoint': item_views.checkpoint(checkpoint, [item])}
    return jsonify(body)


# -- checkpoint items ----------------------------------------------------------------------
def _filters(project_id: str) -> list:
    """The conditions of ``GET /checkpoint_items`` and ``/count``; ``all_tenants`` is
    ignored (a project sees its own backups)."""
    args = request.args
    where = items.of_project(project_id)
    status = query_choice('status', items.ITEM_STATES)
    if status is not None:
        where.append(models.Backup.status == status)
    where += [column == args[name] for name, column in _EXACT.items() if args.get(name)]
    where += [column.contains(args[name], autoescape=True)
              for name, column in _FUZZY.items() if args.get(name)]
    if query_choice('image_type', ('backup', 'replication')) == 'replication':
        where.append(false())  # no replicas in the simulator
    where += query_period(models.Backup.created_at, query_iso_time)
    return where


@blueprint.get('/checkpoint_items')
def list_items(project_id: str):
    limit = query_int('limit', MAX_LIMIT, minimum=1, maximum=MAX_LIMIT) or MAX_LIMIT
    offset = query_int('offset', 0) or 0
    where = _filters(project_id)
    order = paging.order_by(request.args.get('sort'), SORT_KEYS, models.Backup.id)
    with read_scope() as session:
        start = paging.page_start(session,
                                  select(models.Backup.id).where(*where).order_by(*order),
                                  request.args.get('marker'), offset)
        rows = list(session.execute(select(models.Backup).where(*where).order_by(*order)
                                    .options(_WITH_CHILDREN).limit(limit).offset(start))
                    .scalars())
        body = {'checkpoint_items': items_body(session, rows)}
    return jsonify(body)


@blueprint.get('/checkpoint_items/count')
def count_items(project_id: str):
    where = _filters(project_id)
    with read_scope() as session:
        count = session.execute(select(func.count()).select_from(models.Backup)
                                .where(*where)).scalar_one()
    return jsonify({'count': count})


@blueprint.get('/checkpoint_items/<item_id>')
def show_item(project_id: str, item_id: str):
    with read_scope() as session:
        item = items.get(session, project_id, item_id)
        return jsonify({'checkpoint_item': items_body(session, [item])[0]})


# -- backup records ------------------------------------------------------------------------
@blueprint.get('/providers/<provider_id>/checkpoints')
def list_checkpoints(project_id: str, provider_id: str):
    checks.require_provider(provider_id)
    with read_scope() as session:
        rows = list(session.execute(select(models.Backup).where(
            *items.of_project(project_id), models.Backup.checkpoint_id.is_not(None))
            .order_by(models.Backup.created_at, models.Backup.id)).scalars())
        grouped: dict[str, list[models.Backup]] = {}
        for row in rows:
            grouped.setdefault(row.checkpoint_id, []).append(row)
        records = session.execute(select(models.Checkpoint).where(
            models.Checkpoint.project_id == project_id, models.Checkpoint.id.in_(list(grouped)))
            .order_by(models.Checkpoint.created_at.desc(), models.Checkpoint.id)).scalars()
        body = {'checkpoints': [item_views.checkpoint(cp, grouped[cp.id]) for cp in records]}
    return jsonify(body)


@blueprint.get('/providers/<provider_id>/checkpoints/<checkpoint_id>')
def show_checkpoint(project_id: str, provider_id: str, checkpoint_id: str):
    checks.require_provider(provider_id)
    with read_scope() as session:
        found = items.of_checkpoint(session, project_id, checkpoint_id)
        record = session.get(models.Checkpoint, checkpoint_id)
        return jsonify({'checkpoint': item_views.checkpoint(record, found)})


@blueprint.delete('/providers/<provider_id>/checkpoints/<checkpoint_id>')
def delete_checkpoint(project_id: str, provider_id: str, checkpoint_id: str):
    """Delete the record's items (or those ``checkpoint_items`` names: repeated or
    comma-separated); asynchronous, answers ``{}``."""
    checks.require_provider(provider_id)
    named = {part for value in request.args.getlist('checkpoint_items')
             for part in value.split(',') if part}
    with intent() as it:
        it.publish_all(items.request_deletes(it.session, project_id, checkpoint_id, named))
    return jsonify({})
