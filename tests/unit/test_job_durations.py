"""The realistic job-duration model gives the guides' figures."""
from __future__ import annotations

import pytest

from cbr_common.backups import durations
from cbr_common.inventory import GIB


@pytest.mark.parametrize(('size_gb', 'changed', 'minutes'), [
    (100, None, 30),            # a 100 GB full backup: about 30 minutes
    (300, None, 90),            # seed 002 §5.2's 90-minute backup
    (500, 15 * GIB, 6),         # 15 GB of changes: about 6 minutes, whatever the disk size
    (10, 0, 0),                 # nothing changed: nothing to move
])
def test_backup_minutes(size_gb, changed, minutes):
    # rule: P10
    seconds = durations.realistic_backup_seconds(size_gb, changed)
    assert seconds == pytest.approx(minutes * 60)


def test_a_100_gb_restore_takes_30_minutes():
    assert durations.realistic_restore_seconds(100) == pytest.approx(30 * 60)
    assert durations.realistic_restore_seconds(1) == pytest.approx(18)
