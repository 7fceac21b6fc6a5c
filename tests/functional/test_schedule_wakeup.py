"""The scheduler sleeps until the next run falls due, at the clock's speed, when that is
sooner than its loop interval."""
from __future__ import annotations

import datetime as dt

from cbr_common import clock
from cbr_common.db import models
from cbr_common.db.engine import session_scope
from cbr_common.policies import schedule


def test_the_wait_for_the_next_run_follows_the_clock_speed(backup_service):
    # rule: P3
    vault_id = backup_service.vault('OS::Cinder::Volume', 10)
    assert schedule.seconds_to_next_run() is None  # nothing scheduled
    clock.CLOCK.freeze()
    with session_scope() as session:
        session.get(models.Vault, vault_id).next_run_at = clock.now() + dt.timedelta(hours=1)
    assert schedule.seconds_to_next_run() is None  # a frozen clock: only an advance helps
    clock.CLOCK.set_speed(3600)  # an hour of domain time a second: the hour is 1 s away
    assert 0.5 < schedule.seconds_to_next_run() <= 1.0
    clock.CLOCK.set_speed(1)  # (less the domain time that passed at 3600 times)
    assert 1800 < schedule.seconds_to_next_run() <= 3600
    clock.CLOCK.advance(2 * 3600)
    assert schedule.seconds_to_next_run() == 0  # overdue: no wait
