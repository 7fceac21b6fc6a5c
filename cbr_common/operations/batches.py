"""Several operations of one job type run by one task, with shared transactions.

A message of contract 1.1 may name a batch of operations (:mod:`cbr_common.contracts.tasks`).
The worker claims them in one transaction and renews their leases with one heartbeat.  A
job type whose handler has a batch form (``@job(..., batch=...)``) then runs each phase
of its work for all the operations together: the phases that touch the database share
one transaction, with a savepoint per operation.  Each operation still ends on its own: an
operation that fails at any phase is failed with its reason, alone, and the others go on;
one whose lease is lost is left to whoever holds it now.  Job types without a batch form
run their operations one after the other, as single messages would.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.contracts.tasks import TaskMessage
from cbr_common.db.engine import session_scope
from cbr_common.operations import lease, registry
from cbr_common.operations.runner import Heartbeat, JobContext, conclude, execute, finish

LOG = logging.getLogger(__name__)
T = TypeVar('T')
Work = Callable[[Session, JobContext], T]


class JobBatch:
    """The running operations of one batch message, and which of them failed so far."""

    def __init__(self, contexts: list[JobContext]) -> None:
        self.contexts = contexts
        self.failures: dict[str, Exception] = {}

    @property
    def live(self) -> list[JobContext]:
        """The operations that have not failed, in the message's order."""
        return [ctx for ctx in self.contexts if ctx.operation_id not in self.failures]

    def each(self, work: Callable[[JobContext], T]) -> dict[str, T]:
        """``work(ctx)`` for every live operation, outside any transaction; an operation
        whose work raises is failed, the others go on."""
        results: dict[str, T] = {}
        for ctx in self.live:
            try:
                ctx.check()
                results[ctx.operation_id] = work(ctx)
            except Exception as exc:
                self.failures[ctx.operation_id] = exc
        return results

    def each_in_transaction(self, work: Work[T]) -> dict[str, T]:
        """``work(session, ctx)`` for every live operation, all in one transaction, each
        in a savepoint that holds its lease: one that raises is rolled back and failed
        alone."""
        return self._in_one_transaction(self.live, work)

    def finish_each(self, work: Work[T], entities: Callable[[JobContext], dict[str, Any]]
                    ) -> dict[str, T]:
        """The jobs' last transactions: ``work`` and SUCCESS commit together for every
        live operation, as :meth:`JobContext.finishing` does for one, once domain time
        has reached each job's end; jobs that end at the same time share a transaction."""
        def last(session: Session, ctx: JobContext) -> T:
            result = work(session, ctx)
            finish(session, ctx.operation_id, entities(ctx))
            return result
        results: dict[str, T] = {}
        pending = sorted(self.live, key=_end_order)
        while pending:
            first = pending[0]
            try:
                first.wait_for_finish()
            except Exception as exc:
                self.failures[first.operation_id] = exc
                pending.pop(0)
                continue
            now = clock.now()
            due = [ctx for ctx in pending if ctx.finishes_at is None or ctx.finishes_at <= now]
            pending = pending[len(due):]
            done = self._in_one_transaction(due, last)
            for ctx in due:
                ctx.finished = ctx.operation_id in done
            results.update(done)
        return results

    def _in_one_transaction(self, contexts: list[JobContext], work: Work[T]) -> dict[str, T]:
        results: dict[str, T] = {}
        try:
            with session_scope() as session:
                for ctx in contexts:
                    try:
                        with session.begin_nested():
                            lease.require_held(session, ctx.operation_id, ctx.worker_id)
                            results[ctx.operation_id] = work(session, ctx)
                    except Exception as exc:
                        self.failures[ctx.operation_id] = exc
                        results.pop(ctx.operation_id, None)
        except Exception as exc:  # the commit itself failed: every one of them failed
            for ctx in contexts:
                self.failures.setdefault(ctx.operation_id, exc)
            return {}
        return results


def _end_order(ctx: JobContext) -> tuple[bool, float]:
    """Jobs with no end in domain time first, then by their end."""
    return ctx.finishes_at is not None, ctx.finishes_at.timestamp() if ctx.finishes_at else 0.0


def execute_batch(message: TaskMessage, worker_id: str) -> str:
    """Run every operation ``message`` names; returns what happened, for logs and tests."""
    handler = registry.handler_for(message.job_type)
    if handler.batch is None:
        outcomes = {operation_id: execute(message.model_copy(
            update={'operation_id': operation_id, 'batch': ()}), worker_id)
            for operation_id in message.operation_ids}
    else:
        outcomes = _run_batch(handler.batch, message, worker_id)
    for operation_id, outcome in outcomes.items():
        LOG.info('operation %s (%s): %s', operation_id, message.job_type, outcome)
    claimed = {key: outcome for key, outcome in outcomes.items() if outcome != 'not-claimed'}
    if not claimed:
        return 'not-claimed'
    return '%d of %d operations: %s' % (len(claimed), len(message.operation_ids),
                                        ', '.join(sorted(set(claimed.values()))))


def _run_batch(run: Callable[[JobBatch], None], message: TaskMessage,
               worker_id: str) -> dict[str, str]:
    """Claim the operations still waiting and run them with the batch form ``run``; the
    outcome of each one claimed."""
    with session_scope() as session:
        contexts = [JobContext(operation, worker_id) for operation in
                    lease.claim_many(session, message.operation_ids, worker_id)]
    if not contexts:
        return {}
    batch = JobBatch(contexts)
    with Heartbeat(contexts).beating():
        try:
            run(batch)
        except Exception as exc:  # the batch form broke: every unfinished job fails with it
            for ctx in batch.live:
                if not ctx.finished:
                    batch.failures[ctx.operation_id] = exc
        return {ctx.operation_id: conclude(ctx, batch.failures.get(ctx.operation_id))
                for ctx in contexts}
