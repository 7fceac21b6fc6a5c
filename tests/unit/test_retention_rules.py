"""Which backups a retention rule keeps, and when the daily sweep runs (rules P6, P8)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from cbr_common.policies import retention

UTC = dt.timezone.utc


def _daily(days: int, hour: int = 22) -> list[SimpleNamespace]:
    """One backup a day at ``hour`` UTC for ``days`` days from 2026-01-01, newest first."""
    start = dt.datetime(2026, 1, 1, hour, tzinfo=UTC)
    return [SimpleNamespace(id='b%03d' % day, created_at=start + dt.timedelta(days=day))
            for day in reversed(range(days))]


def test_max_backups_keeps_the_newest():
    # rule: P6
    backups = _daily(10)
    assert retention.kept({'max_backups': 3}, backups) == {'b009', 'b008', 'b007'}
    assert retention.kept({'max_backups': -1}, backups) == {b.id for b in backups}


def test_long_term_counts_keep_the_newest_of_each_recent_period():
    # rule: P6
    backups = _daily(70)  # 2026-01-01 .. 2026-03-11, a Thursday start
    definition = {'max_backups': 2, 'week_backups': 2, 'month_backups': 3,
                  'timezone': 'UTC+00:00'}
    kept = retention.kept(definition, backups)
    newest_two = {'b069', 'b068'}
    # ISO weeks: 2026-03-09 (Mon) starts the newest week, so its newest is 03-11 (b069)
    # and the week before ends on Sunday 03-08 (b066)
    weeks = {'b069', 'b066'}
    months = {'b069', 'b058', 'b030'}  # 03-11, 02-28, 01-31
    assert kept == newest_two | weeks | months


def test_periods_follow_the_policy_timezone():
    # rule: P6
    backups = _daily(3, hour=22)  # 22:00 UTC is the next day at UTC+08:00
    utc = retention.kept({'day_backups': 1, 'timezone': 'UTC+00:00'}, backups)
    assert utc == {'b002'}
    # at UTC+08:00 the 22:00 UTC backups fall on 01-02, 01-03 and 01-04: still one a day
    east = retention.kept({'day_backups': 2, 'timezone': 'UTC+08:00'}, backups)
    assert east == {'b002', 'b001'}
    # 2026-01-31 22:00 UTC is February at UTC+08:00
    edge = [SimpleNamespace(id='feb', created_at=dt.datetime(2026, 1, 31, 22, tzinfo=UTC)),
            SimpleNamespace(id='jan', created_at=dt.datetime(2026, 1, 30, 22, tzinfo=UTC))]
    assert retention.kept({'month_backups': 2, 'timezone': 'UTC+08:00'}, edge) == {'feb', 'jan'}
    assert retention.kept({'month_backups': 2, 'timezone': 'UTC-03:00'}, edge) == {'feb'}


def test_quantity_rules_and_time_rules_are_told_apart():
    # rule: P11
    assert retention.keeps_by_quantity({'max_backups': 5})
    assert retention.keeps_by_quantity({'max_backups': -1, 'day_backups': 3,
                                        'timezone': 'UTC+00:00'})
    assert not retention.keeps_by_quantity({'retention_duration_days': 30})
    assert not retention.keeps_by_quantity({'max_backups': -1})


def test_the_daily_sweep_instant_is_the_latest_noon_utc():
    # rule: P8
    morning = dt.datetime(2026, 5, 4, 11, 59, tzinfo=UTC)
    assert retention.last_sweep_instant(morning) == dt.datetime(2026, 5, 3, 12, tzinfo=UTC)
    noon = dt.datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    assert retention.last_sweep_instant(noon) == noon
    evening = dt.datetime(2026, 5, 4, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert retention.last_sweep_instant(evening) == noon  # 15:00 UTC
