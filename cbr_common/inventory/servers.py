"""ECS servers: create with disks, delete, start, stop, attach and detach disks."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cbr_common import clock, ids
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.errors import InvalidInput, NotFound, WrongState
from cbr_common.inventory import volumes
from cbr_common.inventory.lookup import owned
from cbr_common.operations import outbox
from cbr_common.statemachine import transition

_WITH_DISKS = selectinload(models.Server.attachments).selectinload(models.VolumeAttachment.volume)
DEVICE_PREFIX = '/dev/vd'
ROOT_DEVICE = '/dev/vda'
MAX_DEVICES = 24


@dataclass(frozen=True)
class ServerSpec:
    """What new servers look like (validated by the caller's schema)."""

    name: str
    image_id: str
    flavor_id: str
    root_volume: volumes.VolumeSpec
    data_volumes: tuple[volumes.VolumeSpec, ...] = ()
    availability_zone: str = ''
    description: str = ''
    metadata: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


def device_name(index: int) -> str:
    """``/dev/vda`` for 0, ``/dev/vdb`` for 1 and so on."""
    return DEVICE_PREFIX + chr(ord('a') + index)


def new_server(session: Session, project_id: str, spec: ServerSpec, *, name: str,
               status: str, operation_id: str | None = None) -> models.Server:
    """Add a server row and its disks, attached, to the session."""
    stamp = clock.now()
    zone = spec.availability_zone or CONF.availability_zone
    server = models.Server(
        id=ids.new_uuid(), project_id=project_id, name=name, description=spec.description,
        task_state='spawning' if status == 'BUILD' else None, flavor_id=spec.flavor_id,
        image_id=spec.image_id, availability_zone=zone, metadata_=dict(spec.metadata),
        tags=list(spec.tags), created_at=stamp, updated_at=stamp)
    transition(session, server, status, entity_type='server', operation_id=operation_id)
    session.add(server)
    disk_status = 'creating' if status == 'BUILD' else 'in-use'
    for index, disk in enumerate((spec.root_volume, *spec.data_volumes)):
        volume = volumes.new_volume(session, project_id, disk,
                                    name='%s-volume-%04d' % (name, index),
                                    status=disk_status, operation_id=operation_id)
        session.add(models.VolumeAttachment(
            id=ids.new_uuid(), volume=volume, server=server, device=device_name(index),
            boot_index=0 if index == 0 else -1, delete_on_termination=index == 0,
            attached_at=stamp))
    return server


def create(session: Session, project_id: str, spec: ServerSpec,
           count: int = 1) -> tuple[models.Operation, list[models.Server]]:
    """Start creating ``count`` servers; the job builds their disks and makes them ACTIVE."""
    operation = outbox.create(session, project_id=project_id, job_type='createServer')
    names = [spec.name] if count == 1 else ['%s-%04d' % (spec.name, i + 1) for i in range(count)]
    servers = [new_server(session, project_id, spec, name=name, status='BUILD',
                          operation_id=operation.id) for name in names]
    session.flush()
    operation.params = {'server_ids': [server.id for server in servers]}
    return operation, servers


def get(session: Session, project_id: str, server_id: str, *, lock: bool = False) -> models.Server:
    """The project's server with its disks, or :class:`NotFound`."""
    return owned(session, models.Server, project_id, server_id, what='server',
                 field='server_id', lock=lock, options=(_WITH_DISKS,))


def _require_idle(server: models.Server) -> None:
    if server.task_state is not None:
        raise WrongState('server %s is busy (%s)' % (server.id, server.task_state),
                         field='server_id')


def request_power(session: Session, project_id: str, server_ids: list[str],
                  action: str) -> models.Operation:
    """Start (``start``) or stop (``stop``) servers as one job."""
    required, task_state, job_type = {
        'start': ('SHUTOFF', 'powering-on', 'startServer'),
        'stop': ('ACTIVE', 'powering-off', 'stopServer'),
    }[action]
    servers = [get(session, project_id, server_id, lock=True) for server_id in server_ids]
    for server in servers:
        _require_idle(server)
        if server.status != required:
            raise WrongState('server %s is %s; %s needs %s' % (
                server.id, server.status, action, required), field='servers.id')
    operation = outbox.create(session, project_id=project_id, job_type=job_type,
                              params={'server_ids': server_ids})
    for server in servers:
        server.task_state = task_state
    return operation


def request_delete(session: Session, project_id: str, server_ids: list[str],
                   delete_volumes: bool) -> models.Operation:
    """Delete servers: the system disk goes with them, data disks only if asked."""
    servers = [get(session, project_id, server_id, lock=True) for server_id in server_ids]
    for server in servers:
        if server.status == 'BUILD':
            raise WrongState('server %s is still being built' % server.id, field='servers.id')
    operation = outbox.create(session, project_id=project_id, job_type='deleteServer',
                              params={'server_ids': server_ids,
                                      'delete_volume': delete_volumes})
    for server in servers:
        server.task_state = 'deleting'
    return operation


def next_device(server: models.Server) -> str:
    used = {attachment.device for attachment in server.attachments}
    for index in range(1, MAX_DEVICES):
        if device_name(index) not in used:
            return device_name(index)
    raise InvalidInput('server %s has no free device name' % server.id, field='device')


def request_attach(session: Session, project_id: str, server_id: str, volume_id: str,
                   device: str | None) -> models.Operation:
    """Start attaching a disk to a server."""
    server = get(session, project_id, server_id, lock=True)
    volume = volumes.get(session, project_id, volume_id, lock=True)
    _require_idle(server)
    if server.status not in ('ACTIVE', 'SHUTOFF'):
        raise WrongState('server %s is %s' % (server_id, server.status), field='server_id')
    if any(a.volume_id == volume_id for a in server.attachments):
        raise WrongState('volume %s is already attached to server %s' % (volume_id, server_id),
                         field='volumeAttachment.volumeId')
    if volume.status != 'available' and not (volume.multiattach and volume.status == 'in-use'):
        raise WrongState('volume %s is %s; it must be available' % (volume_id, volume.status),
                         field='volumeAttachment.volumeId')
    device = device or next_device(server)
    if device in {a.device for a in server.attachments}:
        raise WrongState('device %s is in use on server %s' % (device, server_id),
                         field='volumeAttachment.device')
    operation = outbox.create(session, project_id=project_id, job_type='attachVolume',
                              params={'server_id': server_id, 'volume_id': volume_id,
                                      'device': device, 'previous_status': volume.status},
                              entities={'server_id': server_id})
    if volume.status == 'available':
        transition(session, volume, 'attaching', entity_type='volume', operation_id=operation.id)
    return operation


def request_detach(session: Session, project_id: str, server_id: str,
                   volume_id: str) -> models.Operation:
    """Start detaching a disk; the system disk only while the server is stopped."""
    server = get(session, project_id, server_id, lock=True)
    _require_idle(server)
    attachment = next((a for a in server.attachments if a.volume_id == volume_id), None)
    if attachment is None:
        raise NotFound('volume %s is not attached to server %s' % (volume_id, server_id),
                       field='volume_id')
    if attachment.boot_index == 0 and server.status != 'SHUTOFF':
        raise WrongState('the system disk can be detached only from a stopped server',
                         field='volume_id')
    volume = volumes.get(session, project_id, volume_id, lock=True)
    if volume.status != 'in-use':
        raise WrongState('volume %s is %s' % (volume_id, volume.status), field='volume_id')
    operation = outbox.create(session, project_id=project_id, job_type='detachVolume',
                              params={'server_id': server_id, 'volume_id': volume_id},
                              entities={'server_id': server_id})
    transition(session, volume, 'detaching', entity_type='volume', operation_id=operation.id)
    return operation


def listing(session: Session, project_id: str, *, name: str | None = None,
            status: str | None = None, flavor: str | None = None,
            server_ids: tuple[str, ...] = ()) -> list[models.Server]:
    """The project's servers matching the filters (name is a substring match)."""
    query = (select(models.Server).where(models.Server.project_id == project_id)
             .options(_WITH_DISKS)
             .order_by(models.Server.created_at.desc(), models.Server.id))
    if name:
        query = query.where(models.Server.name.contains(name, autoescape=True))
    if status:
        query = query.where(models.Server.status == status)
    if flavor:
        query = query.where(models.Server.flavor_id == flavor)
    if server_ids:
        query = query.where(models.Server.id.in_(server_ids))
    return list(session.execute(query).scalars().all())
