"""Operation leases: a worker claims an operation, renews the claim, and loses it on expiry."""
from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.statemachine import transition


class LeaseLost(RuntimeError):
    """The worker no longer holds the operation: the reaper gave it to someone else."""


def claim(session: Session, operation_id: str, worker_id: str) -> models.Operation | None:
    """Take a waiting operation for ``worker_id``; None when it is not waiting any more."""
    operation = session.execute(select(models.Operation)
                                .where(models.Operation.id == operation_id)
                                .with_for_update()).scalar_one_or_none()
    if operation is None or operation.status != 'INIT':
        return None
    transition(session, operation, 'RUNNING', entity_type='operation',
               operation_id=operation.id, reason='claimed by %s' % worker_id)
    operation.lease_owner = worker_id
    operation.lease_expires_at = clock.real_time() + CONF.worker.lease_seconds
    operation.attempts += 1
    if operation.begin_time is None:
        operation.begin_time = clock.now()
    return operation


def renew(session: Session, operation_id: str, worker_id: str) -> bool:
    """Extend the lease; False when the worker no longer holds it."""
    result = session.execute(
        update(models.Operation)
        .where(models.Operation.id == operation_id, models.Operation.status == 'RUNNING',
               models.Operation.lease_owner == worker_id)
        .values(lease_expires_at=clock.real_time() + CONF.worker.lease_seconds))
    return result.rowcount == 1


_OPERATIONS = models.Operation.__table__
_HELD = (select(_OPERATIONS.c.id)
         .where(_OPERATIONS.c.id == bindparam('operation_id'),
                _OPERATIONS.c.status == 'RUNNING',
                _OPERATIONS.c.lease_owner == bindparam('worker_id'))
         .with_for_update())


def require_held(session: Session, operation_id: str, worker_id: str) -> None:
    """Lock the operation's row if ``worker_id`` still holds it; else :class:`LeaseLost`.

    One Core statement, no ORM object: every transaction of a job starts with it.
    """
    if session.execute(_HELD, {'operation_id': operation_id,
                               'worker_id': worker_id}).first() is None:
        raise LeaseLost('operation %s is no longer held by %s' % (operation_id, worker_id))

