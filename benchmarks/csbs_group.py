#!/usr/bin/env python3
"""Per-disk throughput of CSBS whole-server backups (one consistency group per server)
against VBS single-disk backups of as many disks, measured on the same stack in the same
run.

A benchmark, not a test: it reports numbers and whether the goal holds (the median
CSBS/VBS per-disk throughput ratio >= 0.6, showing that the consistency group adds
coordination, not serialization); ``--check`` makes it exit 1 when it does not. See
docs/benchmarks.md.

What it does:

1. starts cbr-sim with ``devstack/stack.sh`` and ``CBR_WORKERS=--workers`` (2) on a
   private port, Redis database and state folder, with no VBS or CSBS backup quota
   (``OS_VBS__BACKUP_QUOTA=-1``, ``OS_CSBS__BACKUP_QUOTA=-1``: oslo.config reads options
   from the environment), or uses a running one given by ``--credentials``;
2. for every round (``--rounds``, 3), first prepares, untimed, ``--servers`` (100) new
   servers with ``--disks-per-server`` (4) 10 GB disks each (ECS ``POST
   /v1/{project_id}/cloudservers``, a system disk and data disks) and as many new
   standalone 10 GB disks (EVS), and writes 1 MiB of fresh random data at offset 0 of
   every disk (admin ``PUT /sim/v1/{project_id}/volumes/{id}/data``). Every backup is
   thus the first, full one of data nothing has seen;
3. then measures both, in alternating order (VBS first in odd rounds):

   - csbs: one ``POST /v1/{project_id}/providers/{provider}/resources/{server}/action``
     (``protect``) per server, sent one after the other; t0 when the first is sent. It
     then polls ``GET /v1/{project_id}/checkpoint_items/count?status=protecting`` every
     0.2 s until none is left; t1 when that is first seen; every item must then be
     ``available``;
   - vbs: one ``POST /v2/{project_id}/cloudbackups`` per standalone disk; t0 when the
     first is sent. It then polls ``GET /v2/{project_id}/backups/detail?status=creating``
     until none is left; t1 then; every backup must then be ``available``;

   per-disk throughput = disks / (t1 - t0) for both (CSBS: servers x disks per server);
   the ratio csbs/vbs is taken per round;
4. prints every round and the medians and writes benchmarks/results/csbs_group.json;
5. stops what it started, also on error or Ctrl-C.

Installs nothing. Needs the project's virtualenv with the test extra, e.g.::

    .venv/bin/python benchmarks/csbs_group.py --servers 100 --rounds 3
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import common
from backup_throughput import (DATA_BYTES, DISK_GB, POLL_SECONDS, Demo, create_disks,
                               demo_project, wait_job, wait_until, write_data)
from common import REPO, BenchError, Stack, log, run_and_write

DEFAULT_OUTPUT = REPO / 'benchmarks' / 'results' / 'csbs_group.json'
GOAL_RATIO = 0.6
PROVIDER = 'fc4d5750-22e7-4798-8a46-f48f62c4c1da'
SERVERS_PER_REQUEST = 10
MACHINE: dict[str, Any] = {}


def create_servers(demo: Demo, count: int, disks_per_server: int) -> dict[str, list[str]]:
    """``count`` new running servers with ``disks_per_server`` 10 GB disks; their disks."""
    servers: dict[str, list[str]] = {}
    while len(servers) < count:
        body = demo.api.call('POST', '/v1/%s/cloudservers' % demo.project_id, body={'server': {
            'name': 'bench-srv', 'imageRef': 'image', 'flavorRef': 's3.small.1',
            'availability_zone': 'sim-az-1', 'vpcid': 'vpc', 'nics': [{'subnet_id': 'net'}],
            'count': min(SERVERS_PER_REQUEST, count - len(servers)),
            'root_volume': {'volumetype': 'SSD', 'size': DISK_GB},
            'data_volumes': [{'volumetype': 'SSD', 'size': DISK_GB}
                             for _ in range(disks_per_server - 1)]}})
        wait_job(demo, body['job_id'], 300)
        for server_id in body['serverIds']:
            shown = demo.api.call('GET', '/v1/%s/cloudservers/%s' % (demo.project_id,
                                                                     server_id))['server']
            servers[server_id] = [attached['id'] for attached in
                                  shown['os-extended-volumes:volumes_attached']]
    return servers


def _count(demo: Demo, path: str, key: str, status: str, name: str | None = None) -> int:
    query: list[tuple[str, object]] = [('status', status), ('limit', 1000)]
    if name is not None:
        query.append(('name', name))
    body = demo.api.call('GET', path % demo.project_id, query=query)
    return body[key] if key == 'count' else len(body[key])


def run_csbs(demo: Demo, servers: dict[str, list[str]], timeout: float,
             name: str) -> dict[str, Any]:
    disks = sum(len(each) for each in servers.values())
    t0 = time.monotonic()
    for server_id in servers:
        demo.api.call('POST', '/v1/%s/providers/%s/resources/%s/action' % (
            demo.project_id, PROVIDER, server_id), body={'protect': {
                'backup_name': name, 'incremental': True}})
    accepted = time.monotonic() - t0
    wait_until(lambda: _count(demo, '/v1/%s/checkpoint_items/count', 'count', 'protecting'),
               lambda left: left == 0, timeout, 'the CSBS backups did not finish',
               POLL_SECONDS)
    seconds = time.monotonic() - t0
    done = _count(demo, '/v1/%s/checkpoint_items/count', 'count', 'available', name)
    return _result(disks, seconds, accepted, servers=len(servers), ended=done)


def run_vbs(demo: Demo, disks: list[str], timeout: float) -> dict[str, Any]:
    t0 = time.monotonic()
    for disk in disks:
        demo.api.call('POST', '/v2/%s/cloudbackups' % demo.project_id, body={'backup': {
            'volume_id': disk, 'name': 'bench'}})
    accepted = time.monotonic() - t0
    wait_until(lambda: _count(demo, '/v2/%s/backups/detail', 'backups', 'creating'),
               lambda left: left == 0, timeout, 'the VBS backups did not finish', POLL_SECONDS)
    seconds = time.monotonic() - t0
    return _result(len(disks), seconds, accepted, ended=len(disks))


def _result(disks: int, seconds: float, accepted: float, **extra: int) -> dict[str, Any]:
    return {'disks': disks, 'seconds': round(seconds, 3),
            'disks_per_second': round(disks / seconds, 2),
            'accept_seconds': round(accepted, 3), **extra}


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    if args.state_dir is None:
        args.state_dir = str(workdir / 'stack')
    stack = Stack(args, workdir, {'CBR_WORKERS': str(args.workers),
                                  # no backup quota: every round adds hundreds of backups
                                  'OS_VBS__BACKUP_QUOTA': '-1', 'OS_CSBS__BACKUP_QUOTA': '-1'})
    rounds = []
    try:
        credentials = Path(args.credentials) if args.credentials else stack.start()
        demo = demo_project(json.loads(credentials.read_text()), str(workdir / 'home'))
        for number in range(1, args.rounds + 1):
            servers = create_servers(demo, args.servers, args.disks_per_server)
            disks = create_disks(demo, args.servers * args.disks_per_server)
            write_data(demo, [d for each in servers.values() for d in each] + disks)
            order = ('vbs', 'csbs') if number % 2 else ('csbs', 'vbs')
            runs: dict[str, dict[str, Any]] = {}
            for name in order:
                log('round %d/%d: %s' % (number, args.rounds, name))
                runs[name] = (run_csbs(demo, servers, args.timeout, 'bench-r%d' % number)
                              if name == 'csbs' else run_vbs(demo, disks, args.timeout))
                log('  %.2f disks per second (%.2f s)' % (runs[name]['disks_per_second'],
                                                         runs[name]['seconds']))
            if runs['csbs']['ended'] != len(servers):
                raise BenchError('%d of %d CSBS backups available' % (runs['csbs']['ended'],
                                                                     len(servers)))
            rounds.append({'round': number, 'order': list(order), **runs,
                           'ratio': round(runs['csbs']['disks_per_second']
                                          / runs['vbs']['disks_per_second'], 4)})
    finally:
        stack.stop()
    median = statistics.median(r['ratio'] for r in rounds)
    return {
        'benchmark': 'CSBS whole-server backups vs VBS single-disk backups, per disk',
        'date': dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'machine': MACHINE,
        'settings': {'servers': args.servers, 'disks_per_server': args.disks_per_server,
                     'disk_gb': DISK_GB, 'data_bytes': DATA_BYTES, 'rounds': args.rounds,
                     'workers': args.workers},
        'rounds': rounds,
        'median': {'csbs_disks_per_second': statistics.median(
                       r['csbs']['disks_per_second'] for r in rounds),
                   'vbs_disks_per_second': statistics.median(
                       r['vbs']['disks_per_second'] for r in rounds),
                   'ratio': round(median, 4)},
        'goal': {'ratio_at_least': GOAL_RATIO, 'met': median >= GOAL_RATIO},
    }


def report(result: dict[str, Any]) -> None:
    print()
    print('round  first  vbs disks/s  csbs disks/s   ratio')
    for r in result['rounds']:
        print('%5d  %5s  %11.2f  %12.2f  %6.4f' % (
            r['round'], r['order'][0], r['vbs']['disks_per_second'],
            r['csbs']['disks_per_second'], r['ratio']))
    m = result['median']
    print('median ratio %.4f (goal >= %.2f: %s)' % (
        m['ratio'], GOAL_RATIO, 'met' if result['goal']['met'] else 'NOT met'))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--servers', type=int, default=100)
    parser.add_argument('--disks-per-server', type=int, default=4)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--timeout', type=float, default=900)
    parser.add_argument('--credentials', help='credentials.json of a running cbr-sim')
    parser.add_argument('--api-port', type=int, default=18802)
    parser.add_argument('--state-dir')
    parser.add_argument('--redis-url', default='redis://127.0.0.1:6379/14')
    parser.add_argument('--output', default=str(DEFAULT_OUTPUT))
    parser.add_argument('--check', action='store_true', help='exit 1 when the goal is not met')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    MACHINE.update(common.machine())
    return run_and_write(lambda workdir: benchmark(args, workdir), 'cbr-csbs-bench-', report,
                         args.output, lambda result: result['goal']['met'], args.check)


if __name__ == '__main__':
    sys.exit(main())
