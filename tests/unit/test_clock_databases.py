"""The clock's cached reading belongs to one database: switching databases forgets it."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.db import engine, migrate

MONTH = 30 * 86400


def _use(path: Path) -> None:
    CONF.set_override('connection', 'sqlite:///%s' % path, group='database')
    engine.dispose()


def test_a_new_database_reads_its_own_clock_not_the_last_ones(tmp_path: Path) -> None:
    try:
        _use(tmp_path / 'fresh.sqlite')
        migrate.sync()
        _use(tmp_path / 'advanced.sqlite')
        migrate.sync()
        clock.CLOCK.advance(MONTH)
        assert clock.now() - clock.real_now() > dt.timedelta(days=29)  # now cached
        _use(tmp_path / 'fresh.sqlite')
        # a job accepted now on the fresh database must not finish a month from now
        assert abs(clock.now() - clock.real_now()) < dt.timedelta(minutes=1)
    finally:
        CONF.clear_override('connection', group='database')
        engine.dispose()
