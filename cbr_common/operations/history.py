"""Task history: ended operations are kept for 30 days of domain time (rule T1).

The leading scheduler prunes, in batches, the operations that ended more than
:data:`KEPT_FOR` ago, with their state-change records; their tasks leave the
operation-log and job APIs with them (``cbr-manage purge`` prunes the same way, at
once).  Nothing else points at an operation row in a way that needs it: a job's
leftovers (pins, packs) count as abandoned once it is gone.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from cbr_common import clock
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.operations import FINAL_STATES

KEPT_FOR = dt.timedelta(days=30)
BATCH = 500


def prune(kept_for: dt.timedelta = KEPT_FOR, limit: int | None = BATCH) -> int:
    """Delete (up to ``limit``) operations that ended more than ``kept_for`` ago; returns
    how many.  A pass that finds none writes nothing."""
    ended_long_ago = (models.Operation.status.in_(FINAL_STATES),
                      models.Operation.end_time < clock.now() - kept_for)
    with read_scope() as session:
        old = list(session.execute(select(models.Operation.id).where(*ended_long_ago)
                                   .limit(limit)).scalars())
    if not old:
        return 0
    with session_scope() as session:
        session.execute(delete(models.StatusEvent).where(models.StatusEvent.entity_id.in_(old)))
        return session.execute(delete(models.Operation).where(
            models.Operation.id.in_(old), *ended_long_ago)).rowcount
