"""Operation leases: a worker claims an operation, renews the claim, and loses it on expiry."""
from __future__ import annotations

from collections.abc import Collection, Sequence

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
    claimed = claim_many(session, [operation_id], worker_id)
    return claimed[0] if claimed else None


def claim_many(session: Session, operation_ids: Sequence[str],
               worker_id: str) -> list[models.Operation]:
    """Take those of the operations that are still waiting, in one statement; in the
    order given."""
    found = {operation.id: operation for operation in session.execute(
        select(models.Operation).where(models.Operation.id.in_(operation_ids),
                                       models.Operation.status == 'INIT')
        .order_by(models.Operation.id).with_for_update()).scalars()}
    claimed = [found[operation_id] for operation_id in dict.fromkeys(operation_ids)
               if operation_id in found]
    for operation in claimed:
        _take(operation, session, worker_id)
    return claimed


def _take(operation: models.Operation, session: Session, worker_id: str) -> None:
    transition(session, operation, 'RUNNING', entity_type='operation',
               operation_id=operation.id, reason='claimed by %s' % worker_id)
    operation.lease_owner = worker_id
    operation.lease_expires_at = clock.real_time() + CONF.worker.lease_seconds
    operation.attempts += 1
    if operation.begin_time is None:
        operation.begin_time = clock.now()


def renew(session: Session, operation_ids: Collection[str], worker_id: str) -> set[str]:
    """Extend the leases; returns the operations the worker no longer holds."""
    held = models.Operation.id.in_(operation_ids), models.Operation.status == 'RUNNING', \
        models.Operation.lease_owner == worker_id
    result = session.execute(
        update(models.Operation).where(*held)
        .values(lease_expires_at=clock.real_time() + CONF.worker.lease_seconds))
    if result.rowcount == len(operation_ids):
        return set()
    return set(operation_ids) - set(session.execute(
        select(models.Operation.id).where(*held)).scalars())


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

