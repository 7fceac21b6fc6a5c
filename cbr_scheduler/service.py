"""The scheduler loop: heartbeat, leader lease, then (as leader) reaper, outbox, policy
runs, the retention sweep, task pruning and chunk GC."""
from __future__ import annotations

import logging
import signal
import threading

from cbr_common import clock, services
from cbr_common.config import CONF
from cbr_common.dataplane import gc
from cbr_common.operations import history, outbox, reaper
from cbr_common.policies import schedule
from cbr_common.policies.due import run_due
from cbr_scheduler import leader

LOG = logging.getLogger(__name__)
MIN_PAUSE = 0.01  # seconds: a pause never shorter, so a due run cannot make the loop spin


class Scheduler:
    """One scheduler process; leads while it holds the lease, waits otherwise."""

    def __init__(self) -> None:
        self.ident = services.service_id('scheduler')
        self.stopping = threading.Event()
        self.leading = False
        self.next_sweep = 0.0

    def run_once(self) -> None:
        services.beat('scheduler', {'leader': self.leading})
        leading = leader.try_lead(self.ident, CONF.scheduler.leader_lease_seconds)
        if leading != self.leading:
            LOG.info('%s is %s', self.ident, 'now the leader' if leading else 'a standby')
            self.leading = leading
        if leading:
            requeued = reaper.reap_expired()
            sent = outbox.redispatch_due()
            due = run_due(min(CONF.scheduler.catch_up_wait, CONF.scheduler.loop_interval))
            pruned = history.prune()
            if sent or due.runs or due.expired or pruned or any(requeued.values()):
                LOG.info('outbox sent %d; policy runs fired %d; expired backups deleted %d; '
                         'old tasks pruned %d; reaper %s', sent, due.runs, due.expired, pruned,
                         requeued)
            if clock.monotonic() >= self.next_sweep:
                self.next_sweep = clock.monotonic() + CONF.chunk_store.gc_interval
                gc.sweep()

    def _pause(self) -> float:
        """The loop interval, or less when the leader's next policy run falls due sooner,
        so a run is fired within moments of its instant at any clock speed."""
        interval = CONF.scheduler.loop_interval
        if not self.leading:
            return interval
        try:
            until_next = schedule.seconds_to_next_run()
        except Exception:  # the next pass reports database trouble
            return interval
        return interval if until_next is None else min(interval, until_next + MIN_PAUSE)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        LOG.info('scheduler %s started', self.ident)
        while not self.stopping.is_set():
            try:
                self.run_once()
            except Exception:  # keep the loop alive through database or broker hiccups
                LOG.exception('scheduler pass failed')
            self.stopping.wait(self._pause())
        if self.leading:
            leader.resign(self.ident)
        services.forget('scheduler')
        LOG.info('scheduler %s stopped', self.ident)
