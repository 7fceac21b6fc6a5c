"""Whether operations are still waiting for a worker or running: all of them (the queue is
idle), or those of a vault that are over in domain time (a catch-up may go on)."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection

from sqlalchemy import func, select

from cbr_common import clock
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.operations import UNFINISHED_STATES

POLL_SECONDS = 0.1
SETTLE_POLL_SECONDS = 0.02


def busy_operations() -> int:
    """How many operations have not ended (waiting, running, or waiting for sub-jobs)."""
    with read_scope() as session:
        return session.execute(select(func.count()).select_from(models.Operation).where(
            models.Operation.status.in_(UNFINISHED_STATES))).scalar_one()


def wait_idle(timeout: float) -> int:
    """Wait up to ``timeout`` seconds (wall time) for every operation to end; returns how
    many have not ended (0: idle)."""
    return _wait_for_none(busy_operations, clock.monotonic() + timeout, POLL_SECONDS)


def _wait_for_none(count: Callable[[], int], until: float, interval: float) -> int:
    """Call ``count`` every ``interval`` seconds until it gives 0 or the monotonic instant
    ``until`` has passed; its last answer."""
    while (left := count()) and clock.monotonic() < until:
        time.sleep(interval)
    return left


def with_unfinished(vault_ids: Collection[str]) -> set[str]:
    """Those of the vaults that have an operation that has not ended."""
    if not vault_ids:
        return set()
    with read_scope() as session:
        return set(session.execute(select(models.Operation.vault_id).distinct().where(
            models.Operation.vault_id.in_(vault_ids),
            models.Operation.status.in_(UNFINISHED_STATES))).scalars())


def unfinished_by(vault_id: str, instant: dt.datetime) -> int:
    """How many of the vault's operations are done in domain time by ``instant`` (their
    ``finishes_at``) but have not ended yet."""
    with read_scope() as session:
        return session.execute(select(func.count()).select_from(models.Operation).where(
            models.Operation.vault_id == vault_id, models.Operation.finishes_at <= instant,
            models.Operation.status.in_(UNFINISHED_STATES))).scalar_one()


def wait_finished_by(vault_id: str, instant: dt.datetime, until: float) -> int:
    """Wait, until the monotonic instant ``until``, for the vault's operations done by
    ``instant`` to end; returns how many have not (0: all ended)."""
    return _wait_for_none(lambda: unfinished_by(vault_id, instant), until, SETTLE_POLL_SECONDS)
