"""SFS Turbo file systems: create, delete and look up.

SFS Turbo reports status as numeric strings: ``100`` creating, ``200`` available,
``303`` creation failed.  A file system being deleted keeps ``200`` with ``sub_status``
``deleting`` (the real API shows no separate status for it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.errors import WrongState
from cbr_common.inventory.lookup import owned
from cbr_common.operations import outbox
from cbr_common.statemachine import transition

CREATING, AVAILABLE, CREATE_FAILED = '100', '200', '303'


@dataclass(frozen=True)
class ShareSpec:
    """What a new file system looks like (validated by the caller's schema)."""

    name: str
    size: int
    share_proto: str = 'NFS'
    share_type: str = 'STANDARD'
    availability_zone: str = ''
    vpc_id: str = ''
    subnet_id: str = ''
    security_group_id: str = ''
    description: str = ''
    metadata: dict[str, str] = field(default_factory=dict)


def new_share(session: Session, project_id: str, spec: ShareSpec, *, status: str,
              operation_id: str | None = None) -> models.Share:
    stamp = clock.now()
    share = models.Share(
        id=ids.new_uuid(), project_id=project_id, name=spec.name, description=spec.description,
        size=spec.size, share_proto=spec.share_proto, share_type=spec.share_type,
        availability_zone=spec.availability_zone or CONF.availability_zone,
        vpc_id=spec.vpc_id, subnet_id=spec.subnet_id, security_group_id=spec.security_group_id,
        metadata_=dict(spec.metadata), created_at=stamp, updated_at=stamp)
    transition(session, share, status, entity_type='share', operation_id=operation_id)
    session.add(share)
    return share


def create(session: Session, project_id: str,
           spec: ShareSpec) -> tuple[models.Operation, models.Share]:
    operation = outbox.create(session, project_id=project_id, job_type='createShare')
    share = new_share(session, project_id, spec, status=CREATING, operation_id=operation.id)
    session.flush()
    operation.params = {'share_id': share.id}
    operation.entities = {'share_id': share.id}
    return operation, share


def get(session: Session, project_id: str, share_id: str, *, lock: bool = False) -> models.Share:
    """The project's file system, or :class:`NotFound`."""
    return owned(session, models.Share, project_id, share_id, what='file system',
                 field='share_id', lock=lock)


def request_delete(session: Session, project_id: str, share_id: str) -> models.Operation:
    share = get(session, project_id, share_id, lock=True)
    if share.status not in (AVAILABLE, CREATE_FAILED) or share.sub_status == 'deleting':
        raise WrongState('file system %s cannot be deleted now' % share_id, field='share_id')
    operation = outbox.create(session, project_id=project_id, job_type='deleteShare',
                              params={'share_id': share_id}, entities={'share_id': share_id})
    share.sub_status = 'deleting'
    share.updated_at = clock.now()
    return operation


def listing(session: Session, project_id: str) -> list[models.Share]:
    return list(session.execute(select(models.Share)
                                .where(models.Share.project_id == project_id)
                                .order_by(models.Share.created_at.desc(), models.Share.id))
                .scalars().all())
