"""Everything the domain clock makes due: policy runs (rules P3, B2) and the daily
retention sweep (P8).

The leading scheduler runs this on every pass; the clock API runs it right after it moves
the clock, so an advance returns once every run that fell due has fired.  Any number of
callers may run it at once: each run is claimed once (:mod:`.schedule`) and a backup
already being deleted is not picked again (:mod:`.retention`).
"""
from __future__ import annotations

from dataclasses import dataclass

from cbr_common.policies import retention, schedule


@dataclass(frozen=True)
class DueWork:
    """What one call fired: policy runs, and deletions of expired backups."""

    runs: int = 0
    expired: int = 0


def run_due() -> DueWork:
    """Fire every due run and sweep every expired backup, batch after batch."""
    runs = expired = 0
    while True:
        fired, swept = schedule.fire_due(), retention.sweep()
        runs, expired = runs + fired, expired + swept
        if not fired and not swept:
            return DueWork(runs, expired)
