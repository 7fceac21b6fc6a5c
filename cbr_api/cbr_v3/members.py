"""CBR v3 backup sharing: members of a backup (rules S1–S3)."""
from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from cbr_api import errors
from cbr_api.cbr_v3 import views
from cbr_api.intent import intent
from cbr_api.validation import parse_body, query_choice, query_page
from cbr_common.backups import sharing
from cbr_common.db.engine import read_scope
from cbr_common.errors import InvalidInput

blueprint = Blueprint('cbr_members', __name__, url_prefix='/v3/<project_id>/backups/<backup_id>')
errors.use_style(blueprint, 'cbr')

ProjectId = Annotated[str, Field(pattern=r'^[0-9a-zA-Z]{1,64}$')]


class AddMembersBody(BaseModel):
    """``POST .../members``: the projects to share with."""

    model_config = ConfigDict(extra='ignore')
    members: Annotated[list[ProjectId], Field(min_length=1, max_length=sharing.MAX_MEMBERS)]


class UpdateMemberBody(BaseModel):
    """``PUT .../members/{member_id}``: the member project's answer."""

    model_config = ConfigDict(extra='ignore')
    status: Literal['accepted', 'rejected']
    vault_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


@blueprint.post('/members')
def add_members(project_id: str, backup_id: str):
    spec = parse_body(AddMembersBody)
    with intent() as it:
        added = sharing.add(it.session, project_id, backup_id, spec.members)
        it.session.flush()
        body = {'members': [views.member(m) for m in added]}
    return jsonify(body)


def _filtered(members: list, project_id: str) -> list:
    args = request.args
    query_choice('status', sharing.MEMBER_STATES)
    found = [m for m in members if project_id in (m.project_id, m.dest_project_id)]
    for name in ('dest_project_id', 'status', 'vault_id'):
        if args.get(name):
            found = [m for m in found if getattr(m, name) == args[name]]
    if args.get('image_id'):
        found = []
    if args.get('marker'):
        ids = [m.id for m in found]
        if args['marker'] not in ids:
            raise InvalidInput('marker %s is not a member of this list' % args['marker'],
                               field='marker')
        found = found[ids.index(args['marker']) + 1:]
    return found


@blueprint.get('/members')
def list_members(project_id: str, backup_id: str):
    limit, offset = query_page()
    with read_scope() as session:
        sharing.visible_backup(session, project_id, backup_id)
        found = _filtered(sharing.members_of(session, backup_id), project_id)
        body = {'members': [views.member(m) for m in found[offset:offset + limit]],
                'count': len(found)}
    return jsonify(body)


@blueprint.get('/members/<member_id>')
def show_member(project_id: str, backup_id: str, member_id: str):
    with read_scope() as session:
        return jsonify({'member': views.member(sharing.get(session, project_id, backup_id,
                                                           member_id))})


@blueprint.put('/members/<member_id>')
def update_member(project_id: str, backup_id: str, member_id: str):
    spec = parse_body(UpdateMemberBody)
    with intent() as it:
        sharing.visible_backup(it.session, project_id, backup_id)
        member = sharing.answer(it.session, project_id, backup_id, member_id, spec.status,
                                spec.vault_id)
        it.session.flush()
        body = {'member': views.member(member)}
    return jsonify(body)


@blueprint.delete('/members/<member_id>')
def delete_member(project_id: str, backup_id: str, member_id: str):
    with intent() as it:
        sharing.remove(it.session, project_id, backup_id, member_id)
    return Response(status=204)
