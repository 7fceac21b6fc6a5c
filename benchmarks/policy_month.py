#!/usr/bin/env python3
"""A simulated month of daily policy backups of many disks, under the frozen shared clock,
against a no-op Celery task on the same broker with the same worker shape.

A benchmark, not a test: it reports numbers and whether the goal holds (the month's
backups and deletions take under 60 s of wall time; judged only for a run of at least
1000 disks and 30 days); ``--check`` makes it exit 1 when it does not. See docs/benchmarks.md.

What it does:

1. starts cbr-sim with ``devstack/stack.sh`` and ``CBR_WORKERS=--workers`` (2) on a
   private port, Redis database and state folder (a folder inside the run's temporary
   folder), and as many no-op workers (benchmarks/noop_worker.py) as backup_throughput.py;
2. prepares, untimed, ``--disks`` (1000) new 10 GB disks in disk vaults of at most 256,
   freezes the clock half an hour before a midnight and applies one daily 02:00 policy
   keeping the ``--keep`` (7) newest backups (``max_backups``) to every vault;
3. for each of ``--days`` (30) days: writes ``--change-bytes`` (64 KiB) of fresh random
   data to every disk at an offset of its own that day (straight into the volume store,
   untimed: the service's change tracking sees it as any write), then, timed, moves the
   clock to 02:05 of the day (the clock call answers once the day's runs have fired)
   and waits until every operation has ended (``POST /sim/v1/wait-idle``): the day's
   backups, and the deletions of the backups the retention rule drops;
4. checks the end state: every disk has exactly ``--keep`` backups, all available, the
   newest from the last day;
5. measures the baseline: as many no-op tasks as the month made backups and deletions,
   sent in one loop, timed until the last is done; the ratio is baseline seconds over the
   month's seconds (how much of the month's time a no-op message per operation would
   already take);
6. writes benchmarks/results/policy_month.json and stops everything it started.

Installs nothing. Needs the project's virtualenv with the test extra, e.g.::

    .venv/bin/python benchmarks/policy_month.py --disks 1000 --days 30
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import backup_throughput as bt
import common
from common import REPO, BenchError, Stack, log, run_and_write

DEFAULT_OUTPUT = REPO / 'benchmarks' / 'results' / 'policy_month.json'
GOAL_SECONDS = 60.0
GOAL_DISKS, GOAL_DAYS = 1000, 30  # the goal's size; a smaller run is not judged
RUN_HOUR = 2
IDLE_WAIT = 300  # seconds one wait-idle call may take (the API's limit)
PAGE = 1000


class Month:
    """The frozen clock, the policy on every vault, and one day's changes and runs."""

    def __init__(self, demo: bt.Demo, vaults: dict[str, list[str]], keep: int,
                 conf: Path) -> None:
        from cbr_common import config
        from cbr_common.dataplane.volume_store import VolumeStore
        config.load([], config_file=str(conf))
        self.volumes = VolumeStore.from_config()
        self.demo, self.vaults = demo, vaults
        self.clock('freeze')
        now = dt.datetime.fromisoformat(self.admin('GET', '/sim/v1/clock')['now'])
        self.day = (now + dt.timedelta(days=2)).replace(hour=0, minute=0, second=0,
                                                        microsecond=0)
        self.clock('set', to=(self.day - dt.timedelta(minutes=30)).isoformat())
        policy = demo.api.call('POST', '/v3/%s/policies' % demo.project_id, body={'policy': {
            'name': 'bench-daily', 'operation_type': 'backup',
            'operation_definition': {'max_backups': keep},
            'trigger': {'properties': {'pattern': [
                'FREQ=DAILY;INTERVAL=1;BYHOUR=%d;BYMINUTE=00' % RUN_HOUR]}}}})['policy']
        for vault in vaults:
            demo.api.call('POST', '/v3/%s/vaults/%s/associatepolicy' % (demo.project_id, vault),
                          body={'policy_id': policy['id']})

    def admin(self, method: str, path: str, body: Any = None,
              expect: int | tuple[int, ...] = 200) -> dict:
        return self.demo.admin.call(method, path, body=body, expect=expect)

    def clock(self, action: str, **fields: Any) -> dict:
        return self.admin('POST', '/sim/v1/clock', {'action': action, **fields})

    def change(self, number: int, change_bytes: int) -> None:
        """Fresh random bytes on every disk, at an offset of the day's own."""
        for disk in (disk for disks in self.vaults.values() for disk in disks):
            self.volumes.write(disk, number * change_bytes, os.urandom(change_bytes))

    def run(self, number: int) -> float:
        """Seconds from moving the clock to the day's run until every operation ended."""
        instant = self.day + dt.timedelta(days=number, hours=RUN_HOUR, minutes=5)
        t0 = time.monotonic()
        fired = self.clock('set', to=instant.isoformat())['fired']
        while not self.admin('POST', '/sim/v1/wait-idle', {'timeout': IDLE_WAIT},
                             expect=(200, 409))['idle']:
            pass
        seconds = time.monotonic() - t0
        log('  day %d: %.2f s (fired by the clock call: %s)' % (number + 1, seconds, fired))
        return seconds

    def backups(self, vault: str) -> list[dict[str, Any]]:
        """Every backup of the vault, page by page."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.demo.api.call('GET', '/v3/%s/backups' % self.demo.project_id, query=[
                ('vault_id', vault), ('limit', PAGE), ('offset', len(found))])['backups']
            found += page
            if len(page) < PAGE:
                return found

    def check(self, keep: int, days: int) -> int:
        """Raise unless every disk has ``keep`` available backups, the newest from the last
        day; returns how many backups the vaults hold."""
        last = (self.day + dt.timedelta(days=days - 1, hours=RUN_HOUR)).replace(tzinfo=None)
        held = 0
        for vault, disks in self.vaults.items():
            backups = self.backups(vault)
            held += len(backups)
            per_disk: dict[str, list[dict]] = {}
            for backup in backups:
                per_disk.setdefault(backup['resource_id'], []).append(backup)
            for disk in disks:
                kept = per_disk.get(disk, [])
                newest = max((dt.datetime.fromisoformat(b['created_at']) for b in kept),
                             default=None)
                if (len(kept) != min(keep, days) or newest != last
                        or any(b['status'] != 'available' for b in kept)):
                    raise BenchError('disk %s ends with %d backups (newest %s): %s' % (
                        disk, len(kept), newest, [(b['id'], b['status']) for b in kept]))
        return held


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    args.state_dir = str(workdir / 'stack')
    stack = Stack(args, workdir, {'CBR_WORKERS': str(args.workers)})
    workers: bt.NoopWorkers | None = None
    try:
        credentials = stack.start()
        settings = bt.stack_settings(credentials.parent / 'cbr.conf')
        demo = bt.demo_project(json.loads(credentials.read_text()), str(workdir / 'home'))
        started = time.monotonic()
        disks = bt.create_disks(demo, args.disks)
        vaults = bt.create_vaults(demo, disks, uuid.uuid4().hex[:6])
        month = Month(demo, vaults, args.keep, credentials.parent / 'cbr.conf')
        log('prepared %d disks in %d vaults under one daily policy (%.1f s)'
            % (len(disks), len(vaults), time.monotonic() - started))
        days, writes = [], []
        for number in range(args.days):
            t0 = time.monotonic()
            month.change(number, args.change_bytes)
            writes.append(time.monotonic() - t0)
            days.append(month.run(number))
        held = month.check(args.keep, args.days)
        operations = args.disks * args.days + max(0, args.days - args.keep) * args.disks
        workers = bt.NoopWorkers(args.workers, settings['concurrency'],
                                 settings['broker_url'], workdir)
        workers.start()
        sender = bt.NoopSender(settings['broker_url'], workers.queue)
        sender.batch(bt.WARMUP_TASKS, args.timeout)
        log('baseline: %d no-op tasks' % operations)
        baseline, _ = sender.batch(operations, args.timeout)
    finally:
        if workers is not None:
            workers.stop()
        stack.stop()
    month_seconds = sum(days)
    return {
        'benchmark': 'a month of daily policy backups with quantity retention, clock moved a '
                     'day at a time, vs a no-op Celery task per operation',
        'date': dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'machine': dict(MACHINE, loadavg_at_end=[round(x, 2) for x in os.getloadavg()]),
        'settings': {'disks': args.disks, 'days': args.days, 'keep': args.keep,
                     'change_bytes': args.change_bytes, 'vaults': len(vaults),
                     'workers': args.workers, 'worker_concurrency': settings['concurrency'],
                     'database': 'sqlite (devstack default)'},
        'month': {'seconds': round(month_seconds, 2),
                  'day_seconds_median': round(statistics.median(days), 3),
                  'day_seconds_max': round(max(days), 3),
                  'day_seconds_first': round(days[0], 3),
                  'change_write_seconds': round(sum(writes), 2),
                  'backups_made': args.disks * args.days, 'backups_held_at_end': held,
                  'operations_per_second': round(operations / month_seconds, 2)},
        'baseline': {'tasks': operations, 'seconds': round(baseline, 2),
                     'per_second': round(operations / baseline, 2)},
        'ratio_baseline_to_month': round(baseline / month_seconds, 4),
        'goal': {'month_seconds_under': GOAL_SECONDS, 'disks': GOAL_DISKS, 'days': GOAL_DAYS,
                 'met': (month_seconds < GOAL_SECONDS
                         if args.disks >= GOAL_DISKS and args.days >= GOAL_DAYS else None)},
    }


def report(result: dict[str, Any]) -> None:
    month, base = result['month'], result['baseline']
    print()
    print('month: %.1f s for %d backups and their deletions (%.1f operations/s); a day: '
          'median %.2f s, max %.2f s' % (month['seconds'], month['backups_made'],
                                         month['operations_per_second'],
                                         month['day_seconds_median'], month['day_seconds_max']))
    print('baseline: %d no-op tasks in %.1f s (%.1f/s); baseline/month %.4f'
          % (base['tasks'], base['seconds'], base['per_second'],
             result['ratio_baseline_to_month']))
    met = result['goal']['met']
    print('goal: under %.0f s: %s' % (GOAL_SECONDS, 'met' if met else 'NOT met' if met is False
                                      else 'not judged (the goal is for %d disks and %d days)'
                                      % (GOAL_DISKS, GOAL_DAYS)))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--disks', type=int, default=1000, help='default: %(default)s')
    parser.add_argument('--days', type=int, default=30, help='default: %(default)s')
    parser.add_argument('--keep', type=int, default=7,
                        help='the policy\'s max_backups (default: %(default)s)')
    parser.add_argument('--change-bytes', type=int, default=64 * 1024,
                        help='bytes written to each disk each day (default: %(default)s)')
    parser.add_argument('--workers', type=int, default=2, help='default: %(default)s')
    parser.add_argument('--timeout', type=float, default=1800,
                        help='seconds the baseline may take (default: %(default)s)')
    parser.add_argument('--api-port', type=int, default=18802, help='CBR_API_PORT for stack.sh')
    parser.add_argument('--redis-url', default='redis://127.0.0.1:6379/14',
                        help='CBR_REDIS_URL for stack.sh (default: %(default)s)')
    parser.add_argument('--output', default=str(DEFAULT_OUTPUT),
                        help='JSON result file (default: %(default)s)')
    parser.add_argument('--check', action='store_true', help='exit 1 when the goal is not met')
    args = parser.parse_args(argv)
    for name in ('disks', 'days', 'keep', 'workers', 'change_bytes'):
        if getattr(args, name) < 1:
            parser.error('--%s must be at least 1' % name.replace('_', '-'))
    return args


MACHINE: dict[str, Any] = {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    MACHINE.update(common.machine())
    return run_and_write(lambda workdir: benchmark(args, workdir), 'cbr-month-bench-', report,
                         args.output, lambda result: result['goal']['met'] is True, args.check)


if __name__ == '__main__':
    sys.exit(main())
