"""Runs one operation on a worker: claim, heartbeat, handler, and the final transaction.

The runner is idempotent by operation id: a second message for an operation that is
running, finished or failed claims nothing and does nothing.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.contracts.tasks import TaskMessage
from cbr_common.db import models
from cbr_common.db.engine import session_scope
from cbr_common.errors import DomainError, JobFailed
from cbr_common.operations import lease, registry
from cbr_common.statemachine import transition

LOG = logging.getLogger(__name__)
FINISH_POLL_SECONDS = 0.1  # wall seconds between two looks at the clock while a job waits


class JobContext:
    """What a handler sees of its operation while it runs."""

    def __init__(self, operation: models.Operation, worker_id: str) -> None:
        self.operation_id = operation.id
        self.project_id = operation.project_id
        self.job_type = operation.job_type
        self.params: dict[str, Any] = dict(operation.params or {})
        self.entities: dict[str, Any] = dict(operation.entities or {})
        self.worker_id = worker_id
        self.finishes_at = operation.finishes_at
        self.lost = threading.Event()
        self.finished = False
        self.handed_off = False

    def check(self) -> None:
        """Stop work at a safe point if the lease was lost."""
        if self.lost.is_set():
            raise lease.LeaseLost('lease of %s lost' % self.operation_id)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction that commits only while this worker still holds the operation."""
        with session_scope() as session:
            lease.require_held(session, self.operation_id, self.worker_id)
            yield session

    def wait_for_finish(self) -> None:
        """Hold the job until domain time reaches its ``finishes_at``: the work is done,
        but under the clock's job-duration model it is not over yet.  Stops if the lease
        is lost."""
        if self.finishes_at is None:
            return
        while (remaining := (self.finishes_at - clock.now()).total_seconds()) > 0:
            self.check()
            speed = clock.CLOCK.state().speed
            self.lost.wait(FINISH_POLL_SECONDS if speed == 0
                           else min(FINISH_POLL_SECONDS, remaining / speed))
        self.check()

    @contextlib.contextmanager
    def finishing(self, **entities: Any) -> Iterator[Session]:
        """The job's last transaction: its domain changes and SUCCESS commit together,
        once domain time has reached the job's end (:meth:`wait_for_finish`)."""
        self.wait_for_finish()
        with self.transaction() as session:
            yield session
            finish(session, self.operation_id, entities)
        self.finished = True

    def hand_off(self, session: Session) -> None:
        """Leave the operation RUNNING without a lease: jobs it created will end it.

        Used by a job that fans out (a consistency group): its children finish or fail
        it with :func:`complete_operation` or :func:`fail_operation`.  An operation with
        no lease is never reaped; its children are.
        """
        operation = session.get(models.Operation, self.operation_id)
        operation.lease_owner = None
        operation.lease_expires_at = None
        self.handed_off = True

    def set_progress(self, percent: int) -> None:
        with self.transaction() as session:
            session.get(models.Operation, self.operation_id).progress = max(0, min(100, percent))


def finish(session: Session, operation_id: str, entities: dict[str, Any]) -> None:
    """Record a job's success, with ``entities`` added to what its task shows, in the
    job's last transaction."""
    operation = session.get(models.Operation, operation_id)
    operation.entities = {**(operation.entities or {}), **entities}
    _finish(session, operation, 'SUCCESS')


def _finish(session: Session, operation: models.Operation, status: str, *,
            reason: str | None = None, code: str | None = None) -> None:
    transition(session, operation, status, entity_type='operation',
               operation_id=operation.id, reason=reason)
    operation.end_time = clock.now()
    operation.lease_owner = None
    operation.lease_expires_at = None
    if status == 'SUCCESS':
        operation.progress = 100
    else:
        operation.fail_reason = reason
        operation.error_code = code


def complete_operation(session: Session, operation: models.Operation) -> None:
    """Finish ``operation`` successfully (for jobs ended by the jobs they handed off to)."""
    _finish(session, operation, 'SUCCESS')


def fail_operation(session: Session, operation: models.Operation, reason: str,
                   code: str = 'SIM.0001') -> None:
    """Fail ``operation`` and let its handler put what it touched into a final state."""
    _finish(session, operation, 'FAIL', reason=reason, code=code)
    registry.handler_for(operation.job_type).on_failure(session, operation, reason)


class Heartbeat(threading.Thread):
    """Renews the leases of running jobs every third of the lease's length until stopped;
    a job whose lease is gone is told so (:attr:`JobContext.lost`)."""

    def __init__(self, contexts: Sequence[JobContext]) -> None:
        super().__init__(name='lease-%s' % contexts[0].operation_id, daemon=True)
        self.contexts = {ctx.operation_id: ctx for ctx in contexts}
        self.worker_id = contexts[0].worker_id
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(CONF.worker.lease_seconds / 3.0, 0.5)
        while not self.stopped.wait(interval):
            for operation_id in [operation_id for operation_id, ctx in self.contexts.items()
                                 if ctx.finished or ctx.handed_off]:
                del self.contexts[operation_id]  # ended: nothing to renew or to lose
            if not self.contexts:
                return
            try:
                with session_scope() as session:
                    lost = lease.renew(session, list(self.contexts), self.worker_id)
            except Exception:  # a database hiccup: try again at the next beat
                LOG.exception('lease renewal of %s failed', ', '.join(self.contexts))
                continue
            for operation_id in lost:
                self.contexts.pop(operation_id).lost.set()

    @contextlib.contextmanager
    def beating(self) -> Iterator[None]:
        """Renew while the block runs."""
        self.start()
        try:
            yield
        finally:
            self.stopped.set()


def execute(message: TaskMessage, worker_id: str) -> str:
    """Run the operation ``message`` names; returns what happened, for logs and tests."""
    handler = registry.handler_for(message.job_type)
    with session_scope() as session:
        operation = lease.claim(session, message.operation_id, worker_id)
        if operation is None:
            return 'not-claimed'
        ctx = JobContext(operation, worker_id)
    with Heartbeat([ctx]).beating():
        try:
            handler.run(ctx)
            return conclude(ctx)
        except Exception as exc:
            return conclude(ctx, exc)


def conclude(ctx: JobContext, exc: Exception | None = None) -> str:
    """End a job its handler returned from (``exc`` None) or raised ``exc`` out of: finish it
    if the handler left it running, or fail it with the reason; returns the outcome."""
    if exc is None:
        if not ctx.finished and not ctx.handed_off:
            try:
                with ctx.finishing():
                    pass
            except Exception as failure:
                return conclude(ctx, failure)
        return 'success'
    if isinstance(exc, lease.LeaseLost):
        if _already_succeeded(ctx.operation_id):
            return 'success'
        LOG.warning('%s', exc)
        return 'lease-lost'
    code, reason = _failure_of(exc)
    if not isinstance(exc, (JobFailed, DomainError)):
        LOG.error('operation %s crashed', ctx.operation_id, exc_info=exc)
    try:
        with ctx.transaction() as session:
            fail_operation(session, session.get(models.Operation, ctx.operation_id),
                           reason, code)
    except lease.LeaseLost:
        return 'lease-lost'
    return 'failed'


def _failure_of(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, JobFailed):
        return exc.code, exc.reason
    if isinstance(exc, DomainError):
        return 'SIM.%d' % exc.status, exc.message
    return 'SIM.0500', 'internal error: %r' % exc


def _already_succeeded(operation_id: str) -> bool:
    with session_scope() as session:
        operation = session.get(models.Operation, operation_id)
        return operation is not None and operation.status == 'SUCCESS'
