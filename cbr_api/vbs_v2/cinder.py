"""VBS's Cinder-native backup API: create, delete, list, show and restore backups.

Served twice over the same domain calls: ``/v2/{project_id}/backups…`` (deprecated in
VBS, still documented) and, because the Cinder v3 paths ``/v3/{project_id}/backups…``
are CBR v3's, ``/block-storage/v3/{project_id}/backups…`` (catalog type
``block-storage``).  The lists show the disk backups VBS shows, with their ``source``
(rule C5).  Errors are Cinder's: ``{"badRequest": {"code": 400, "message"}}``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import func, select

from cbr_api import errors
from cbr_api.intent import intent
from cbr_api.paging import page_start
from cbr_api.validation import parse_body, query_choice, query_page
from cbr_api.vbs_v2 import schemas, views
from cbr_api.vbs_v2.views import CinderApi
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.vbs import backups

SORT_KEYS = {'created_at': models.Backup.created_at, 'updated_at': models.Backup.updated_at,
             'name': models.Backup.name, 'status': models.Backup.status,
             'size': models.Backup.resource_size, 'id': models.Backup.id}
MAX_LIMIT = 1000


def backup_filters() -> list:
    """Conditions on the backups of a list: ``name``, ``status`` (as VBS shows it) and
    ``volume_id`` narrow it (the sharing list's too)."""
    where = []
    args = request.args
    if args.get('name'):
        where.append(models.Backup.name == args['name'])
    if args.get('status'):
        where.append(models.Backup.status.in_(backups.core_statuses(args['status'])))
    if args.get('volume_id'):
        where.append(models.Backup.resource_id == args['volume_id'])
    return where


def sort_order(keys: Mapping[str, Any], tiebreak: Any) -> list:
    """``sort_key`` (one of ``keys``, default ``created_at``) and ``sort_dir`` (default
    ``desc``), then ``tiebreak`` in the same direction."""
    column = keys[query_choice('sort_key', keys, 'created_at') or 'created_at']
    descending = query_choice('sort_dir', ('asc', 'desc'), 'desc') == 'desc'
    return [column.desc() if descending else column.asc(),
            tiebreak.desc() if descending else tiebreak.asc()]


def _next_link(url: str, limit: int, marker: str) -> list[dict[str, str]]:
    """``backups_links``: the next page after ``marker``, keeping the other parameters."""
    query = [(key, value) for key, value in request.args.items(multi=True)
             if key not in ('limit', 'marker', 'offset')]
    query += [('limit', str(limit)), ('marker', marker)]
    return [{'href': '%s?%s' % (url, urlencode(query)), 'rel': 'next'}]


def make_blueprint(api: CinderApi) -> Blueprint:
    """The Cinder backup API mounted at ``api.root``."""
    blueprint = Blueprint(api.name, __name__, url_prefix=api.root + '/<project_id>/backups')
    errors.use_style(blueprint, 'cinder')

    def _list(project_id: str, detailed: bool, suffix: tuple[str, ...]):
        limit, offset = query_page(MAX_LIMIT)
        where = [backups.listed(project_id), *backup_filters()]
        order = sort_order(SORT_KEYS, models.Backup.id)
        with read_scope() as session:
            start = page_start(session, select(models.Backup.id).where(*where).order_by(*order),
                               request.args.get('marker'), offset)
            total = session.execute(select(func.count()).select_from(models.Backup)
                                    .where(*where)).scalar_one()
            page = list(session.execute(select(models.Backup).where(*where).order_by(*order)
                                        .limit(limit).offset(start)).scalars())
            facts = views.facts(session, page) if detailed else None
            body: dict = {'backups': [views.summary(api, row) if facts is None
                                      else views.detail(api, row, facts) for row in page]}
        if page and start + len(page) < total:
            body['backups_links'] = _next_link(api.url(project_id, 'backups', *suffix), limit,
                                               page[-1].id)
        return jsonify(body)

    @blueprint.get('')
    def list_backups(project_id: str):
        return _list(project_id, False, ())

    @blueprint.get('/detail')
    def list_backup_details(project_id: str):
        return _list(project_id, True, ('detail',))

    @blueprint.get('/<backup_id>')
    def show_backup(project_id: str, backup_id: str):
        with read_scope() as session:
            backup = backups.get(session, project_id, backup_id)
            return jsonify({'backup': views.detail(api, backup, views.facts(session, [backup]))})

    @blueprint.post('')
    def create_backup(project_id: str):
        spec = parse_body(schemas.CinderBackupBody).backup
        request_ = backups.BackupRequest(volume_id=spec.volume_id, name=spec.name,
                                         description=spec.description or '',
                                         full=spec.incremental is False,
                                         snapshot_id=spec.snapshot_id)
        with intent() as it:
            operation = it.publish(backups.request_backup(it.session, project_id, request_))
            backup = it.session.get_one(models.Backup, operation.params['backup_id'])
            body = {'backup': views.summary(api, backup)}
        return jsonify(body), 202

    @blueprint.delete('/<backup_id>')
    def delete_backup(project_id: str, backup_id: str):
        with intent() as it:
            it.publish(backups.request_delete(it.session, project_id, backup_id))
        return Response(status=202)

    @blueprint.post('/<backup_id>/restore')
    def restore_backup(project_id: str, backup_id: str):
        volume_id = parse_body(schemas.RestoreBody).restore.volume_id
        with intent() as it:
            it.publish(backups.request_restore(it.session, project_id, backup_id, volume_id))
            volume = it.session.get_one(models.Volume, volume_id)
            body = {'restore': {'backup_id': backup_id, 'volume_id': volume_id,
                                'volume_name': volume.name}}
        return jsonify(body), 202

    return blueprint
