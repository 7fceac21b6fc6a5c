"""The catalogue of job handlers: what a worker runs for each job type.

A handler module registers ``run(ctx)`` and ``on_failure(session, operation, reason)`` for
its job types with :func:`job`, and may register a batch form ``batch(job_batch)`` that
runs several operations of the type together.  ``on_failure`` puts the resources the job
touched into a final state (usually ``error`` with the reason) in the same transaction
that fails the job.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from cbr_common.contracts.tasks import JOB_QUEUES
from cbr_common.db import models

if TYPE_CHECKING:
    from cbr_common.operations.batches import JobBatch
    from cbr_common.operations.runner import JobContext

RunFn = Callable[['JobContext'], None]
BatchFn = Callable[['JobBatch'], None]
FailFn = Callable[[Session, models.Operation, str], None]

HANDLER_MODULES = ('cbr_common.inventory.jobs', 'cbr_common.backups.jobs',
                   'cbr_common.backups.vault_jobs', 'cbr_common.backups.images')


@dataclass(frozen=True)
class Handler:
    """How to run one job type, and how to clean up when it fails for good."""

    job_type: str
    run: RunFn
    on_failure: FailFn
    batch: BatchFn | None = None
    """Runs several operations of the job type together (:mod:`.batches`); None: one by
    one with ``run``."""


_HANDLERS: dict[str, Handler] = {}


def job(job_type: str, *, on_failure: FailFn,
        batch: BatchFn | None = None) -> Callable[[RunFn], RunFn]:
    """Register the decorated function as the runner of ``job_type`` (and ``batch`` as
    its batch form)."""
    if job_type not in JOB_QUEUES:
        raise KeyError('job type %s is not in the task contract' % job_type)

    def register(run: RunFn) -> RunFn:
        _HANDLERS[job_type] = Handler(job_type, run, on_failure, batch)
        return run
    return register


def handler_for(job_type: str) -> Handler:
    load_handlers()
    return _HANDLERS[job_type]


def load_handlers() -> None:
    for name in HANDLER_MODULES:
        importlib.import_module(name)
