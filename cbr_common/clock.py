"""The only clock of cbr-sim.

Two kinds of time exist and only this module reads either:

* **Domain time** (:func:`now`): what backups, jobs, policies and retention see.  It runs in
  one of three modes shared by every process: ``real`` (wall time plus any forward jumps),
  ``frozen`` (stands still until advanced) and ``scaled`` (runs ``speed`` times faster).
  Its state is one database row, so the API, schedulers and workers agree on it.
* **Infrastructure time** (:func:`real_time`, :func:`monotonic`): leases, heartbeats,
  signature skew and token expiry.  These follow the wall clock, so jumping the domain
  clock a month ahead neither expires every lease nor rejects every SDK signature.

Domain time is ``sim = anchor_sim + (real - anchor_real) * speed``; every change re-anchors
at the current instant, so time never runs backwards.

The row also names the model of how long jobs take in domain time (``job_durations``,
:data:`JOB_DURATION_MODELS`; :mod:`cbr_common.backups.durations` applies it).
"""
from __future__ import annotations

import datetime as _dt
import threading
import time as _time
from dataclasses import dataclass

UTC = _dt.timezone.utc
_CACHE_SECONDS = 0.2
JOB_DURATION_MODELS = ('instant', 'realistic')


def real_time() -> float:
    """Wall-clock seconds since the epoch (infrastructure time)."""
    return _time.time()


def monotonic() -> float:
    """Monotonic seconds, for measuring intervals inside one process."""
    return _time.monotonic()


def real_now() -> _dt.datetime:
    """Wall-clock time as an aware UTC datetime (infrastructure time)."""
    return _dt.datetime.fromtimestamp(real_time(), UTC)


@dataclass(frozen=True)
class ClockState:
    """One reading of the shared clock's settings."""

    anchor_real: float
    anchor_sim: float
    speed: float
    version: int
    job_durations: str = 'instant'

    @property
    def mode(self) -> str:
        if self.speed == 0:
            return 'frozen'
        return 'real' if self.speed == 1 else 'scaled'

    def sim_seconds(self, real: float) -> float:
        return self.anchor_sim + (real - self.anchor_real) * self.speed


class ClockError(ValueError):
    """A clock change that would make time run backwards or is otherwise invalid."""


class SharedClock:
    """Reads and changes the clock row; caches a reading for a fraction of a second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: ClockState | None = None
        self._cached_at = -1.0
        self._changed_at = -_CACHE_SECONDS

    # -- reading -------------------------------------------------------------------
    def state(self) -> ClockState:
        with self._lock:
            if self._cached is not None and monotonic() - self._cached_at < _CACHE_SECONDS:
                return self._cached
        loaded_at = monotonic()  # before the read: a reading is never older than its age
        state = self._load()
        with self._lock:
            self._cached, self._cached_at = state, loaded_at
        return state

    def now(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.state().sim_seconds(real_time()), UTC)

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def wait_until_shared(self) -> None:
        """After a change made here: wait until no process can still be using a reading
        from before it (each caches one for at most ``_CACHE_SECONDS``)."""
        remaining = self._changed_at + _CACHE_SECONDS - monotonic()
        if remaining > 0:
            _time.sleep(remaining)

    # -- changing ------------------------------------------------------------------
    def freeze(self) -> ClockState:
        return self._change(speed=0.0)

    def resume(self) -> ClockState:
        return self._change(speed=1.0)

    def set_speed(self, speed: float) -> ClockState:
        if not 0 <= speed <= 1_000_000:
            raise ClockError('speed must be between 0 and 1000000')
        return self._change(speed=float(speed))

    def advance(self, seconds: float) -> ClockState:
        if seconds < 0:
            raise ClockError('seconds must not be negative: the clock never runs backwards')
        return self._change(jump=float(seconds))

    def set_to(self, instant: _dt.datetime) -> ClockState:
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return self._change(to=instant.timestamp())

    def set_job_durations(self, model: str) -> ClockState:
        if model not in JOB_DURATION_MODELS:
            raise ClockError('job_durations must be one of %s' % ', '.join(JOB_DURATION_MODELS))
        return self._change(job_durations=model)

    def _change(self, *, speed: float | None = None, jump: float = 0.0,
                to: float | None = None, job_durations: str | None = None) -> ClockState:
        from cbr_common.db import models
        from cbr_common.db.engine import session_scope

        with session_scope() as session:
            row = _locked_row(session, models)
            real = real_time()
            current = _row_state(row).sim_seconds(real)
            target = current + jump
            if to is not None:
                if to < current:
                    raise ClockError('the clock never runs backwards: %s is before now' %
                                     _dt.datetime.fromtimestamp(to, UTC).isoformat())
                target = to
            row.anchor_real, row.anchor_sim = real, target
            if speed is not None:
                row.speed = speed
            if job_durations is not None:
                row.job_durations = job_durations
            row.version += 1
            state = _row_state(row)
        self.invalidate()
        self._changed_at = monotonic()
        return state

    def _load(self) -> ClockState:
        from cbr_common.db import models
        from cbr_common.db.engine import read_scope

        with read_scope() as session:
            row = session.get(models.SimClock, 1)
            if row is None:
                return ClockState(anchor_real=0.0, anchor_sim=0.0, speed=1.0, version=0)
            return _row_state(row)


def _row_state(row) -> ClockState:
    return ClockState(anchor_real=row.anchor_real, anchor_sim=row.anchor_sim,
                      speed=row.speed, version=row.version,
                      job_durations=row.job_durations or 'instant')


def _locked_row(session, models):
    from sqlalchemy import select

    row = session.execute(select(models.SimClock).where(models.SimClock.id == 1)
                          .with_for_update()).scalar_one_or_none()
    if row is None:
        real = real_time()
        row = models.SimClock(id=1, anchor_real=real, anchor_sim=real, speed=1.0, version=0,
                              job_durations='instant')
        session.add(row)
        session.flush()
    return row


CLOCK = SharedClock()


def now() -> _dt.datetime:
    """Domain time: an aware UTC datetime from the shared clock."""
    return CLOCK.now()
