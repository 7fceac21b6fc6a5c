"""The transactional outbox: operations are committed first and published afterwards.

``create`` adds an operation row to the caller's transaction.  After that transaction
commits, ``dispatch`` publishes it.  The scheduler's ``redispatch_due`` publishes again any
operation still waiting for a worker whose last publish is too old: never sent (the API
died or the broker was down), or lost by the broker (a Redis restart).  Workers claim each
operation once, so a message sent twice does no harm.

``dispatched_at`` is the wall-clock time of the last publish, or of creation while
``dispatch_count`` is 0.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, case, func, select, update
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.config import CONF
from cbr_common.contracts.tasks import BATCHED_JOB_TYPES, JOB_QUEUES, TaskMessage
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.messaging.publisher import publish
from cbr_common.statemachine import transition

FIRST_PUBLISH_GRACE = 2.0  # seconds the API gets to publish before the outbox does it
MAX_BACKOFF_STEPS = 4


def create(session: Session, *, project_id: str, job_type: str,
           params: dict[str, Any] | None = None,
           entities: dict[str, Any] | None = None, vault_id: str | None = None,
           resource_id: str | None = None, parent_id: str | None = None,
           finishes_at: dt.datetime | None = None) -> models.Operation:
    """Add a new operation, waiting for a worker, to the caller's transaction.

    ``vault_id`` and ``resource_id`` say what a backup task concerns (its operation log
    filters on them); ``parent_id`` is the operation a sub-job belongs to; ``finishes_at``
    is when its work is done in domain time (:mod:`cbr_common.backups.durations`).
    """
    operation = _new(session, 'INIT', project_id=project_id, job_type=job_type,
                     params=params, entities=entities, vault_id=vault_id,
                     resource_id=resource_id, parent_id=parent_id)
    operation.finishes_at = finishes_at
    return operation


def skipped(session: Session, *, project_id: str, job_type: str, reason: str, code: str,
            at: dt.datetime, entities: dict[str, Any] | None = None,
            vault_id: str | None = None, resource_id: str | None = None) -> models.Operation:
    """Record work that was due at ``at`` but not started (a policy run's resource that
    was busy, rule P10): a task that ended ``SKIPPED`` with its reason, never published."""
    operation = _new(session, 'SKIPPED', project_id=project_id, job_type=job_type,
                     entities=entities, vault_id=vault_id, resource_id=resource_id,
                     reason=reason, created_at=at)
    operation.begin_time = operation.end_time = operation.created_at
    operation.fail_reason, operation.error_code = reason, code
    return operation


def _new(session: Session, status: str, *, project_id: str, job_type: str,
         params: dict[str, Any] | None = None, entities: dict[str, Any] | None = None,
         vault_id: str | None = None, resource_id: str | None = None,
         parent_id: str | None = None, reason: str | None = None,
         created_at: dt.datetime | None = None) -> models.Operation:
    operation = models.Operation(
        id=ids.new_hex_id(), project_id=project_id, job_type=job_type,
        queue=JOB_QUEUES[job_type], params=params or {}, entities=entities or {},
        progress=0, created_at=created_at or clock.now(), dispatched_at=clock.real_time(),
        dispatch_count=0, attempts=0, vault_id=vault_id, resource_id=resource_id,
        parent_id=parent_id)
    transition(session, operation, status, entity_type='operation', operation_id=operation.id,
               reason=reason)
    session.add(operation)
    return operation


def dispatch(operation_ids: Iterable[str]) -> int:
    """Publish committed operations that still wait for a worker; returns how many went out.

    One read finds those still waiting, and one update per batch records the publishes,
    however many operations a request made.  Operations of a batched job type that belong
    to no other job go out up to ``[worker] batch_size`` to a message.
    """
    sent = 0
    for batch in _batches(list(operation_ids)):
        with read_scope() as session:
            waiting = session.execute(
                select(models.Operation.id, models.Operation.job_type,
                       models.Operation.project_id, models.Operation.dispatch_count,
                       models.Operation.parent_id)
                .where(models.Operation.id.in_(batch),
                       models.Operation.status == 'INIT')).all()
        published = [operation_id for message in _messages(waiting) if publish(message)
                     for operation_id in message.operation_ids]
        if published:
            with session_scope() as session:
                session.execute(update(models.Operation)
                                .where(models.Operation.id.in_(published),
                                       models.Operation.status == 'INIT')
                                .values(dispatched_at=clock.real_time(),
                                        dispatch_count=models.Operation.dispatch_count + 1))
        sent += len(published)
    return sent


def _messages(waiting: Sequence[Row]) -> Iterator[TaskMessage]:
    """The task messages for waiting operations: batched job types grouped by job type and
    project, everything else alone."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in waiting:
        if row.job_type in BATCHED_JOB_TYPES and row.parent_id is None:
            groups.setdefault((row.job_type, row.project_id), []).append(row)
        else:
            groups[(row.id, '')] = [row]
    size = CONF.worker.batch_size
    for rows in groups.values():
        for start in range(0, len(rows), size):
            first, *others = rows[start:start + size]
            yield TaskMessage(operation_id=first.id, job_type=first.job_type,
                              project_id=first.project_id, dispatch=first.dispatch_count + 1,
                              batch=tuple(row.id for row in others))


def _batches(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    return (ids[start:start + size] for start in range(0, len(ids), size))


def redispatch_delay(dispatch_count: int) -> float:
    """Seconds an operation may wait after its last publish before it is sent again."""
    if dispatch_count == 0:
        return FIRST_PUBLISH_GRACE
    step = min(dispatch_count - 1, MAX_BACKOFF_STEPS)
    return float(CONF.scheduler.redispatch_after * (2 ** step))


def _delay_expression() -> ColumnElement[float]:
    """:func:`redispatch_delay` of each row's ``dispatch_count``, in SQL."""
    steps = {count: redispatch_delay(count) for count in range(MAX_BACKOFF_STEPS + 1)}
    return case(steps, value=models.Operation.dispatch_count,
                else_=redispatch_delay(MAX_BACKOFF_STEPS + 1))


def due_for_redispatch(limit: int = 500) -> list[str]:
    """Ids of waiting operations whose last publish is older than their back-off.

    The database applies the back-off, so a pass over many operations that are waiting
    but not due yet reads none of them.
    """
    real = clock.real_time()
    dispatched_at = func.coalesce(models.Operation.dispatched_at, 0.0)
    with read_scope() as session:
        return list(session.execute(
            select(models.Operation.id)
            .where(models.Operation.status == 'INIT',
                   models.Operation.dispatched_at < real - FIRST_PUBLISH_GRACE,
                   dispatched_at + _delay_expression() <= real)
            .order_by(models.Operation.dispatched_at).limit(limit)).scalars())


def redispatch_due() -> int:
    """One outbox pass of the scheduler."""
    return dispatch(due_for_redispatch())
