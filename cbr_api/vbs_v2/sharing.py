"""VBS backup sharing (``/v2/{project_id}/os-vendor-backup-sharing``): share a backup with
other projects, list, count and show shares, and cancel them (rules S1, S3, S4; the rules
are :mod:`cbr_common.vbs.sharing`'s).  Errors are VBS-native ``{"error": {"code",
"message"}}``."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import func

from cbr_api import errors
from cbr_api.intent import intent
from cbr_api.validation import parse_body, query_bool, query_page
from cbr_api.vbs_v2 import schemas, views
from cbr_api.vbs_v2.cinder import MAX_LIMIT, backup_filters, sort_order
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.vbs import sharing

blueprint = Blueprint('vbs_sharing', __name__,
                      url_prefix='/v2/<project_id>/os-vendor-backup-sharing')
errors.use_style(blueprint, 'vbs')

Member = models.BackupMember
SORT_KEYS = {'created_at': Member.created_at, 'updated_at': Member.updated_at,
             'id': Member.id, 'backup_id': Member.backup_id,
             'from_project_id': Member.project_id, 'to_project_id': Member.dest_project_id}
# the reference's misspelt ``avalilability_zone``, and the spelling a client may expect
FILTERS = {'backup_id': Member.backup_id, 'from_project_id': Member.project_id,
           'to_project_id': Member.dest_project_id,
           'avalilability_zone': models.Backup.resource_az,
           'availability_zone': models.Backup.resource_az}


def _filters(project_id: str) -> list:
    """``share_to_me`` (shares made to the project, else by it), the backup's ``name``,
    ``status`` and ``volume_id``, and the columns of :data:`FILTERS`."""
    where = [sharing.listed(project_id, bool(query_bool('share_to_me'))), *backup_filters()]
    for name, column in FILTERS.items():
        if request.args.get(name):
            where.append(column == request.args[name])
    return where


@blueprint.post('')
def share_backup(project_id: str):
    spec = parse_body(schemas.SharedBody).shared
    with intent() as it:
        added = sharing.share(it.session, project_id, spec.backup_id, spec.to_project_ids)
        it.session.flush()
        body = {'shared': [views.share(member) for member in added]}
    return jsonify(body)


@blueprint.get('/detail')
def list_shares(project_id: str):
    limit, offset = query_page(MAX_LIMIT)
    where, order = _filters(project_id), sort_order(SORT_KEYS, Member.id)
    with read_scope() as session:
        rows = [(member, backup) for member, backup in session.execute(
            sharing.joined().where(*where).order_by(*order).limit(limit).offset(offset))]
        return jsonify({'shared': views.shares(session, rows)})


@blueprint.get('/count')
def count_shares(project_id: str):
    where = _filters(project_id)
    with read_scope() as session:
        count = session.execute(sharing.joined(func.count()).where(*where)).scalar_one()
    return jsonify({'count': count})


@blueprint.get('/<share_id>')
def show_share(project_id: str, share_id: str):
    with read_scope() as session:
        return jsonify({'shared': views.shares(session, [sharing.get(session, project_id,
                                                                     share_id)])[0]})


@blueprint.delete('/<share_id>')
def cancel_share(project_id: str, share_id: str):
    """One share, or with ``is_backup_id=true`` every share of the backup ``share_id``."""
    with intent() as it:
        if query_bool('is_backup_id'):
            sharing.cancel_all(it.session, project_id, share_id)
        else:
            sharing.cancel(it.session, project_id, share_id)
    return Response(status=200)
