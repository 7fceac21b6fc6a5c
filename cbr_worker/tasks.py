"""The Celery tasks: one per queue, each a thin shell over the operation runner.

A message that breaks the contract (unknown major version, bad fields) is rejected
without requeueing, so it never loops; everything else goes to the runner, which is
idempotent by operation id.  A message naming a batch of operations goes to the batch
runner.
"""
from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.exceptions import Reject

from cbr_common import services
from cbr_common.contracts.tasks import QUEUES, ContractError, parse, task_name
from cbr_common.operations import batches, runner

LOG = logging.getLogger(__name__)


def run_operation(payload: Any) -> str:
    try:
        message = parse(payload)
    except ContractError as exc:
        LOG.error('rejected task message: %s', exc)
        raise Reject(str(exc), requeue=False) from exc
    if message.batch:
        outcome = batches.execute_batch(message, services.service_id('worker'))
        LOG.info('batch of %s: %s', message.job_type, outcome)
        return outcome
    outcome = runner.execute(message, services.service_id('worker'))
    LOG.info('operation %s (%s): %s', message.operation_id, message.job_type, outcome)
    return outcome


def register(app: Celery) -> None:
    """Bind one task per queue to ``app``."""
    for queue in QUEUES:
        app.task(name=task_name(queue), acks_late=True, reject_on_worker_lost=True,
                 ignore_result=True)(run_operation)
