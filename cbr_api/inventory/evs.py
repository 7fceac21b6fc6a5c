"""EVS v2 disks: create (``/v2`` and ``/v2.1``), list with details, show, delete."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cbr_api import errors, render_cache
from cbr_api.intent import intent
from cbr_api.inventory import views
from cbr_api.validation import parse_body, query_bool, query_choice, query_int
from cbr_common.backups import requests
from cbr_common.db.engine import read_scope
from cbr_common.errors import InvalidInput, NotFound
from cbr_common.inventory import volumes

blueprint = Blueprint('evs', __name__)
errors.use_style(blueprint, 'evs')


class VolumeOption(BaseModel):
    """``volume`` of the create request."""

    model_config = ConfigDict(extra='ignore')
    availability_zone: str = Field(min_length=1, max_length=64)
    volume_type: str
    size: int | None = Field(default=None, ge=1, le=32768)
    name: str = Field(default='', max_length=64)
    description: str = Field(default='', max_length=85)
    count: int = Field(default=1, ge=1, le=100)
    multiattach: bool = False
    shareable: str | bool | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict, max_length=10)
    backup_id: str | None = None
    snapshot_id: str | None = None
    imageRef: str | None = None

    @model_validator(mode='after')
    def _rules(self) -> 'VolumeOption':
        if self.volume_type not in volumes.VOLUME_TYPES:
            raise ValueError('volume_type must be one of %s' % ', '.join(sorted(volumes.VOLUME_TYPES)))
        sources = [s for s in (self.backup_id, self.snapshot_id, self.imageRef) if s]
        if len(sources) > 1:
            raise ValueError('only one of backup_id, snapshot_id and imageRef may be given')
        if self.size is None:
            raise ValueError('size is required')
        low = 1 if self.imageRef else 10
        if self.size < low:
            raise ValueError('size must be between %d and 32768 GB' % low)
        if self.metadata.get(volumes.ENCRYPTED_KEY, '0') not in ('0', '1'):
            raise ValueError('metadata.%s must be "0" or "1"' % volumes.ENCRYPTED_KEY)
        encrypted = self.metadata.get(volumes.ENCRYPTED_KEY) == '1'
        if encrypted and len(self.metadata.get(volumes.CMK_KEY, '')) != 36:
            raise ValueError('metadata.%s (36 characters) is required for an encrypted disk'
                             % volumes.CMK_KEY)
        return self


class CreateVolumeBody(BaseModel):
    model_config = ConfigDict(extra='ignore')
    volume: VolumeOption


def _base_url() -> str:
    return request.host_url.rstrip('/')


@blueprint.post('/v2/<project_id>/cloudvolumes')
@blueprint.post('/v2.1/<project_id>/cloudvolumes')
def create_volume(project_id: str):
    option = parse_body(CreateVolumeBody).volume
    if option.snapshot_id:
        raise NotFound('snapshot_id %s does not exist' % option.snapshot_id,
                       field='volume.snapshot_id')
    if option.backup_id and option.count != 1:
        raise InvalidInput('a disk made from a backup is made one at a time',
                           field='volume.count')
    spec = volumes.VolumeSpec(
        size=option.size or 0, volume_type=option.volume_type,
        availability_zone=option.availability_zone, name=option.name,
        description=option.description, bootable=bool(option.imageRef),
        multiattach=option.multiattach or option.shareable in (True, 'true'),
        metadata=option.metadata, tags=option.tags)
    with intent() as it:
        if option.backup_id:  # rule R4
            operation, volume = requests.request_new_disk(it.session, project_id,
                                                          option.backup_id, spec)
            created = [volume]
        else:
            operation, created = volumes.create(it.session, project_id, spec, option.count)
        it.publish(operation)
    return jsonify({'job_id': operation.id, 'volume_ids': [v.id for v in created]}), 200


def _volume_page(project_id: str) -> tuple[list, int, int, int]:
    """The page of disks the list query asks for: (page, count, limit, offset)."""
    ids = tuple(request.args.getlist('id'))
    flt = volumes.VolumeFilter(name=request.args.get('name'), status=request.args.get('status'),
                               availability_zone=request.args.get('availability_zone'),
                               multiattach=query_bool('multiattach'), ids=ids,
                               server_id=request.args.get('server_id'))
    limit = query_int('limit', 1000, minimum=1, maximum=1000)
    offset = query_int('offset', 0)
    with read_scope() as session:
        page, count = volumes.listing(
            session, project_id, flt,
            sort_key=query_choice('sort_key', volumes.SORT_KEYS, 'created_at'),
            sort_dir=query_choice('sort_dir', ('asc', 'desc'), 'desc'),
            limit=limit or 1000, offset=offset or 0, marker=request.args.get('marker'))
    return page, count, limit or 1000, offset or 0


@blueprint.get('/v2/<project_id>/cloudvolumes')
def list_volume_summaries(project_id: str):
    def render() -> dict:
        page, count, _, _ = _volume_page(project_id)
        return {'volumes': [views.volume_summary(v, _base_url()) for v in page], 'count': count}
    return render_cache.rendered(project_id, render)


@blueprint.get('/v2/<project_id>/cloudvolumes/detail')
def list_volumes(project_id: str):
    def render() -> dict:
        page, count, limit, offset = _volume_page(project_id)
        base = _base_url()
        body = {'volumes': [views.volume(v, base) for v in page], 'count': count}
        if page and offset + len(page) < count:
            body['volumes_links'] = [{'href': '%s/v2/%s/cloudvolumes/detail?limit=%d&marker=%s'
                                      % (base, project_id, limit, page[-1].id), 'rel': 'next'}]
        return body
    return render_cache.rendered(project_id, render)


@blueprint.get('/v2/<project_id>/cloudvolumes/<volume_id>')
def show_volume(project_id: str, volume_id: str):
    with read_scope() as session:
        return jsonify({'volume': views.volume(volumes.get(session, project_id, volume_id),
                                               _base_url())})


@blueprint.delete('/v2/<project_id>/cloudvolumes/<volume_id>')
def delete_volume(project_id: str, volume_id: str):
    with intent() as it:
        operation = it.publish(volumes.request_delete(it.session, project_id, volume_id))
    return jsonify({'job_id': operation.id}), 200
