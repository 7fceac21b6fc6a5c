"""Re-dispatch back-off: quick for never-sent work, doubling for lost messages, capped."""
from __future__ import annotations

from cbr_common import config
from cbr_common.operations import outbox


def test_backoff_doubles_and_is_capped():
    config.CONF.set_override('redispatch_after', 10, group='scheduler')
    try:
        delays = [outbox.redispatch_delay(n) for n in range(8)]
    finally:
        config.CONF.clear_override('redispatch_after', group='scheduler')
    assert delays[0] == outbox.FIRST_PUBLISH_GRACE
    assert delays[1:6] == [10, 20, 40, 80, 160]
    assert delays[6] == delays[7] == 160
