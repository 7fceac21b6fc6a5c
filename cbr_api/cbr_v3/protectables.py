"""CBR v3 protectables, storage usage and backup metadata (reads only)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy.orm import Session

from cbr_api import errors
from cbr_api.cbr_v3 import protectable_views
from cbr_api.validation import query_page
from cbr_common.backups import protectables, requests, vault_stats
from cbr_common.db.engine import read_scope

blueprint = Blueprint('cbr_protectables', __name__, url_prefix='/v3/<project_id>')
errors.use_style(blueprint, 'cbr')

FILTERS = ('name', 'status', 'id', 'server_id')


def _arg(name: str) -> str | None:
    return request.args.get(name) or None


def _render(session: Session, found: protectables.Found) -> list[dict]:
    rows = list(found.vaults.values())
    facts = vault_stats.facts(session, rows)
    bodies = {v.id: protectable_views.vault_get(v, facts[v.id]) for v in rows}
    return [protectable_views.protectable(item, bodies) for item in found.items]


@blueprint.get('/protectables/<protectable_type>/instances')
def list_protectable(project_id: str, protectable_type: str):
    resource_type = protectables.resource_type_of(protectable_type)
    limit, offset = query_page(protectables.MAX_PAGE)
    flt = protectables.Filter(**{name: _arg(name) for name in FILTERS})
    with read_scope() as session:
        found = protectables.listing(session, project_id, resource_type, flt, limit=limit,
                                     offset=offset, marker=_arg('marker'))
        body = {'instances': _render(session, found)}
    return jsonify(body)


@blueprint.get('/protectables/<protectable_type>/instances/<instance_id>')
def show_protectable(project_id: str, protectable_type: str, instance_id: str):
    resource_type = protectables.resource_type_of(protectable_type)
    with read_scope() as session:
        found = protectables.get(session, project_id, resource_type, instance_id)
        body = {'instance': _render(session, found)[0]}
    return jsonify(body)


@blueprint.get('/storage_usage')
def show_storage_usage(project_id: str):
    limit, offset = query_page()
    with read_scope() as session:
        count, usage = protectables.storage_usage(
            session, project_id, resource_id=_arg('resource_id'),
            resource_type=_arg('resource_type'), limit=limit, offset=offset)
    return jsonify({'resource_count': count,
                    'storage_usage': [protectable_views.storage_usage(u) for u in usage]})


@blueprint.get('/backups/<backup_id>/metadata')
def show_metadata(project_id: str, backup_id: str):
    with read_scope() as session:
        sources = protectables.metadata(session, requests.get(session, project_id, backup_id))
        body = protectable_views.metadata(sources, request.host_url.rstrip('/'))
    return jsonify(body)
