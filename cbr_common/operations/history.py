"""Task history: ended operations are kept for 30 days of domain time (rule T1).

The leading scheduler prunes, in batches, the operations that ended more than
:data:`KEPT_FOR` ago; their tasks leave the operation-log and job APIs with them.  The
audit trail of state changes is kept.  Nothing else points at an operation row in a way
that needs it: a job's leftovers (pins, packs) count as abandoned once it is gone.
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


def prune() -> int:
    """Delete a batch of operations that ended before the kept period; returns how many.
    A pass that finds none writes nothing."""
    ended_long_ago = (models.Operation.status.in_(FINAL_STATES),
                      models.Operation.end_time < clock.now() - KEPT_FOR)
    with read_scope() as session:
        old = list(session.execute(select(models.Operation.id).where(*ended_long_ago)
                                   .limit(BATCH)).scalars())
    if not old:
        return 0
    with session_scope() as session:
        return session.execute(delete(models.Operation).where(
            models.Operation.id.in_(old), *ended_long_ago)).rowcount
