"""Worker-side handlers of the inventory jobs, and what each does when it fails for good.

Each handler is idempotent: run again after a crash, it finds the work done so far (a
disk file already created, a row already gone) and finishes the rest.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common import clock, faults, ids
from cbr_common.dataplane.volume_store import VolumeStore
from cbr_common.db import models
from cbr_common.inventory import GIB, shares
from cbr_common.operations.registry import job
from cbr_common.operations.runner import JobContext
from cbr_common.statemachine import transition


def _store() -> VolumeStore:
    return VolumeStore.from_config()


def _volumes(session: Session, volume_ids: list[str]) -> list[models.Volume]:
    return list(session.execute(select(models.Volume).where(models.Volume.id.in_(volume_ids)))
                .scalars().all())


def _servers(session: Session, server_ids: list[str]) -> list[models.Server]:
    return list(session.execute(select(models.Server).where(models.Server.id.in_(server_ids)))
                .scalars().all())


def _move(session: Session, entity, status: str, entity_type: str, operation_id: str,
          reason: str | None = None) -> None:
    if entity.status != status:
        transition(session, entity, status, entity_type=entity_type,
                   operation_id=operation_id, reason=reason)


def _delete_row(session: Session, entity, entity_type: str, operation_id: str) -> str:
    """Record the final transition and remove the row; returns its id.

    The caller removes the device's bytes only after the transaction commits, so a crash
    leaves at worst an orphan file (swept by ``cbr-manage purge``), never a row whose
    data is gone.
    """
    final = 'DELETED' if entity_type == 'server' else 'deleted'
    transition(session, entity, final, entity_type=entity_type, operation_id=operation_id)
    session.delete(entity)
    return entity.id


def _remove_devices(device_ids: list[str]) -> None:
    store = _store()
    for device_id in device_ids:
        store.delete(device_id)


# -- disks -----------------------------------------------------------------------------------
def _fail_volumes(session: Session, operation: models.Operation, reason: str) -> None:
    for volume in _volumes(session, operation.params.get('volume_ids', [])):
        _move(session, volume, 'error', 'volume', operation.id, reason)


@job('createVolume', on_failure=_fail_volumes)
def create_volume(ctx: JobContext) -> None:
    faults.hit('evs.create_volume')
    store = _store()
    with ctx.transaction() as session:
        sizes = {v.id: v.size for v in _volumes(session, ctx.params['volume_ids'])}
    for volume_id, size in sizes.items():
        ctx.check()
        store.create(volume_id, size * GIB)
    with ctx.finishing() as session:
        for volume in _volumes(session, ctx.params['volume_ids']):
            _move(session, volume, 'available', 'volume', ctx.operation_id)


def _fail_volume_delete(session: Session, operation: models.Operation, reason: str) -> None:
    volume = session.get(models.Volume, operation.params['volume_id'])
    if volume is not None and volume.status == 'deleting':
        transition(session, volume, 'error_deleting', entity_type='volume',
                   operation_id=operation.id, reason=reason)


def _delete_device_owner(ctx: JobContext, model: type, entity_type: str, id_param: str,
                         point: str) -> None:
    """Delete a disk's or file system's row, then its bytes."""
    faults.hit(point)
    with ctx.finishing() as session:
        row = session.get(model, ctx.params[id_param])
        if row is not None:
            _delete_row(session, row, entity_type, ctx.operation_id)
    _remove_devices([ctx.params[id_param]])


@job('deleteVolume', on_failure=_fail_volume_delete)
def delete_volume(ctx: JobContext) -> None:
    _delete_device_owner(ctx, models.Volume, 'volume', 'volume_id', 'evs.delete_volume')


# -- servers ---------------------------------------------------------------------------------
def _fail_servers(session: Session, operation: models.Operation, reason: str) -> None:
    for server in _servers(session, operation.params.get('server_ids', [])):
        server.task_state = None
        server.fault = reason
        _move(session, server, 'ERROR', 'server', operation.id, reason)
        for attachment in server.attachments:
            if attachment.volume.status == 'creating':
                _move(session, attachment.volume, 'error', 'volume', operation.id, reason)


def _clear_task_state(session: Session, operation: models.Operation, reason: str) -> None:
    for server in _servers(session, operation.params.get('server_ids', [])):
        server.task_state = None
        server.fault = reason


@job('createServer', on_failure=_fail_servers)
def create_server(ctx: JobContext) -> None:
    faults.hit('ecs.create_server')
    store = _store()
    with ctx.transaction() as session:
        disks = [(a.volume.id, a.volume.size)
                 for server in _servers(session, ctx.params['server_ids'])
                 for a in server.attachments]
    for volume_id, size in disks:
        ctx.check()
        store.create(volume_id, size * GIB)
    with ctx.finishing() as session:
        for server in _servers(session, ctx.params['server_ids']):
            for attachment in server.attachments:
                _move(session, attachment.volume, 'in-use', 'volume', ctx.operation_id)
            server.task_state = None
            _move(session, server, 'ACTIVE', 'server', ctx.operation_id)


def _power(ctx: JobContext, point: str, status: str) -> None:
    faults.hit(point)
    with ctx.finishing() as session:
        for server in _servers(session, ctx.params['server_ids']):
            server.task_state = None
            transition(session, server, status, entity_type='server',
                       operation_id=ctx.operation_id)


@job('startServer', on_failure=_clear_task_state)
def start_server(ctx: JobContext) -> None:
    _power(ctx, 'ecs.start_server', 'ACTIVE')


@job('stopServer', on_failure=_clear_task_state)
def stop_server(ctx: JobContext) -> None:
    _power(ctx, 'ecs.stop_server', 'SHUTOFF')


@job('deleteServer', on_failure=_clear_task_state)
def delete_server(ctx: JobContext) -> None:
    faults.hit('ecs.delete_server')
    removed: list[str] = []
    with ctx.finishing() as session:
        for server in _servers(session, ctx.params['server_ids']):
            for attachment in list(server.attachments):
                volume = attachment.volume
                volume.attachments.remove(attachment)
                session.delete(attachment)
                if attachment.delete_on_termination or ctx.params.get('delete_volume'):
                    removed.append(_delete_row(session, volume, 'volume', ctx.operation_id))
                elif not volume.attachments:
                    _move(session, volume, 'available', 'volume', ctx.operation_id)
            server.task_state = None
            _delete_row(session, server, 'server', ctx.operation_id)
    _remove_devices(removed)


def _fail_attach(session: Session, operation: models.Operation, reason: str) -> None:
    volume = session.get(models.Volume, operation.params['volume_id'])
    if volume is not None and volume.status in ('attaching', 'detaching'):
        previous = 'available' if volume.status == 'attaching' else 'in-use'
        transition(session, volume, previous, entity_type='volume', operation_id=operation.id,
                   reason=reason)


@job('attachVolume', on_failure=_fail_attach)
def attach_volume(ctx: JobContext) -> None:
    faults.hit('ecs.attach_volume')
    with ctx.finishing() as session:
        volume = session.get(models.Volume, ctx.params['volume_id'])
        server = session.get(models.Server, ctx.params['server_id'])
        if any(a.server_id == server.id for a in volume.attachments):
            return
        session.add(models.VolumeAttachment(
            id=ids.new_uuid(), volume=volume, server=server, device=ctx.params['device'],
            boot_index=0 if ctx.params['device'] == '/dev/vda' else -1,
            delete_on_termination=False, attached_at=clock.now()))
        _move(session, volume, 'in-use', 'volume', ctx.operation_id)


@job('detachVolume', on_failure=_fail_attach)
def detach_volume(ctx: JobContext) -> None:
    faults.hit('ecs.detach_volume')
    with ctx.finishing() as session:
        volume = session.get(models.Volume, ctx.params['volume_id'])
        for attachment in list(volume.attachments):
            if attachment.server_id == ctx.params['server_id']:
                volume.attachments.remove(attachment)
                session.delete(attachment)
        _move(session, volume, 'in-use' if volume.attachments else 'available', 'volume',
              ctx.operation_id)


# -- SFS Turbo -------------------------------------------------------------------------------
def _fail_share(session: Session, operation: models.Operation, reason: str) -> None:
    share = session.get(models.Share, operation.params['share_id'])
    if share is None:
        return
    if share.status == shares.CREATING:
        transition(session, share, shares.CREATE_FAILED, entity_type='share',
                   operation_id=operation.id, reason=reason)
    share.sub_status = ''


@job('createShare', on_failure=_fail_share)
def create_share(ctx: JobContext) -> None:
    faults.hit('sfs.create_share')
    with ctx.transaction() as session:
        size = session.get(models.Share, ctx.params['share_id']).size
    _store().create(ctx.params['share_id'], size * GIB)
    with ctx.finishing() as session:
        share = session.get(models.Share, ctx.params['share_id'])
        transition(session, share, shares.AVAILABLE, entity_type='share',
                   operation_id=ctx.operation_id)


@job('deleteShare', on_failure=_fail_share)
def delete_share(ctx: JobContext) -> None:
    _delete_device_owner(ctx, models.Share, 'share', 'share_id', 'sfs.delete_share')
