#!/usr/bin/env python3
"""The scheduler with 10,000 policies applied to 10,000 vaults: what a pass costs when
nothing is due, and how soon a due run fires at real speed.

A benchmark, not a test: it reports numbers and whether the scheduler issue's targets
hold (a pass when nothing is due under 10 ms; a due run enqueued within 1 s of its
instant, p99); ``--check`` exits 1 when one does not. See docs/benchmarks.md.

Everything runs in this process through the production code (the scheduler's
``run_once`` and ``run`` loop, the domain's policy and vault functions) on a fresh SQLite
database, or the empty PostgreSQL database ``--database-url`` names:

1. **setup**: 10,000 daily policies at random whole hours (in projects of 32, rule P1),
   each applied to its own vault, through ``store.create`` and ``store.associate``;
2. **idle passes**, the clock frozen so nothing falls due: ``--passes`` calls of
   ``Scheduler.run_once`` as the leader (heartbeat, lease, reaper, outbox, due runs, the
   retention sweep, task pruning), each timed; the **baseline** is the same passes on a
   second, empty database in the same run, so the ratio shows what 10,000 vaults add;
3. **due runs at real speed**: the clock resumed, ``--due`` vaults get their next run
   spread over the next 2 to 22 s, and the scheduler's own loop runs for 25 s;
   each run's lateness is its ``fired_at`` (when the pass that fired it began) minus its
   instant.

Needs the project's virtualenv and Redis at 127.0.0.1:6379 (the job harness's broker;
nothing is published, the vaults have no resources).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import log, machine, run_and_write  # noqa: E402

POLICIES_PER_PROJECT = 32  # rule P1
GOAL_TICK_MS = 10.0
GOAL_LATENESS_S = 1.0
WINDOW_SECONDS = 25  # how long the loop runs while the due runs fall due (over 2 to 22 s)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _populate(count: int, seed: int) -> None:
    from cbr_common import clock, ids
    from cbr_common.backups import vaults
    from cbr_common.db import models
    from cbr_common.db.engine import session_scope
    from cbr_common.policies import store

    rng = random.Random(seed)
    for start in range(0, count, POLICIES_PER_PROJECT):
        with session_scope() as session:
            project_id = ids.new_hex_id()
            session.add(models.Project(id=project_id, name='bench-%s' % project_id[:8],
                                       domain_name='bench', created_at=clock.now()))
            for index in range(start, min(count, start + POLICIES_PER_PROJECT)):
                policy = store.create(
                    session, project_id, name='p%05d' % index, enabled=True,
                    operation_type='backup', operation_definition={'max_backups': 7},
                    patterns=['FREQ=DAILY;INTERVAL=1;BYHOUR=%d;BYMINUTE=00'
                              % rng.randrange(24)])
                vault = vaults.create(session, project_id, name='v%05d' % index,
                                      resource_type='OS::Cinder::Volume', size=10)
                session.flush()
                store.associate(session, vault, policy)


def _idle_passes(passes: int) -> dict[str, Any]:
    from cbr_common import clock
    from cbr_scheduler.service import Scheduler

    clock.CLOCK.freeze()
    scheduler = Scheduler()
    scheduler.next_sweep = float('inf')  # chunk GC runs once a minute; not a tick's cost
    scheduler.run_once()  # takes the lead
    wall, cpu = [], []
    for _ in range(passes):
        started, started_cpu = time.perf_counter(), time.process_time()
        scheduler.run_once()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    assert scheduler.leading
    return {'passes': passes, 'median_ms': round(statistics.median(wall), 3),
            'p99_ms': round(_percentile(wall, 0.99), 3),
            'cpu_median_ms': round(statistics.median(cpu), 3)}


def _due_runs(due: int, seed: int) -> dict[str, Any]:
    from sqlalchemy import select, update

    from cbr_common import clock
    from cbr_common.db import models
    from cbr_common.db.engine import read_scope, session_scope
    from cbr_scheduler.service import Scheduler

    clock.CLOCK.resume()
    rng = random.Random(seed)
    with session_scope() as session:
        chosen = rng.sample(list(session.execute(select(models.Vault.id)).scalars()), due)
        base = clock.now() + dt.timedelta(seconds=2)
        instants = {vault_id: base + dt.timedelta(seconds=rng.uniform(0, 20))
                    for vault_id in chosen}
        for vault_id, instant in instants.items():
            session.execute(update(models.Vault).where(models.Vault.id == vault_id)
                            .values(next_run_at=instant))
    scheduler = Scheduler()
    scheduler.next_sweep = float('inf')
    window = threading.Timer(WINDOW_SECONDS, scheduler.stopping.set)
    window.start()
    scheduler.run()  # in this thread: it installs signal handlers; the timer ends it
    with read_scope() as session:
        runs = session.execute(select(models.PolicyRun.vault_id, models.PolicyRun.scheduled_at,
                                      models.PolicyRun.fired_at)
                               .where(models.PolicyRun.vault_id.in_(chosen))).all()
    lateness = [(fired - scheduled).total_seconds() for _, scheduled, fired in runs]
    return {'due': due, 'fired': len(runs),
            'lateness_median_s': round(statistics.median(lateness), 3) if lateness else None,
            'lateness_p99_s': round(_percentile(lateness, 0.99), 3) if lateness else None,
            'lateness_max_s': round(max(lateness), 3) if lateness else None}


def _one_database(root: Path, url: str | None, vaults: int, args) -> dict[str, Any]:
    """Populate a fresh database with ``vaults`` vaults and measure it, in a child
    process (each database gets its own engine and configuration)."""
    import json
    import subprocess

    out = root / ('result-%d.json' % vaults)
    command = [sys.executable, __file__, '--child', str(root / ('db-%d' % vaults)),
               '--vaults', str(vaults), '--passes', str(args.passes), '--due',
               str(min(args.due, vaults)), '--seed', str(args.seed), '--child-out', str(out)]
    if url:
        command += ['--database-url', url]
    subprocess.run(command, check=True, env=dict(os.environ, HOME=str(root)))
    return json.loads(out.read_text())


def _child(args) -> None:
    import json
    import tempfile

    from tests.support.dataplane import BackupService

    root = Path(args.child)
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault('HOME', tempfile.mkdtemp())
    service = BackupService(root, args.database_url)
    result: dict[str, Any] = {'vaults': args.vaults}
    with service.running():
        started = time.perf_counter()
        _populate(args.vaults, args.seed)
        result['setup_s'] = round(time.perf_counter() - started, 1)
        result['idle'] = _idle_passes(args.passes)
        if args.due:
            result['due_runs'] = _due_runs(args.due, args.seed)
    Path(args.child_out).write_text(json.dumps(result))


def benchmark(args) -> Any:
    def run(root: Path) -> dict[str, Any]:
        log('baseline: an empty database')
        empty = _one_database(root, None if not args.database_url else args.empty_url,
                              0, args)
        log('%d policies applied to %d vaults' % (args.vaults, args.vaults))
        full = _one_database(root, args.database_url, args.vaults, args)
        ratio = round(full['idle']['median_ms'] / empty['idle']['median_ms'], 2)
        return {'benchmark': 'scheduler_tick', 'date': time.strftime('%Y-%m-%d'),
                'machine': machine(),
                'settings': {'vaults': args.vaults, 'passes': args.passes, 'due': args.due,
                             'database': 'sqlite' if not args.database_url else 'postgresql'},
                'baseline_empty': empty, 'cbr': full, 'tick_ratio_to_empty': ratio,
                'goal': {'tick_ms': GOAL_TICK_MS, 'lateness_p99_s': GOAL_LATENESS_S}}
    return run


def report(result: dict[str, Any]) -> None:
    empty, full = result['baseline_empty']['idle'], result['cbr']['idle']
    print('idle pass, empty database: median %.2f ms, p99 %.2f ms' % (
        empty['median_ms'], empty['p99_ms']))
    print('idle pass, %d vaults: median %.2f ms, p99 %.2f ms (%.2fx the empty database; '
          'goal < %.0f ms: %s)' % (result['cbr']['vaults'], full['median_ms'], full['p99_ms'],
                                   result['tick_ratio_to_empty'], GOAL_TICK_MS,
                                   'met' if full['median_ms'] < GOAL_TICK_MS else 'NOT met'))
    due = result['cbr'].get('due_runs')
    if due:
        print('due runs at real speed: %d of %d fired; lateness median %s s, p99 %s s, '
              'max %s s (goal p99 < %.0f s: %s)' % (
                  due['fired'], due['due'], due['lateness_median_s'], due['lateness_p99_s'],
                  due['lateness_max_s'], GOAL_LATENESS_S, 'met' if met(result) else 'NOT met'))


def met(result: dict[str, Any]) -> bool:
    due = result['cbr'].get('due_runs') or {}
    return (result['cbr']['idle']['median_ms'] < GOAL_TICK_MS
            and due.get('fired') == due.get('due')
            and (due.get('lateness_p99_s') or 0) < GOAL_LATENESS_S)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--vaults', type=int, default=10_000)
    parser.add_argument('--passes', type=int, default=300)
    parser.add_argument('--due', type=int, default=200, help='vaults made due at real speed')
    parser.add_argument('--seed', type=int, default=20261201)
    parser.add_argument('--database-url', help='an empty PostgreSQL database for the vaults')
    parser.add_argument('--empty-url', help='a second empty one, for the baseline')
    parser.add_argument('--output', default=str(Path(__file__).parent / 'results'
                                                / 'scheduler_tick.json'))
    parser.add_argument('--check', action='store_true', help='exit 1 when a goal is not met')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--child-out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return 0
    return run_and_write(benchmark(args), 'cbr-scheduler-bench-', report, args.output, met,
                         args.check)


if __name__ == '__main__':
    sys.exit(main())
