"""SFS Turbo v1 file systems: create, list with details, show, delete."""
from __future__ import annotations

from flask import Blueprint, jsonify
from pydantic import BaseModel, ConfigDict, Field

from cbr_api import errors
from cbr_api.intent import intent
from cbr_api.inventory import views
from cbr_api.validation import parse_body, query_int
from cbr_common.backups import requests
from cbr_common.db.engine import read_scope
from cbr_common.inventory import shares

blueprint = Blueprint('sfs', __name__)
errors.use_style(blueprint, 'sfs')


class ShareOption(BaseModel):
    """``share`` of the create request."""

    model_config = ConfigDict(extra='ignore')
    name: str = Field(min_length=4, max_length=64, pattern=r'^[A-Za-z][A-Za-z0-9_-]*$')
    share_proto: str = Field(default='NFS', pattern='^NFS$')
    share_type: str = Field(default='STANDARD', pattern='^(STANDARD|PERFORMANCE)$')
    size: int = Field(ge=500, le=32768)
    availability_zone: str = Field(min_length=1)
    vpc_id: str = Field(min_length=1)
    subnet_id: str = Field(min_length=1)
    security_group_id: str = Field(min_length=1)
    description: str = Field(default='', max_length=255)
    metadata: dict[str, str] = Field(default_factory=dict)
    backup_id: str | None = Field(default=None, min_length=1, max_length=64)


class CreateShareBody(BaseModel):
    model_config = ConfigDict(extra='ignore')
    share: ShareOption


@blueprint.post('/v1/<project_id>/sfs-turbo/shares')
def create_share(project_id: str):
    option = parse_body(CreateShareBody).share
    spec = shares.ShareSpec(**option.model_dump(exclude={'backup_id'}))
    with intent() as it:
        if option.backup_id:  # rule R5
            operation, share = requests.request_new_file_system(it.session, project_id,
                                                                option.backup_id, spec)
        else:
            operation, share = shares.create(it.session, project_id, spec)
        it.publish(operation)
    return jsonify({'id': share.id, 'name': share.name, 'status': share.status}), 202


@blueprint.get('/v1/<project_id>/sfs-turbo/shares/detail')
def list_shares(project_id: str):
    limit = query_int('limit', 200, minimum=1, maximum=200) or 200
    offset = query_int('offset', 0) or 0
    with read_scope() as session:
        found = shares.listing(session, project_id)
        return jsonify({'shares': [views.share(s) for s in found[offset:offset + limit]],
                        'count': len(found)})


@blueprint.get('/v1/<project_id>/sfs-turbo/shares/<share_id>')
def show_share(project_id: str, share_id: str):
    with read_scope() as session:
        return jsonify(views.share(shares.get(session, project_id, share_id)))


@blueprint.delete('/v1/<project_id>/sfs-turbo/shares/<share_id>')
def delete_share(project_id: str, share_id: str):
    with intent() as it:
        it.publish(shares.request_delete(it.session, project_id, share_id))
    return '', 202
