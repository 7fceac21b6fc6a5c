#!/usr/bin/env python3
"""End-to-end throughput of one-off CBR backups of many small disks (accepted →
``available``) against a no-op Celery task on the same broker with the same worker shape,
measured on the same machine in the same run.

A benchmark, not a test: it reports numbers and whether the goal holds (the median
cbr/baseline throughput ratio >= 0.4); ``--check`` makes it exit 1 when it does not. See
docs/benchmarks.md.

What it does:

1. starts cbr-sim with ``devstack/stack.sh`` and ``CBR_WORKERS=--workers`` (2) on a
   private port, Redis database and state folder (``--api-port``, ``--redis-url``,
   ``--state-dir``; by default a folder inside the run's temporary folder, so every run
   starts from the freshly seeded inventory; a given folder keeps its state from one run
   to the next), or uses a running one given by
   ``--credentials`` (its ``cbr.conf`` next to credentials.json gives the broker and the
   worker concurrency);
2. starts ``--workers`` processes of benchmarks/noop_worker.py (``celery worker --pool
   threads --concurrency <cbr-worker's [worker] concurrency> --prefetch-multiplier 1``,
   acks_late, JSON, on the stack's broker with a queue of its own, each in its own
   process group), waits until each is ready and runs a warm-up batch;
3. for every round (``--rounds``, 3), first prepares, untimed, ``--disks`` (500) new
   10 GB disks in the demo project (EVS ``POST /v2.1/{project_id}/cloudvolumes``, 100
   per request), writes 1 MiB of fresh random data at offset 0 of each (admin ``PUT
   /sim/v1/{project_id}/volumes/{id}/data``) and associates them with new disk vaults of
   at most 256 resources each (10 GB of capacity per disk). Every round thus makes the
   first, full backup of disks whose data no vault has seen: nothing is incremental,
   nothing deduplicates, and no deletion of an earlier round's backups runs in the
   background or slows file creation (ext4 holds back recently freed inodes);
4. then measures both, in alternating order (baseline first in odd rounds, cbr first in
   even ones):

   - cbr: one ``POST /v3/{project_id}/checkpoints`` per vault without
     ``parameters.resources`` (a backup of every disk of the vault), sent one after the
     other; t0 when the first is sent. It then polls ``GET /v3/{project_id}/backups
     ?vault_id=...&status=protecting&limit=1`` per vault every 0.2 s until no backup is
     still protecting; t1 when that is first seen. The vaults' full lists must then show
     every backup ``available`` (one ``error`` fails the run). Also recorded: how long the
     checkpoint requests took, each backup's ``protected_at - created_at`` and the spread
     of ``protected_at``;
   - baseline: as many no-op tasks sent with Celery's ``send_task`` in a loop; t0 when
     the first is sent, t1 when the last task's push onto the done list returns from
     BLPOP;

   throughput = tasks / (t1 - t0) for both; the ratio cbr/baseline is taken per round.
   Each run also records the CPU seconds of every process group involved (cbr-api,
   cbr-scheduler, each cbr-worker; each no-op worker) and, from the workers' logs, the
   task messages they ran (``deliveries``: more than the backups when the scheduler's
   outbox sent an operation again), the operations' outcomes, the task times (Celery's
   ``succeeded in``) and their sum over the worker threads' time. Each run ends once the
   logs have been quiet for a second, so no message of one run is left for the next;
5. prints every round and the medians and writes benchmarks/results/backup_throughput.json;
6. stops everything it started, also on error or Ctrl-C: the no-op workers (their process
   groups) and, unless ``--credentials`` was given, ``devstack/unstack.sh`` with the same
   settings. The disks, vaults and backups stay in the stack's state (the temporary
   state folder is removed with the run).

Installs nothing. Needs the project's virtualenv with the test extra
(huaweicloudsdkcore, requests), e.g.::

    .venv/bin/python benchmarks/backup_throughput.py --disks 500 --rounds 3
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
import noop_worker
from common import (CHILD_ENV, REPO, BenchError, Signer, Stack, group_cpu_ticks, log,
                    run_and_write, venv_bin)

BENCH_DIR = REPO / 'benchmarks'
DEFAULT_OUTPUT = BENCH_DIR / 'results' / 'backup_throughput.json'
GOAL_RATIO = 0.4
DISK_GB = 10
DATA_BYTES = 1024 * 1024
DISKS_PER_REQUEST = 100  # EVS accepts count up to 100
VAULT_MAX_RESOURCES = 256  # rule V4
POLL_SECONDS = 0.2
WARMUP_TASKS = 100
TASK_DONE = re.compile(r'Task (\S+)\[[^\]]+\] succeeded in ([\d.e-]+)s')
OUTCOME = re.compile(r'operation \w+ \((\w+)\): (\S+)')  # cbr_worker/tasks.py


# -- HTTP ----------------------------------------------------------------------------------
class Api:
    """Requests signed with one project's AK/SK, over one keep-alive session."""

    def __init__(self, signer: Signer) -> None:
        import requests  # the test extra, like huaweicloudsdkcore
        self.signer = signer
        self.http = requests.Session()

    def call(self, method: str, path: str, *, query: list[tuple[str, Any]] | None = None,
             body: Any = None, data: bytes | None = None,
             expect: int | tuple[int, ...] = 200) -> dict[str, Any]:
        """The JSON body (or {}) of a call that must answer ``expect`` (or one of them)."""
        payload = json.dumps(body).encode() if body is not None else data or b''
        content_type = 'application/octet-stream' if data is not None else 'application/json'
        url, headers = self.signer.sign(method, path, query, payload, content_type)
        response = self.http.request(method, url, headers=headers, data=payload, timeout=120)
        if response.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            raise BenchError('%s %s answered %d (expected %d): %s' % (
                method, path, response.status_code, expect, response.text[:500]))
        return response.json() if response.content else {}


@dataclass
class Demo:
    """The demo project: its API, the admin's (for /sim) and its id."""

    api: Api
    admin: Api
    project_id: str


def demo_project(creds: dict[str, Any], home: str) -> Demo:
    demo = next(p for p in creds['projects'] if p['name'] == 'demo')
    admin = creds['admin']
    return Demo(
        api=Api(Signer(creds['endpoint'], demo['ak'], demo['sk'], demo['id'], home)),
        admin=Api(Signer(creds['endpoint'], admin['ak'], admin['sk'], admin['id'], home)),
        project_id=demo['id'])


def wait_until(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float,
               what: str, interval: float) -> Any:
    """Call ``fetch`` every ``interval`` until ``done`` holds for its result."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise BenchError('%s within %.0f s (last seen: %r)' % (what, timeout, value))
        time.sleep(interval)


# -- the stack -----------------------------------------------------------------------------
def stack_settings(conf: Path) -> dict[str, Any]:
    """The broker URL and cbr-worker's thread count, read with the project's config loader."""
    if not conf.exists():
        raise BenchError('%s not found (it is read for the broker and [worker] concurrency)'
                         % conf)
    code = ('import json, sys; from cbr_common import config; '
            'c = config.load([], config_file=sys.argv[1]); '
            'print(json.dumps({"broker_url": c.messaging.broker_url, '
            '"concurrency": c.worker.concurrency, "batch_size": c.worker.batch_size}))')
    done = subprocess.run([sys.executable, '-c', code, str(conf)], capture_output=True,
                          text=True, env=CHILD_ENV, cwd=REPO)
    if done.returncode != 0:
        raise BenchError('could not read %s: %s' % (conf, done.stderr.strip()))
    return json.loads(done.stdout)


def process_groups(stack_dir: Path) -> dict[str, int]:
    """The process group of every service devstack recorded in ``pids/``, by name."""
    groups = {}
    for pid_file in sorted((stack_dir / 'pids').glob('*.pid')):
        try:
            pid = int(pid_file.read_text().split()[0])
            with open('/proc/%d/stat' % pid) as stat:
                groups[pid_file.stem] = int(stat.read().rsplit(')', 1)[1].split()[2])
        except (OSError, ValueError, IndexError):
            continue
    return groups


class Meter:
    """CPU seconds of some process groups and the task times their logs gained, over one
    measured run."""

    def __init__(self, groups: dict[str, int], logs: list[Path], task: str) -> None:
        self.groups, self.logs, self.task = groups, logs, task
        self._ticks: dict[str, dict[int, int]] = {}
        self._offsets: dict[Path, int] = {}

    def start(self) -> None:
        self._ticks = {name: group_cpu_ticks(pgid) or {} for name, pgid in self.groups.items()}
        self._offsets = {path: path.stat().st_size if path.exists() else 0
                         for path in self.logs}

    def cpu_seconds(self) -> dict[str, float]:
        hz = os.sysconf('SC_CLK_TCK')
        used = {}
        for name, pgid in self.groups.items():
            before, after = self._ticks.get(name, {}), group_cpu_ticks(pgid) or {}
            used[name] = round(sum(t - before.get(pid, 0) for pid, t in after.items()) / hz, 2)
        return used

    def tasks(self, quiet: float = 1.0, wait: float = 15.0) -> tuple[list[float], Counter]:
        """The times of the tasks the logs gained since ``start`` and the operation outcomes
        (cbr-worker's ``job type: outcome``), read once no task has been logged for
        ``quiet`` seconds (at most ``wait``): messages sent twice may still be draining."""
        deadline = time.monotonic() + wait
        times, outcomes = self._logged()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            again = self._logged()
            if len(again[0]) == len(times):
                break
            times, outcomes = again
        return times, outcomes

    def _logged(self) -> tuple[list[float], Counter]:
        times: list[float] = []
        outcomes: Counter = Counter()
        for path in self.logs:
            with open(path, 'rb') as log_file:
                log_file.seek(self._offsets.get(path, 0))
                text = log_file.read().decode(errors='replace')
            times += [float(m.group(2)) for m in TASK_DONE.finditer(text)
                      if m.group(1) == self.task]
            outcomes.update('%s: %s' % m.groups() for m in OUTCOME.finditer(text))
        return times, outcomes


def task_summary(meter: Meter, wall: float, threads: int) -> dict[str, Any]:
    """How many task messages the workers ran, their outcomes, the median, p90 and sum of
    their logged times, and the share of the worker threads' time those filled."""
    times, outcomes = meter.tasks()
    if not times:
        return {'deliveries': 0, 'outcomes': dict(outcomes)}
    ordered = sorted(times)
    return {'deliveries': len(times), 'outcomes': dict(outcomes),
            'median_s': round(statistics.median(ordered), 4),
            'p90_s': round(ordered[int(0.9 * (len(ordered) - 1))], 4),
            'sum_s': round(sum(times), 2),
            'busy_share': round(sum(times) / (wall * threads), 3)}


# -- preparing the disks and vaults (not timed) ---------------------------------------------
def wait_job(demo: Demo, job_id: str, timeout: float) -> None:
    job = wait_until(lambda: demo.api.call('GET', '/v1/%s/jobs/%s' % (demo.project_id, job_id)),
                     lambda body: body.get('status') in ('SUCCESS', 'FAIL'), timeout,
                     'job %s did not finish' % job_id, 0.2)
    if job['status'] != 'SUCCESS':
        raise BenchError('job %s failed: %s' % (job_id, job))


def create_disks(demo: Demo, count: int) -> list[str]:
    """``count`` new 10 GB disks, available."""
    disks: list[str] = []
    while len(disks) < count:
        body = demo.api.call('POST', '/v2.1/%s/cloudvolumes' % demo.project_id, body={
            'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': DISK_GB,
                       'name': 'bench-disk',
                       'count': min(DISKS_PER_REQUEST, count - len(disks))}})
        wait_job(demo, body['job_id'], 300)
        disks += body['volume_ids']
    return disks


def write_data(demo: Demo, disks: list[str]) -> None:
    """1 MiB of fresh random bytes at offset 0 of every disk."""
    for disk in disks:
        demo.admin.call('PUT', '/sim/v1/%s/volumes/%s/data' % (demo.project_id, disk),
                        query=[('offset', 0)], data=os.urandom(DATA_BYTES), expect=204)


def create_vaults(demo: Demo, disks: list[str], label: str) -> dict[str, list[str]]:
    """Disk vaults holding ``disks``, as evenly as at most 256 per vault allows; their
    disks by vault id."""
    count = math.ceil(len(disks) / VAULT_MAX_RESOURCES)
    vaults = {}
    for index in range(count):
        members = disks[index::count]
        body = demo.api.call('POST', '/v3/%s/vaults' % demo.project_id, body={'vault': {
            'name': 'bench-%s-%d' % (label, index + 1),
            'billing': {'consistent_level': 'crash_consistent', 'object_type': 'disk',
                        'protect_type': 'backup', 'size': DISK_GB * len(members)},
            'resources': [{'id': disk, 'type': 'OS::Cinder::Volume'} for disk in members]}})
        vaults[body['vault']['id']] = members
    return vaults


def prepare(demo: Demo, disks: int, label: str) -> dict[str, list[str]]:
    started = time.monotonic()
    created = create_disks(demo, disks)
    write_data(demo, created)
    vaults = create_vaults(demo, created, label)
    log('prepared %d disks with 1 MiB of random data each in %d vaults (%.1f s)'
        % (len(created), len(vaults), time.monotonic() - started))
    return vaults


# -- the cbr run ---------------------------------------------------------------------------
def protecting(demo: Demo, vaults: dict[str, list[str]]) -> int:
    """Backups of the vaults still being made."""
    return sum(demo.api.call('GET', '/v3/%s/backups' % demo.project_id, query=[
        ('limit', 1), ('status', 'protecting'), ('vault_id', vault)])['count']
        for vault in vaults)


def vault_backups(demo: Demo, vaults: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [backup for vault in vaults
            for backup in demo.api.call('GET', '/v3/%s/backups' % demo.project_id,
                                        query=[('limit', 1000),
                                               ('vault_id', vault)])['backups']]


def submit_checkpoints(demo: Demo, vaults: dict[str, list[str]]) -> None:
    """One checkpoint per vault, each backing up all of the vault's disks."""
    for vault, disks in vaults.items():
        checkpoint = demo.api.call('POST', '/v3/%s/checkpoints' % demo.project_id,
                                   body={'checkpoint': {'vault_id': vault}})['checkpoint']
        accepted = len(checkpoint['vault']['resources'])
        if accepted != len(disks) or checkpoint['vault']['skipped_resources']:
            raise BenchError('the checkpoint of vault %s accepted %d of %d disks: %s' % (
                vault, accepted, len(disks), checkpoint['vault']['skipped_resources'][:3]))


def backup_times(backups: list[dict[str, Any]]) -> dict[str, float]:
    """Spread of ``protected_at - created_at`` over the backups, and of ``protected_at``."""
    created = [dt.datetime.fromisoformat(b['created_at']) for b in backups]
    protected = [dt.datetime.fromisoformat(b['protected_at']) for b in backups]
    made = sorted((end - start).total_seconds() for start, end in zip(created, protected))
    return {'min_s': round(made[0], 3), 'median_s': round(statistics.median(made), 3),
            'max_s': round(made[-1], 3),
            'protected_at_span_s': round((max(protected) - min(protected)).total_seconds(), 3)}


def run_cbr(demo: Demo, vaults: dict[str, list[str]], meter: Meter,
            timeout: float, threads: int) -> dict[str, Any]:
    total = sum(len(disks) for disks in vaults.values())
    meter.start()
    t0 = time.monotonic()
    submit_checkpoints(demo, vaults)
    accepted = time.monotonic() - t0
    wait_until(lambda: protecting(demo, vaults), lambda left: left == 0, timeout,
               'the backups did not finish', POLL_SECONDS)
    seconds = time.monotonic() - t0
    cpu = meter.cpu_seconds()
    backups = vault_backups(demo, vaults)
    failed = [b for b in backups if b['status'] != 'available']
    if len(backups) != total or failed:
        raise BenchError('%d backups listed for %d disks; not available: %s' % (
            len(backups), total, [(b['id'], b['status']) for b in failed[:5]]))
    return {'backups': total, 'seconds': round(seconds, 3),
            'per_second': round(total / seconds, 2), 'accept_seconds': round(accepted, 3),
            'backup_times': backup_times(backups), 'cpu_seconds': cpu,
            'jobs': task_summary(meter, seconds, threads),
            'loadavg_1m_after': round(os.getloadavg()[0], 2)}


# -- the baseline ----------------------------------------------------------------------------
class NoopWorkers:
    """``count`` processes of benchmarks/noop_worker.py, each in a process group of its own."""

    def __init__(self, count: int, concurrency: int, broker_url: str, log_dir: Path) -> None:
        self.count, self.concurrency, self.broker_url = count, concurrency, broker_url
        self.queue = '%s-%s' % (noop_worker.DEFAULT_QUEUE, uuid.uuid4().hex[:8])
        self.logs = [log_dir / ('noop-worker-%d.log' % i) for i in range(1, count + 1)]
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        env = dict(CHILD_ENV, **{noop_worker.BROKER_ENV: self.broker_url,
                                 noop_worker.QUEUE_ENV: self.queue})
        log('starting %d no-op Celery workers: --pool threads --concurrency %d, queue %s'
            % (self.count, self.concurrency, self.queue))
        for index, log_path in enumerate(self.logs, 1):
            command = [venv_bin('celery'), '-A', 'noop_worker', 'worker', '--pool', 'threads',
                       '--concurrency', str(self.concurrency), '--prefetch-multiplier', '1',
                       '--queues', self.queue, '--hostname', 'noop-%d@%%h' % index,
                       '--without-gossip', '--without-mingle', '--without-heartbeat',
                       '--loglevel', 'INFO']
            with open(log_path, 'wb') as out:
                self.processes.append(subprocess.Popen(
                    command, env=env, cwd=BENCH_DIR, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True))
        for process, log_path in zip(self.processes, self.logs):
            wait_until(lambda p=log_path: p.read_text(errors='replace'),
                       lambda text, p=process: ' ready.' in text or p.poll() is not None, 60,
                       'the no-op worker did not log "ready."', 0.2)
            if process.poll() is not None:
                raise BenchError('a no-op worker exited with %s; see %s'
                                 % (process.returncode, log_path))

    def groups(self) -> dict[str, int]:
        return {'noop-%d' % i: p.pid for i, p in enumerate(self.processes, 1)}

    def stop(self) -> None:
        processes, self.processes = self.processes, []
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if processes:
            log('stopped the no-op workers')


class NoopSender:
    """Sends batches of no-op tasks and waits for the last one, through the same broker."""

    def __init__(self, broker_url: str, queue: str) -> None:
        import redis
        self.app = noop_worker.build_app(broker_url, queue)
        self.redis = redis.Redis.from_url(broker_url)

    def batch(self, count: int, timeout: float) -> tuple[float, float]:
        """Send ``count`` tasks; (seconds until the last is done, seconds spent sending)."""
        counter = 'cbr-bench-noop:%s' % uuid.uuid4().hex
        try:
            t0 = time.monotonic()
            for _ in range(count):
                self.app.send_task(noop_worker.TASK_NAME, args=[counter, count])
            sent = time.monotonic() - t0
            if self.redis.blpop([noop_worker.done_key(counter)], timeout=timeout) is None:
                raise BenchError('%d no-op tasks did not finish within %.0f s (%s done)' % (
                    count, timeout, self.redis.get(counter)))
            return time.monotonic() - t0, sent
        finally:
            self.redis.delete(counter, noop_worker.done_key(counter))


def run_baseline(sender: NoopSender, tasks: int, meter: Meter, timeout: float,
                 threads: int) -> dict[str, Any]:
    meter.start()
    seconds, sent = sender.batch(tasks, timeout)
    cpu = meter.cpu_seconds()
    return {'tasks': tasks, 'seconds': round(seconds, 3),
            'per_second': round(tasks / seconds, 2), 'send_seconds': round(sent, 3),
            'cpu_seconds': cpu, 'jobs': task_summary(meter, seconds, threads),
            'loadavg_1m_after': round(os.getloadavg()[0], 2)}


# -- the benchmark ---------------------------------------------------------------------------
def cbr_meter(stack_dir: Path, workers: int) -> Meter:
    """A meter of the stack's processes and its workers' logs."""
    groups = process_groups(stack_dir)
    running = sum(name.startswith('worker-') for name in groups)
    if running != workers:
        log('WARNING: the stack runs %d cbr-worker processes, the baseline %d (--workers)'
            % (running, workers))
    return Meter(groups, sorted((stack_dir / 'logs').glob('worker-*.log')),
                 'cbr.backup.run_operation')


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    if args.state_dir is None:
        args.state_dir = str(workdir / 'stack')
    extra = {'CBR_WORKERS': str(args.workers)}
    if args.batch_size is not None:
        extra['CBR_WORKER_BATCH_SIZE'] = str(args.batch_size)
    stack = Stack(args, workdir, extra)
    workers: NoopWorkers | None = None
    try:
        credentials = Path(args.credentials) if args.credentials else stack.start()
        settings = stack_settings(credentials.parent / 'cbr.conf')
        demo = demo_project(json.loads(credentials.read_text()), str(workdir / 'home'))
        workers = NoopWorkers(args.workers, settings['concurrency'], settings['broker_url'],
                              workdir)
        workers.start()
        sender = NoopSender(settings['broker_url'], workers.queue)
        sender.batch(WARMUP_TASKS, args.timeout)
        threads = args.workers * settings['concurrency']
        meters = {'cbr': cbr_meter(credentials.parent, args.workers),
                  'baseline': Meter(workers.groups(), workers.logs, noop_worker.TASK_NAME)}
        log('%d workers x %d threads each; broker %s'
            % (args.workers, settings['concurrency'], settings['broker_url']))
        rounds = []
        for number in range(1, args.rounds + 1):
            vaults = prepare(demo, args.disks, 'r%d-%s' % (number, uuid.uuid4().hex[:6]))
            order = ('baseline', 'cbr') if number % 2 else ('cbr', 'baseline')
            runs: dict[str, dict[str, Any]] = {}
            for name in order:
                log('round %d/%d: %s, %d %s' % (number, args.rounds, name, args.disks,
                                                'tasks' if name == 'baseline' else 'backups'))
                runs[name] = (run_baseline(sender, args.disks, meters[name], args.timeout,
                                           threads) if name == 'baseline' else
                              run_cbr(demo, vaults, meters[name], args.timeout, threads))
                log('  %.2f per second (%.2f s)' % (runs[name]['per_second'],
                                                    runs[name]['seconds']))
            rounds.append({'round': number, 'order': list(order), 'vaults': len(vaults),
                           **runs, 'ratio': round(runs['cbr']['per_second']
                                                  / runs['baseline']['per_second'], 4)})
    finally:
        if workers is not None:
            workers.stop()
        stack.stop()
    return summary(args, settings, rounds)


def summary(args: argparse.Namespace, settings: dict[str, Any],
            rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The result file's contents."""
    median_ratio = statistics.median(r['ratio'] for r in rounds)
    return {
        'benchmark': 'one-off CBR backups of small disks (accepted -> available) vs a no-op '
                     'Celery task on the same broker and workers',
        'date': dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'machine': dict(MACHINE, loadavg_at_end=[round(x, 2) for x in os.getloadavg()]),
        'settings': {'disks': args.disks, 'disk_gb': DISK_GB, 'data_bytes': DATA_BYTES,
                     'vault_max_resources': VAULT_MAX_RESOURCES, 'rounds': args.rounds,
                     'workers': args.workers, 'worker_concurrency': settings['concurrency'],
                     'worker_batch_size': settings['batch_size'],
                     'broker_url': settings['broker_url'], 'poll_seconds': POLL_SECONDS,
                     'each_round': 'new disks with fresh random data and new vaults',
                     'cbr_sim': 'reused %s' % args.credentials if args.credentials
                     else 'devstack/stack.sh', 'database': 'as configured' if args.credentials
                     else 'sqlite (devstack default)'},
        'rounds': rounds,
        'median': {'baseline_per_second': round(statistics.median(
                       r['baseline']['per_second'] for r in rounds), 2),
                   'cbr_per_second': round(statistics.median(
                       r['cbr']['per_second'] for r in rounds), 2),
                   'ratio': round(median_ratio, 4)},
        'goal': {'ratio_at_least': GOAL_RATIO, 'met': median_ratio >= GOAL_RATIO},
    }


def fmt_row(cells: list[str], widths: list[int]) -> str:
    return '  '.join(cell.rjust(width) for cell, width in zip(cells, widths))


def report(result: dict[str, Any]) -> None:
    widths = [5, 8, 8, 9, 7, 8, 12, 10, 5]
    print()
    print(fmt_row(['round', 'first', 'noop/s', 'backups/s', 'ratio', 'accept s',
                   'backup p50 s', 'deliveries', 'busy'], widths))
    for r in result['rounds']:
        cbr = r['cbr']
        print(fmt_row([str(r['round']), r['order'][0], '%.1f' % r['baseline']['per_second'],
                       '%.2f' % cbr['per_second'], '%.4f' % r['ratio'],
                       '%.2f' % cbr['accept_seconds'], '%.2f' % cbr['backup_times']['median_s'],
                       str(cbr['jobs']['deliveries']),
                       '%.2f' % cbr['jobs'].get('busy_share', 0)], widths))
    m = result['median']
    print()
    print('deliveries: backup task messages the cbr-workers ran (more than the backups when '
          'the scheduler re-sent operations)')
    print('median: no-op %.1f tasks/s, cbr %.2f backups/s, ratio %.4f (goal >= %.2f: %s)'
          % (m['baseline_per_second'], m['cbr_per_second'], m['ratio'], GOAL_RATIO,
             'met' if result['goal']['met'] else 'NOT met'))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--disks', type=int, default=500,
                        help='disks backed up per round, and no-op tasks (default: %(default)s)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='baseline/cbr pairs, order alternating (default: %(default)s)')
    parser.add_argument('--workers', type=int, default=2,
                        help='CBR_WORKERS for stack.sh and no-op worker processes '
                             '(default: %(default)s)')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='CBR_WORKER_BATCH_SIZE for stack.sh: most disk backups per task '
                             'message (default: [worker] batch_size)')
    parser.add_argument('--timeout', type=float, default=900,
                        help='seconds one run may take (default: %(default)s)')
    parser.add_argument('--credentials',
                        help='credentials.json of a running cbr-sim to use instead of '
                             'starting one (it is then left running)')
    parser.add_argument('--api-port', type=int, default=18801, help='CBR_API_PORT for stack.sh')
    parser.add_argument('--state-dir',
                        help='CBR_STATE_DIR for stack.sh (default: a folder in the run\'s '
                             'temporary folder, removed at the end)')
    parser.add_argument('--redis-url', default='redis://127.0.0.1:6379/15',
                        help='CBR_REDIS_URL for stack.sh (default: %(default)s)')
    parser.add_argument('--output', default=str(DEFAULT_OUTPUT),
                        help='JSON result file (default: %(default)s)')
    parser.add_argument('--check', action='store_true', help='exit 1 when the goal is not met')
    args = parser.parse_args(argv)
    for name in ('disks', 'rounds', 'workers'):
        if getattr(args, name) < 1:
            parser.error('--%s must be at least 1' % name)
    return args


MACHINE: dict[str, Any] = {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    MACHINE.update(common.machine())
    return run_and_write(lambda workdir: benchmark(args, workdir), 'cbr-backup-bench-', report,
                         args.output, lambda result: result['goal']['met'], args.check)


if __name__ == '__main__':
    sys.exit(main())
