"""EVS disks: create, delete and look up, within one project."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.config import CONF
from cbr_common.db import models, records
from cbr_common.errors import InvalidInput, WrongState
from cbr_common.inventory.lookup import owned
from cbr_common.operations import outbox
from cbr_common.statemachine import transition

VOLUME_TYPES = frozenset({'SATA', 'SAS', 'SSD', 'GPSSD', 'ESSD', 'GPSSD2', 'ESSD2'})
DELETABLE = frozenset({'available', 'error', 'error_deleting'})
ENCRYPTED_KEY = '__system__encrypted'
"""EVS metadata key: ``"1"`` marks an encrypted disk."""
CMK_KEY = '__system__cmkid'
"""EVS metadata key: the KMS key (36 characters) of an encrypted disk."""


@dataclass(frozen=True)
class VolumeSpec:
    """What a new disk looks like (validated by the caller's schema)."""

    size: int
    volume_type: str
    availability_zone: str
    name: str = ''
    description: str = ''
    bootable: bool = False
    multiattach: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def new_volume(session: Session, project_id: str, spec: VolumeSpec, *, name: str,
               status: str = 'creating', operation_id: str | None = None) -> models.Volume:
    """Add a disk row in ``status`` to the session."""
    stamp = clock.now()
    volume = models.Volume(
        id=ids.new_uuid(), project_id=project_id, name=name, description=spec.description,
        size=spec.size, volume_type=spec.volume_type,
        availability_zone=spec.availability_zone or CONF.availability_zone,
        bootable=spec.bootable, multiattach=spec.multiattach, metadata_=dict(spec.metadata),
        tags=dict(spec.tags), created_at=stamp, updated_at=stamp)
    transition(session, volume, status, entity_type='volume', operation_id=operation_id)
    session.add(volume)
    return volume


def create(session: Session, project_id: str, spec: VolumeSpec,
           count: int = 1) -> tuple[models.Operation, list[models.Volume]]:
    """Start creating ``count`` disks; the job makes their storage and marks them available."""
    operation = outbox.create(session, project_id=project_id, job_type='createVolume')
    names = [spec.name or 'volume'] if count == 1 else [
        '%s-%04d' % (spec.name or 'volume', index + 1) for index in range(count)]
    volumes = [new_volume(session, project_id, spec, name=name, operation_id=operation.id)
               for name in names]
    session.flush()
    operation.params = {'volume_ids': [volume.id for volume in volumes]}
    operation.entities = {'volume_id': volumes[0].id, 'name': volumes[0].name,
                          'size': spec.size, 'volume_type': spec.volume_type}
    return operation, volumes


def get(session: Session, project_id: str, volume_id: str, *, lock: bool = False) -> models.Volume:
    """The project's disk, or :class:`NotFound` (also for another project's disk)."""
    return owned(session, models.Volume, project_id, volume_id, what='volume',
                 field='volume_id', lock=lock)


def request_delete(session: Session, project_id: str, volume_id: str) -> models.Operation:
    """Start deleting a detached disk."""
    volume = get(session, project_id, volume_id, lock=True)
    if volume.attachments:
        raise WrongState('volume %s is attached to a server; detach it first' % volume_id,
                         field='volume_id')
    if volume.status not in DELETABLE:
        raise WrongState('volume %s is %s; only available or error disks can be deleted' % (
            volume_id, volume.status), field='volume_id')
    operation = outbox.create(session, project_id=project_id, job_type='deleteVolume',
                              params={'volume_id': volume.id}, entities={'volume_id': volume.id})
    transition(session, volume, 'deleting', entity_type='volume', operation_id=operation.id)
    return operation


@dataclass(frozen=True)
class VolumeFilter:
    """List filters of the EVS detail API."""

    name: str | None = None
    status: str | None = None
    availability_zone: str | None = None
    multiattach: bool | None = None
    ids: tuple[str, ...] = ()
    server_id: str | None = None


SORT_KEYS = ('id', 'status', 'size', 'created_at')


def listing(session: Session, project_id: str, flt: VolumeFilter, *, sort_key: str = 'created_at',
            sort_dir: str = 'desc', limit: int = 1000, offset: int = 0,
            marker: str | None = None) -> tuple[list[SimpleNamespace], int]:
    """A page of the project's disks (read-only records with their attachments) and the
    count of all that match; one query."""
    query = (records.query(models.Volume, models.VolumeAttachment)
             .outerjoin(models.VolumeAttachment,
                        models.VolumeAttachment.volume_id == models.Volume.id)
             .where(models.Volume.project_id == project_id)
             .order_by(models.VolumeAttachment.device))
    if flt.name:
        query = query.where(models.Volume.name == flt.name)
    if flt.status:
        query = query.where(models.Volume.status == flt.status)
    if flt.availability_zone:
        query = query.where(models.Volume.availability_zone == flt.availability_zone)
    if flt.multiattach is not None:
        query = query.where(models.Volume.multiattach == flt.multiattach)
    if flt.ids:
        query = query.where(models.Volume.id.in_(flt.ids))
    if flt.server_id:
        query = query.where(models.Volume.attachments.any(
            models.VolumeAttachment.server_id == flt.server_id))
    volumes = records.load_with_children(session, query, models.Volume,
                                         models.VolumeAttachment, 'attachments')
    ordered = sorted(volumes, key=lambda v: (getattr(v, sort_key), v.id),
                     reverse=sort_dir == 'desc')
    if marker:
        positions = [index for index, volume in enumerate(ordered) if volume.id == marker]
        if not positions:
            raise InvalidInput('marker %s is not a volume of this project' % marker,
                               field='marker')
        ordered = ordered[positions[0] + 1:]
    return ordered[offset:offset + limit], len(volumes)
