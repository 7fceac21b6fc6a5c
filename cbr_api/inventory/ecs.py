"""ECS v1 servers: create, list, show, delete, start/stop, attach and detach disks."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cbr_api import errors
from cbr_api.intent import intent
from cbr_api.inventory import views
from cbr_api.validation import json_body, parse, parse_body, query_int
from cbr_common.db.engine import read_scope
from cbr_common.errors import InvalidInput
from cbr_common.inventory import servers, volumes

blueprint = Blueprint('ecs', __name__)
errors.use_style(blueprint, 'ecs')


class RootVolume(BaseModel):
    model_config = ConfigDict(extra='ignore')
    volumetype: str
    size: int = Field(default=40, ge=1, le=1024)


class DataVolume(BaseModel):
    model_config = ConfigDict(extra='ignore')
    volumetype: str
    size: int = Field(ge=10, le=32768)
    multiattach: bool = False
    shareable: bool = False


class Nic(BaseModel):
    model_config = ConfigDict(extra='ignore')
    subnet_id: str = Field(min_length=1)


class ServerOption(BaseModel):
    """``server`` of the create request."""

    model_config = ConfigDict(extra='ignore')
    name: str = Field(min_length=1, max_length=128)
    imageRef: str = Field(min_length=1)
    flavorRef: str = Field(min_length=1)
    vpcid: str = Field(min_length=1)
    nics: list[Nic] = Field(min_length=1, max_length=12)
    root_volume: RootVolume
    data_volumes: list[DataVolume] = Field(default_factory=list, max_length=23)
    availability_zone: str = ''
    count: int = Field(default=1, ge=1, le=100)
    description: str = Field(default='', max_length=85)
    metadata: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=10)

    @model_validator(mode='after')
    def _volume_types(self) -> 'ServerOption':
        for disk in (self.root_volume, *self.data_volumes):
            if disk.volumetype not in volumes.VOLUME_TYPES:
                raise ValueError('volumetype must be one of %s' %
                                 ', '.join(sorted(volumes.VOLUME_TYPES)))
        return self


class CreateServerBody(BaseModel):
    model_config = ConfigDict(extra='ignore')
    server: ServerOption


class ServerRef(BaseModel):
    model_config = ConfigDict(extra='ignore')
    id: str = Field(min_length=1)


class DeleteServersBody(BaseModel):
    model_config = ConfigDict(extra='ignore')
    servers: list[ServerRef] = Field(min_length=1, max_length=1000)
    delete_publicip: bool = False
    delete_volume: bool = False


class PowerOption(BaseModel):
    model_config = ConfigDict(extra='ignore')
    servers: list[ServerRef] = Field(min_length=1, max_length=1000)
    type: str = Field(default='SOFT', pattern='^(SOFT|HARD)$')


class AttachOption(BaseModel):
    model_config = ConfigDict(extra='ignore')
    volumeId: str = Field(min_length=1)
    device: str | None = Field(default=None, pattern=r'^/dev/(vd|sd|xvd)[a-z]$')


class AttachBody(BaseModel):
    model_config = ConfigDict(extra='ignore')
    volumeAttachment: AttachOption
    dry_run: bool = False


def _disk_spec(volumetype: str, size: int, zone: str, *, bootable: bool = False,
               multiattach: bool = False) -> volumes.VolumeSpec:
    return volumes.VolumeSpec(size=size, volume_type=volumetype, availability_zone=zone,
                              bootable=bootable, multiattach=multiattach)


@blueprint.post('/v1/<project_id>/cloudservers')
@blueprint.post('/v1.1/<project_id>/cloudservers')
def create_servers(project_id: str):
    option = parse_body(CreateServerBody).server
    zone = option.availability_zone
    spec = servers.ServerSpec(
        name=option.name, image_id=option.imageRef, flavor_id=option.flavorRef,
        root_volume=_disk_spec(option.root_volume.volumetype, option.root_volume.size, zone,
                               bootable=True),
        data_volumes=tuple(_disk_spec(d.volumetype, d.size, zone,
                                      multiattach=d.multiattach or d.shareable)
                           for d in option.data_volumes),
        availability_zone=zone, description=option.description, metadata=option.metadata,
        tags=tuple(option.tags))
    with intent() as it:
        operation, created = servers.create(it.session, project_id, spec, option.count)
        it.publish(operation)
    return jsonify({'job_id': operation.id, 'serverIds': [s.id for s in created]})


@blueprint.get('/v1/<project_id>/cloudservers/detail')
def list_servers(project_id: str):
    limit = query_int('limit', 25, minimum=1, maximum=1000) or 25
    page = query_int('offset', 1, minimum=1) or 1
    ids = tuple(filter(None, request.args.get('server_id', '').split(',')))
    with read_scope() as session:
        found = servers.listing(session, project_id, name=request.args.get('name'),
                                status=request.args.get('status'),
                                flavor=request.args.get('flavor'), server_ids=ids)
        chosen = found[(page - 1) * limit:page * limit]
        return jsonify({'count': len(found), 'servers': [views.server(s) for s in chosen]})


@blueprint.get('/v1/<project_id>/cloudservers/<server_id>')
def show_server(project_id: str, server_id: str):
    with read_scope() as session:
        return jsonify({'server': views.server(servers.get(session, project_id, server_id))})


@blueprint.post('/v1/<project_id>/cloudservers/delete')
def delete_servers(project_id: str):
    body = parse_body(DeleteServersBody)
    with intent() as it:
        operation = it.publish(servers.request_delete(
            it.session, project_id, [s.id for s in body.servers], body.delete_volume))
    return jsonify({'job_id': operation.id})


_ACTIONS = {'os-start': 'start', 'os-stop': 'stop'}


@blueprint.post('/v1/<project_id>/cloudservers/action')
def server_action(project_id: str):
    body = json_body()
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in _ACTIONS:
        raise InvalidInput('body must hold exactly one of %s' % ', '.join(_ACTIONS),
                           field='body')
    name, payload = next(iter(body.items()))
    option = parse(PowerOption, payload, prefix=name)
    with intent() as it:
        operation = it.publish(servers.request_power(
            it.session, project_id, [s.id for s in option.servers], _ACTIONS[name]))
    return jsonify({'job_id': operation.id})


@blueprint.post('/v1/<project_id>/cloudservers/<server_id>/attachvolume')
def attach_volume(project_id: str, server_id: str):
    option = parse_body(AttachBody).volumeAttachment
    with intent() as it:
        operation = it.publish(servers.request_attach(it.session, project_id, server_id,
                                                      option.volumeId, option.device))
    return jsonify({'job_id': operation.id})


@blueprint.delete('/v1/<project_id>/cloudservers/<server_id>/detachvolume/<volume_id>')
def detach_volume(project_id: str, server_id: str, volume_id: str):
    with intent() as it:
        operation = it.publish(servers.request_detach(it.session, project_id, server_id,
                                                      volume_id))
    return jsonify({'job_id': operation.id})


@blueprint.get('/v1/<project_id>/cloudservers/<server_id>/os-volume_attachments')
def list_attachments(project_id: str, server_id: str):
    with read_scope() as session:
        server = servers.get(session, project_id, server_id)
        return jsonify({'volumeAttachments': [
            {'device': a.device, 'id': a.volume_id, 'serverId': server.id,
             'volumeId': a.volume_id} for a in server.attachments]})


@blueprint.get('/v1/<project_id>/cloudservers/<server_id>/block_device')
def list_block_devices(project_id: str, server_id: str):
    with read_scope() as session:
        server = servers.get(session, project_id, server_id)
        attached = len(server.attachments)
        return jsonify({
            'attachableQuantity': {'free_scsi': 60 - attached, 'free_blk': 24 - attached,
                                   'free_disk': 24 - attached},
            'volumeAttachments': [
                {'bootIndex': a.boot_index if a.boot_index == 0 else None,
                 'pciAddress': '0000:02:%02x.0' % (index + 1), 'volumeId': a.volume_id,
                 'device': a.device, 'serverId': server.id, 'id': a.volume_id,
                 'size': a.volume.size, 'bus': 'virtio'}
                for index, a in enumerate(server.attachments)]})
