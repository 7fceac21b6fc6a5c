"""Everything the domain clock makes due: policy runs (rules P3, B2) and the daily
retention sweep (P8).

The leading scheduler runs this on every pass; the clock API runs it right after it moves
the clock, so an advance returns once every run that fell due has fired.  Any number of
callers may run it at once: each run is claimed once (:mod:`.schedule`) and a backup
already being deleted is not picked again (:mod:`.retention`).
"""
from __future__ import annotations

from dataclasses import dataclass

from cbr_common import clock
from cbr_common.policies import retention, schedule


@dataclass(frozen=True)
class DueWork:
    """What one call fired: policy runs and deletions of expired backups; and how many
    vaults' runs it left for later, their earlier backups not ended yet."""

    runs: int = 0
    expired: int = 0
    deferred: int = 0


def run_due(settle_seconds: float) -> DueWork:
    """Fire every run due now and sweep every backup expired now, batch after batch.

    "Now" is read once: with the clock running fast, work that falls due meanwhile is
    left for the next call.  Late runs wait ``settle_seconds`` of wall time in all for
    the backups before them to end, and are left for a later call after that
    (:func:`.schedule.fire_due`).
    """
    now = clock.now()
    settle_until = clock.monotonic() + settle_seconds
    runs = expired = 0
    while True:
        (fired, deferred), swept = schedule.fire_due(now, settle_until), retention.sweep(now)
        runs, expired = runs + fired, expired + swept
        if not fired and not swept:
            return DueWork(runs, expired, deferred)
