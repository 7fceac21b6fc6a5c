"""Whether any operation is still waiting for a worker or running (the queue is idle)."""
from __future__ import annotations

import time

from sqlalchemy import func, select

from cbr_common import clock
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.operations import FINAL_STATES

POLL_SECONDS = 0.1


def busy_operations() -> int:
    """How many operations have not ended (waiting, running, or waiting for sub-jobs)."""
    with read_scope() as session:
        return session.execute(select(func.count()).select_from(models.Operation).where(
            models.Operation.status.not_in(FINAL_STATES))).scalar_one()


def wait_idle(timeout: float) -> int:
    """Wait up to ``timeout`` seconds (wall time) for every operation to end; returns how
    many have not ended (0: idle)."""
    deadline = clock.monotonic() + timeout
    while (busy := busy_operations()) and clock.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return busy
