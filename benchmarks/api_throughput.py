#!/usr/bin/env python3
"""Throughput of a signed cbr-api list, ``GET /v2/{project_id}/cloudvolumes/detail``
(``--target disks``, the default) or ``GET /v3/{project_id}/vaults`` with 100 vaults
(``--target vaults``), against a bare Flask+gunicorn JSON endpoint returning items of the
same shape, measured on the same machine in the same run.

A benchmark, not a test: it reports numbers and whether the goal holds (the median
cbr/baseline requests-per-second ratio >= 0.5, the median p99 latency of cbr-api < 25 ms);
``--check`` makes it exit 1 when the goal does not hold. See docs/benchmarks.md.

What it does:

1. starts cbr-sim with ``devstack/stack.sh`` on a private port, state folder and Redis
   database (``--api-port``, ``--state-dir``, ``--redis-url``), or uses a running one
   given by ``--credentials`` (its ``cbr.conf`` next to credentials.json gives the
   workers and threads; else ``--api-workers`` / ``--api-threads``);
2. starts benchmarks/baseline_app.py under gunicorn on a free port with the worker class,
   workers, threads and keep-alive of cbr-api (gthread), returning as many disk-shaped
   items as the demo project has disks, so both bodies are about the same size;
3. warms both up, then runs ``wrk -t2 -c16 -d20s --latency`` against each, alternating the
   order (baseline first in odd rounds, cbr first in even ones); every cbr run replays
   headers signed with huaweicloudsdkcore's Signer just before it (a signature is valid
   for 15 minutes), added by a small Lua script.
   Each run also records the server's CPU time per request (all processes of its gunicorn
   process group, from /proc) and how that CPU split over the gunicorn workers. wrk's 16
   keep-alive connections stay on the worker that accepted them, and now and then one
   worker accepts all of them, which halves the throughput of that run whatever the code
   does; such a run (one worker above 1.5x its fair share) is repeated up to ``--retries``
   times and the set-aside runs are kept in the JSON file;
4. prints requests/s, latency percentiles and CPU per request of every run, the
   cbr/baseline ratio per round and the medians, and writes
   benchmarks/results/api_throughput.json;
5. stops everything it started, also on error or Ctrl-C: the baseline gunicorn (its
   process group) and, unless ``--credentials`` was given, ``devstack/unstack.sh`` with
   the same settings.

Installs nothing. wrk comes from apt: ``apt-get install -y wrk``. Needs the project's
virtualenv with the test extra (huaweicloudsdkcore), e.g.::

    .venv/bin/python benchmarks/api_throughput.py --duration 20 --connections 16
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
from common import (CHILD_ENV, REPO, BenchError, Signer, Stack, group_cpu_ticks, log,
                    run_and_write, venv_bin)

BENCH_DIR = REPO / 'benchmarks'
DEFAULT_OUTPUT = BENCH_DIR / 'results' / 'api_throughput.json'
GOAL_RATIO = 0.5
GOAL_P99_MS = 25.0
KEEPALIVE = 30  # cbr_api/cmd.py sets gunicorn's keepalive to 30 s; the baseline uses the same


# -- small helpers -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def http_get(url: str, headers: dict[str, str] | None = None,
             timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BenchError('the process serving %s exited with %s' % (url, process.returncode))
        try:
            status, _ = http_get(url, timeout=2)
            if status == 200:
                return
            last = status
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise BenchError('%s did not answer 200 within %.0f s (last: %s)' % (url, timeout, last))


def machine() -> dict[str, Any]:
    wrk_version = subprocess.run(['wrk', '--version'], capture_output=True, text=True,
                                 env=CHILD_ENV).stdout.splitlines()
    return {**common.machine(), 'wrk': wrk_version[0].strip() if wrk_version else ''}


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def lua_headers(headers: dict[str, str]) -> str:
    """A wrk script that sends these headers with every request."""
    lines = ['-- written by benchmarks/api_throughput.py']
    for name, value in headers.items():
        lines.append('wrk.headers[%s] = %s' % (json.dumps(name), json.dumps(value)))
    return '\n'.join(lines) + '\n'


# -- wrk ---------------------------------------------------------------------------------------
_UNITS_MS = {'us': 0.001, 'ms': 1.0, 's': 1000.0, 'm': 60000.0, 'h': 3600000.0}


def _ms(number: str, unit: str) -> float:
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, latency percentiles (ms), request count and errors of one wrk run."""
    rps = re.search(r'^Requests/sec:\s+([\d.]+)', output, re.M)
    if rps is None:
        raise BenchError('could not read Requests/sec from wrk output:\n' + output)
    result: dict[str, Any] = {'rps': round(float(rps.group(1)), 1)}
    for pct in ('50', '75', '90', '99'):
        match = re.search(r'^\s+%s%%\s+([\d.]+)(us|ms|s|m|h)\s*$' % pct, output, re.M)
        if match is None:
            raise BenchError('could not read the %s%% latency from wrk output (--latency?):\n'
                             % pct + output)
        result['p%s_ms' % pct] = round(_ms(*match.groups()), 2)
    total = re.search(r'^\s+(\d+) requests in ([\d.]+)(us|ms|s|m|h)', output, re.M)
    result['requests'] = int(total.group(1)) if total else None
    non2xx = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', output)
    result['non_2xx'] = int(non2xx.group(1)) if non2xx else 0
    sock = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)',
                     output)
    result['socket_errors'] = sum(int(x) for x in sock.groups()) if sock else 0
    return result


def run_wrk(url: str, args: argparse.Namespace, duration: int,
            script: Path | None = None, pgid: int | None = None) -> dict[str, Any]:
    """One wrk run; with ``pgid``, also the server's CPU milliseconds per request."""
    command = ['wrk', '-t%d' % args.threads, '-c%d' % args.connections, '-d%ds' % duration,
               '--latency', '--timeout', '5s']
    if script is not None:
        command += ['-s', str(script)]
    command.append(url)
    before = group_cpu_ticks(pgid)
    done = subprocess.run(command, capture_output=True, text=True, env=CHILD_ENV,
                          timeout=duration + 60)
    after = group_cpu_ticks(pgid)
    if done.returncode != 0:
        raise BenchError('wrk failed (exit %d): %s' % (done.returncode, done.stderr.strip()))
    result = parse_wrk(done.stdout)
    result['server_cpu_ms_per_request'] = None
    result['worker_cpu_shares'] = None
    if before is not None and after is not None and result['requests']:
        used = {pid: ticks - before.get(pid, 0) for pid, ticks in after.items()}
        total = sum(used.values())
        result['server_cpu_ms_per_request'] = round(
            total / os.sysconf('SC_CLK_TCK') * 1000 / result['requests'], 3)
        # How the work split over the gunicorn processes (the master's share is ~0): wrk's
        # keep-alive connections stay with the worker that accepted them for the whole run.
        if total:
            result['worker_cpu_shares'] = sorted((round(t / total, 2) for t in used.values()
                                                  if t / total >= 0.01), reverse=True)
    result['loadavg_1m_after'] = (_loadavg() or [None])[0]
    return result


# -- the two servers ----------------------------------------------------------------------------
class Baseline:
    """benchmarks/baseline_app.py under gunicorn, in a process group of its own."""

    def __init__(self, workers: int, threads: int, items: int, log_dir: Path,
                 route: str = 'volumes') -> None:
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d/%s' % (self.port, route)
        self.workers, self.threads, self.items = workers, threads, items
        self.log_file = log_dir / 'baseline.log'
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [venv_bin('gunicorn'), '--worker-class', 'gthread',
                   '--workers', str(self.workers), '--threads', str(self.threads),
                   '--keep-alive', str(KEEPALIVE), '--timeout', '120',
                   '--bind', '127.0.0.1:%d' % self.port, '--log-level', 'warning',
                   '--chdir', str(BENCH_DIR), 'baseline_app:app']
        env = dict(CHILD_ENV, CBR_BENCH_BASELINE_ITEMS=str(self.items))
        log('starting the baseline: gunicorn gthread, %d workers x %d threads on port %d'
            % (self.workers, self.threads, self.port))
        with open(self.log_file, 'wb') as out:
            self.process = subprocess.Popen(command, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        wait_http(self.url, 30, self.process)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        log('stopping the baseline (pid %d)' % process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        # gunicorn's workers are in the same process group; make sure none is left.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def api_process_group(credentials: Path) -> int | None:
    """cbr-api's process group from devstack's pid file next to credentials.json, if any."""
    try:
        pid = int((credentials.parent / 'pids' / 'api.pid').read_text().split()[0])
        with open('/proc/%d/stat' % pid) as stat:
            return int(stat.read().rsplit(')', 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return None


def api_settings(credentials: Path, args: argparse.Namespace) -> dict[str, int]:
    """cbr-api's gunicorn workers and threads, read with the project's own config loader."""
    conf = credentials.parent / 'cbr.conf'
    if args.api_workers and args.api_threads:
        return {'workers': args.api_workers, 'threads': args.api_threads}
    if not conf.exists():
        if args.credentials:
            raise BenchError('%s not found: give --api-workers and --api-threads of the '
                             'running cbr-api' % conf)
        raise BenchError('stack.sh wrote no %s' % conf)
    code = ('import sys; from cbr_common import config; '
            'c = config.load([], config_file=sys.argv[1]); print(c.api.workers, c.api.threads)')
    done = subprocess.run([sys.executable, '-c', code, str(conf)], capture_output=True,
                          text=True, env=CHILD_ENV, cwd=REPO)
    if done.returncode != 0:
        raise BenchError('could not read [api] from %s: %s' % (conf, done.stderr.strip()))
    workers, threads = (int(x) for x in done.stdout.split())
    return {'workers': args.api_workers or workers, 'threads': args.api_threads or threads}


# -- the benchmark ------------------------------------------------------------------------------
def unbalanced_above(workers: int) -> float | None:
    """The CPU share of one gunicorn worker above which a run counts as unbalanced: more
    than 1.5 times its fair share (0.75 with two workers); None with a single worker."""
    return 1.5 / workers if workers > 1 else None


def fmt_row(cells: list[str], widths: list[int]) -> str:
    return '  '.join(cell.rjust(width) for cell, width in zip(cells, widths))


@dataclass(frozen=True)
class Target:
    """A list endpoint of cbr-api to measure and the baseline route shaped like it."""

    path: str  # with %s for the project id
    baseline_route: str
    output: Path


TARGETS = {
    'disks': Target('/v2/%s/cloudvolumes/detail', 'volumes', DEFAULT_OUTPUT),
    'vaults': Target('/v3/%s/vaults', 'vaults',
                     BENCH_DIR / 'results' / 'api_throughput_vaults.json'),
}


def make_vaults(signer: Signer, count: int) -> None:
    """Disk vaults in the demo project, made through the signed CBR v3 API, until it has
    ``count`` (a reused state folder may have some already)."""
    path = '/v3/%s/vaults' % signer.project_id
    status, body = http_get(*signer.sign('GET', path))
    if status != 200:
        raise BenchError('signed GET %s answered %d' % (path, status))
    for index in range(json.loads(body)['count'], count):
        body = json.dumps({'vault': {
            'name': 'bench-%03d' % index, 'resources': [],
            'billing': {'consistent_level': 'crash_consistent', 'object_type': 'disk',
                        'protect_type': 'backup', 'size': 100}}})
        url, headers = signer.sign('POST', path, body=body)
        request = urllib.request.Request(url, data=body.encode(), headers=headers,
                                         method='POST')
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 200:
                raise BenchError('creating vault %d answered %d' % (index, response.status))
    log('the demo project has %d vaults' % count)


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    stack = Stack(args, workdir)
    baseline: Baseline | None = None
    try:
        credentials_path = Path(args.credentials) if args.credentials else stack.start()
        creds = json.loads(credentials_path.read_text())
        demo = creds['projects'][0]
        settings = api_settings(credentials_path, args)
        cbr_pgid = api_process_group(credentials_path)
        signer = Signer(creds['endpoint'], demo['ak'], demo['sk'], demo['id'],
                        str(workdir / 'home'))
        target = TARGETS[args.target]
        path = target.path % demo['id']
        if args.target == 'vaults':
            make_vaults(signer, args.vaults)

        def cbr_script() -> tuple[str, Path]:
            url, headers = signer.sign('GET', path)
            script = workdir / 'cbr_headers.lua'
            script.write_text(lua_headers(headers))
            return url, script

        url, script = cbr_script()
        status, body = http_get(url, dict(signer.sign('GET', path)[1]))
        if status != 200:
            raise BenchError('signed GET %s answered %d: %s' % (url, status, body[:300]))
        items = json.loads(body)['count']
        log('cbr-api answers: %d %s, %d bytes; gunicorn gthread %d workers x %d threads'
            % (items, args.target, len(body), settings['workers'], settings['threads']))

        baseline = Baseline(settings['workers'], settings['threads'], items, workdir,
                            target.baseline_route)
        baseline.start()
        _, baseline_body = http_get(baseline.url)

        log('warming up: %d s each' % args.warmup)
        run_wrk(baseline.url, args, args.warmup)
        url, script = cbr_script()
        run_wrk(url, args, args.warmup, script)
        baseline_pgid = baseline.process.pid if baseline.process else None

        limit = unbalanced_above(settings['workers'])

        def measure(name: str) -> dict[str, Any]:
            """One wrk run against ``name``, repeated (up to --retries times) while a single
            gunicorn worker did nearly all of the work; the set-aside runs are kept."""
            set_aside: list[dict[str, Any]] = []
            for attempt in range(args.retries + 1):
                log('round %d/%d: %s, wrk -t%d -c%d -d%ds%s' % (
                    number, args.rounds, name, args.threads, args.connections, args.duration,
                    ' (again)' if attempt else ''))
                if name == 'baseline':
                    run = run_wrk(baseline.url, args, args.duration, pgid=baseline_pgid)
                else:
                    url, script = cbr_script()  # a fresh X-Sdk-Date for every run
                    run = run_wrk(url, args, args.duration, script, pgid=cbr_pgid)
                shares = run['worker_cpu_shares']
                run['unbalanced'] = bool(limit and shares and shares[0] > limit)
                if not run['unbalanced']:
                    break
                log('WARNING: one %s worker did %.0f%% of the work (wrk\'s keep-alive '
                    'connections landed on one worker)' % (name, 100 * shares[0]))
                if attempt < args.retries:
                    set_aside.append(run)
            if set_aside:
                run['set_aside_unbalanced_runs'] = set_aside
            return run

        rounds = []
        for number in range(1, args.rounds + 1):
            order = ('baseline', 'cbr') if number % 2 else ('cbr', 'baseline')
            runs: dict[str, Any] = {}
            for name in order:
                runs[name] = measure(name)
                if runs[name]['non_2xx'] or runs[name]['socket_errors']:
                    log('WARNING: %s had %d non-2xx responses and %d socket errors'
                        % (name, runs[name]['non_2xx'], runs[name]['socket_errors']))
            ratio = runs['cbr']['rps'] / runs['baseline']['rps'] if runs['baseline']['rps'] else 0
            rounds.append({'round': number, 'order': list(order), 'baseline': runs['baseline'],
                           'cbr': runs['cbr'], 'ratio': round(ratio, 3)})
    finally:
        if baseline is not None:
            baseline.stop()
        stack.stop()

    median_ratio = statistics.median(r['ratio'] for r in rounds)
    median_p99 = statistics.median(r['cbr']['p99_ms'] for r in rounds)
    clean = all(not (r[n]['non_2xx'] or r[n]['socket_errors'])
                for r in rounds for n in ('baseline', 'cbr'))
    return {
        'benchmark': 'signed GET %s vs bare Flask+gunicorn' % (target.path % '{project_id}'),
        'date': dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'machine': dict(MACHINE, loadavg_at_end=_loadavg()),
        'settings': {'wrk': 'wrk -t%d -c%d -d%ds --latency' % (args.threads, args.connections,
                                                              args.duration),
                     'rounds': args.rounds, 'warmup_s': args.warmup,
                     'gunicorn': {'worker_class': 'gthread', 'workers': settings['workers'],
                                  'threads': settings['threads'], 'keepalive': KEEPALIVE},
                     'cbr_sim': 'reused %s' % args.credentials if args.credentials
                     else 'devstack/stack.sh', 'database': 'sqlite (devstack default)'
                     if not args.credentials else 'as configured'},
        'response_bytes': {'cbr': len(body), 'baseline': len(baseline_body),
                           args.target: items},
        'unbalanced_runs': {
            'set_aside': sum(len(r[n].get('set_aside_unbalanced_runs', ()))
                             for r in rounds for n in ('baseline', 'cbr')),
            'kept': sum(bool(r[n]['unbalanced']) for r in rounds for n in ('baseline', 'cbr')),
            'rule': 'one gunicorn worker used more than %s of the server CPU of the run'
                    % (('%.2f' % limit) if limit else 'n/a')},
        'rounds': rounds,
        'median': {'baseline_rps': round(statistics.median(r['baseline']['rps']
                                                           for r in rounds), 1),
                   'cbr_rps': round(statistics.median(r['cbr']['rps'] for r in rounds), 1),
                   'ratio': round(median_ratio, 3), 'cbr_p99_ms': median_p99,
                   'baseline_p99_ms': statistics.median(r['baseline']['p99_ms'] for r in rounds),
                   'baseline_cpu_ms_per_request': _median_of(rounds, 'baseline'),
                   'cbr_cpu_ms_per_request': _median_of(rounds, 'cbr')},
        'goal': {'ratio_at_least': GOAL_RATIO, 'cbr_p99_ms_under': GOAL_P99_MS,
                 'ratio_met': median_ratio >= GOAL_RATIO, 'p99_met': median_p99 < GOAL_P99_MS,
                 'all_responses_2xx': clean,
                 'met': median_ratio >= GOAL_RATIO and median_p99 < GOAL_P99_MS and clean},
    }


def _median_of(rounds: list[dict[str, Any]], name: str) -> float | None:
    values = [r[name]['server_cpu_ms_per_request'] for r in rounds
              if r[name]['server_cpu_ms_per_request'] is not None]
    return round(statistics.median(values), 3) if values else None


def report(result: dict[str, Any]) -> None:
    widths = [5, 8, 10, 8, 8, 8, 10, 14, 6, 6]
    print()
    print(fmt_row(['round', 'server', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'cpu ms/req',
                   'worker split', 'errors', 'ratio'], widths))
    for r in result['rounds']:
        for name in r['order']:
            run = r[name]
            ratio = '%.3f' % r['ratio'] if name == r['order'][-1] else ''
            print(fmt_row([str(r['round']), name, '%.1f' % run['rps'], '%.2f' % run['p50_ms'],
                           '%.2f' % run['p90_ms'], '%.2f' % run['p99_ms'],
                           '-' if run['server_cpu_ms_per_request'] is None
                           else '%.3f' % run['server_cpu_ms_per_request'],
                           ('/'.join('%.2f' % x for x in run['worker_cpu_shares'] or []) or '-')
                           + ('*' if run['unbalanced'] else ''),
                           str(run['non_2xx'] + run['socket_errors']), ratio], widths))
    m, goal = result['median'], result['goal']
    unbalanced = result['unbalanced_runs']
    if unbalanced['set_aside'] or unbalanced['kept']:
        print('runs where one worker did nearly all the work: %d repeated and set aside, %d kept '
              '(marked *)' % (unbalanced['set_aside'], unbalanced['kept']))
    print()
    print('median: baseline %.1f req/s, cbr %.1f req/s, ratio cbr/baseline %.3f (goal >= %.2f: %s)'
          % (m['baseline_rps'], m['cbr_rps'], m['ratio'], GOAL_RATIO,
             'met' if goal['ratio_met'] else 'NOT met'))
    print('median p99 of cbr: %.2f ms (goal < %.0f ms: %s)'
          % (m['cbr_p99_ms'], GOAL_P99_MS, 'met' if goal['p99_met'] else 'NOT met'))
    if m['baseline_cpu_ms_per_request'] and m['cbr_cpu_ms_per_request']:
        print('median server CPU per request: baseline %.3f ms, cbr %.3f ms (cbr costs %.1fx)'
              % (m['baseline_cpu_ms_per_request'], m['cbr_cpu_ms_per_request'],
                 m['cbr_cpu_ms_per_request'] / m['baseline_cpu_ms_per_request']))
    print('goal %s' % ('met' if goal['met'] else 'NOT met'))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--duration', type=int, default=20, help='seconds of each wrk run')
    parser.add_argument('--connections', type=int, default=16, help='wrk -c')
    parser.add_argument('--threads', type=int, default=2, help='wrk -t')
    parser.add_argument('--rounds', type=int, default=3,
                        help='baseline/cbr pairs, order alternating')
    parser.add_argument('--warmup', type=int, default=5, help='seconds of wrk warm-up, each')
    parser.add_argument('--credentials',
                        help='credentials.json of a running cbr-sim to use instead of '
                             'starting one (it is then left running)')
    parser.add_argument('--api-port', type=int, default=18799, help='CBR_API_PORT for stack.sh')
    parser.add_argument('--state-dir', default='/tmp/cbr-bench-state',
                        help='CBR_STATE_DIR for stack.sh')
    parser.add_argument('--redis-url', default='redis://127.0.0.1:6379/14',
                        help='CBR_REDIS_URL for stack.sh')
    parser.add_argument('--api-workers', type=int,
                        help='CBR_API_WORKERS (and the baseline\'s workers)')
    parser.add_argument('--api-threads', type=int,
                        help='CBR_API_THREADS (and the baseline\'s threads)')
    parser.add_argument('--retries', type=int, default=2,
                        help='times a run is repeated when one gunicorn worker did more than '
                             '1.5x its fair share of the work (default: %(default)s; 0 keeps '
                             'every run as it came)')
    parser.add_argument('--target', choices=sorted(TARGETS), default='disks',
                        help='the list to measure: EVS disks (GET /v2/{project_id}/'
                             'cloudvolumes/detail) or CBR vaults (GET /v3/{project_id}/'
                             'vaults, after making --vaults of them)')
    parser.add_argument('--vaults', type=int, default=100,
                        help='vaults to make first with --target vaults (default: 100)')
    parser.add_argument('--output',
                        help='JSON result file (default: benchmarks/results/'
                             'api_throughput.json, or api_throughput_vaults.json for '
                             '--target vaults)')
    parser.add_argument('--check', action='store_true', help='exit 1 when the goal is not met')
    args = parser.parse_args(argv)
    for name in ('duration', 'connections', 'threads', 'rounds', 'warmup'):
        if getattr(args, name) < 1:
            parser.error('--%s must be at least 1' % name)
    if args.retries < 0:
        parser.error('--retries must be 0 or more')
    args.output = args.output or str(TARGETS[args.target].output)
    return args


MACHINE: dict[str, Any] = {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which('wrk') is None:
        print('wrk is not installed; install it with: apt-get install -y wrk', file=sys.stderr)
        return 2
    MACHINE.update(machine())
    return run_and_write(lambda workdir: benchmark(args, workdir), 'cbr-bench-', report,
                         args.output, lambda result: result['goal']['met'], args.check)


if __name__ == '__main__':
    sys.exit(main())
