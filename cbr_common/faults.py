"""Fault injection: make work that reaches a named point wait or fail, a set number of times.

Tests use this to hold a job in progress (so a worker can be killed mid-job) or to make a
step fail.  Points are plain names such as ``evs.create_volume``.
"""
from __future__ import annotations

import time

from sqlalchemy import bindparam, select

from cbr_common.db import models
from cbr_common.db.engine import read_connection, session_scope
from cbr_common.errors import InvalidInput, JobFailed

ACTIONS = frozenset({'delay', 'fail'})


class InjectedFault(JobFailed):
    """A failure requested through fault injection."""

    def __init__(self, point: str) -> None:
        super().__init__('injected fault at %s' % point, code='SIM.0999')


def add(point: str, action: str, *, seconds: float = 0.0, times: int = 1) -> models.Fault:
    if action not in ACTIONS:
        raise InvalidInput('action must be one of %s' % ', '.join(sorted(ACTIONS)),
                           field='action')
    with session_scope() as session:
        fault = models.Fault(point=point, action=action, seconds=seconds, remaining=times)
        session.add(fault)
    return fault


def clear() -> None:
    with session_scope() as session:
        for fault in session.execute(select(models.Fault)).scalars():
            session.delete(fault)


def listing() -> list[dict]:
    with session_scope() as session:
        return [{'id': f.id, 'point': f.point, 'action': f.action, 'seconds': f.seconds,
                 'remaining': f.remaining}
                for f in session.execute(select(models.Fault).order_by(models.Fault.id)).scalars()]


_FAULTS = models.Fault.__table__
_ARMED = (select(_FAULTS.c.id)
          .where(_FAULTS.c.point == bindparam('point'), _FAULTS.c.remaining > 0).limit(1))


def hit(point: str) -> None:
    """Called by work at ``point``: consumes one matching fault and applies it.

    A lock-free read comes first, so work passing a point with no fault set writes
    nothing.
    """
    with read_connection() as connection:
        if connection.execute(_ARMED, {'point': point}).first() is None:
            return
    with session_scope() as session:
        fault = session.execute(select(models.Fault)
                                .where(models.Fault.point == point, models.Fault.remaining > 0)
                                .order_by(models.Fault.id).limit(1)
                                .with_for_update()).scalar_one_or_none()
        if fault is None:
            return
        fault.remaining -= 1
        action, seconds = fault.action, fault.seconds
    if action == 'delay':
        time.sleep(seconds)
    else:
        raise InjectedFault(point)
