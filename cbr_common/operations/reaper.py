"""The reaper: operations whose worker stopped renewing its lease are retried or failed."""
from __future__ import annotations

import logging

from sqlalchemy import select

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.operations.runner import fail_operation
from cbr_common.statemachine import transition

LOG = logging.getLogger(__name__)
LOST_WORKER_CODE = 'SIM.0002'


def reap_expired(limit: int = 200) -> dict[str, int]:
    """Re-queue (or, after ``max_attempts``, fail) every operation whose lease expired."""
    counts = {'requeued': 0, 'failed': 0}
    expired_now = (models.Operation.status == 'RUNNING',
                   models.Operation.lease_expires_at < clock.real_time())
    with read_scope() as session:  # the usual pass finds nothing and writes nothing
        if session.execute(select(models.Operation.id).where(*expired_now)
                           .limit(1)).first() is None:
            return counts
    with session_scope() as session:
        expired = session.execute(
            select(models.Operation).where(*expired_now)
            .order_by(models.Operation.lease_expires_at).limit(limit)
            .with_for_update(skip_locked=True)).scalars().all()
        for operation in expired:
            owner = operation.lease_owner
            if operation.attempts < CONF.worker.max_attempts:
                transition(session, operation, 'INIT', entity_type='operation',
                           operation_id=operation.id,
                           reason='lease of %s expired; queued again' % owner)
                operation.lease_owner = None
                operation.lease_expires_at = None
                operation.dispatched_at = 0.0
                counts['requeued'] += 1
            else:
                fail_operation(session, operation,
                               'worker lost: lease of %s expired after %d attempts' % (
                                   owner, operation.attempts), LOST_WORKER_CODE)
                counts['failed'] += 1
            LOG.warning('operation %s: lease of %s expired (%s)', operation.id, owner,
                        'requeued' if operation.status == 'INIT' else 'failed')
    return counts
