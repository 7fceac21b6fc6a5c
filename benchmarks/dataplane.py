#!/usr/bin/env python3
"""cbr-sim's block-level backup data plane against restic, on the same disk image, in one run.

A benchmark, not a test: it reports numbers and whether the issue's targets hold;
``--check`` makes it exit 1 when one does not. See docs/benchmarks.md.

The input is a sparse 1 GiB disk of the volume store (the product's block size) with
``--data-mib`` MiB of random data in 4 MiB extents at random 4 MiB-aligned offsets, all
from a fixed seed. Every repeat starts from fresh state, and in every phase cbr-sim and
restic run one after the other, the order alternating from repeat to repeat:

1. **full backup**: cbr-sim's ``backupDevice`` job on a fresh SQLite database, volume
   store and local chunk store, run in-process through the real job runner
   (``tests/support/dataplane.py``), against ``restic backup`` of the disk's image file
   ``<volumes>/<disk id>.img`` into a fresh repository (default settings, its cache in
   the temporary folder);
2. **incremental backup** after 20 MiB of scattered changes (320 writes of 64 KiB at
   distinct random block-aligned offsets) written through the volume store into that
   same image;
3. **restore** of that latest backup: onto a new disk for cbr-sim, ``restic restore
   latest --target DIR`` for restic, both checked byte for byte afterwards;
4. **holes**: cbr-sim's full backup of a 100 GiB disk and of a 1 GiB disk, each with the
   same 1 GiB of random data written, timed against each other.

Each phase of cbr-sim runs in a fresh child process (this script with ``--phase``).
The child first does what a long-running worker has done before its first job (imports
the job handlers, opens the database), then times the job call alone and reports its own
peak RSS (``getrusage`` ``ru_maxrss``) and CPU time. restic's wall time, CPU time and
peak RSS are those of its whole process (``wait4``). Each repeat also measures the
machine's SHA-256 throughput (hashlib, 256 MiB in 1 MiB pieces). Ratios are taken within
a repeat; the results are their medians.

Nothing is deleted before the end of the run. ext4 skips recently freed inodes when it
allocates new ones, so creating many files just after many were deleted is slow for a
minute or more: with one file per chunk (before packs), a full backup right after an
earlier repeat's chunk store was deleted took 1.6 to 3 times as long. For the same
reason, start a run a few minutes after anything deleted many files.

Needs the project's virtualenv, Redis at 127.0.0.1:6379 (``tests/support/dataplane.py``
uses it), restic (``sudo apt-get install -y restic``) and about 5.5 GB per repeat in the
temporary folder::

    .venv/bin/python benchmarks/dataplane.py --repeats 3

It prints a table and writes benchmarks/results/dataplane.json.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import common
from common import REPO, BenchError, log, run_and_write

if TYPE_CHECKING:
    from cbr_common.dataplane.volume_store import VolumeStore
    from tests.support.dataplane import BackupService

DEFAULT_OUTPUT = REPO / 'benchmarks' / 'results' / 'dataplane.json'
RESTIC_INSTALL = 'sudo apt-get install -y restic'
RESTIC_PASSWORD = 'cbr-sim-benchmark'

MIB = 1024 ** 2
GIB = 1024 ** 3
SEED = 20261122
DISK_GIB = 1
EXTENT = 4 * MIB
CHANGE_BYTES = 20 * MIB
CHANGE_WRITE = 64 * 1024
HOLES_DISK_GIB = (1, 100)
HOLES_DATA = 1 * GIB
SHA256_MIB = 256
VAULT_GB = 100

GOAL_FULL_RATIO = 2.0          # cbr full-backup throughput / restic's, at least
GOAL_INCREMENTAL_RATIO = 0.1   # cbr incremental time / restic's, at most
GOAL_RESTORE_MIB_S = 300.0     # cbr restore throughput, at least
GOAL_PEAK_MB = 200.0           # peak RSS of the process doing the backup, below (10^6 bytes)
GOAL_HOLES_RATIO = 1.1         # time of the 100 GiB disk / the 1 GiB disk, at most


# -- the child process: one phase of cbr-sim ----------------------------------------------------
def chunk_settings(root: Path) -> dict[str, Any]:
    return {'backend': 'local', 'path': str(root / 'chunks')}


def write_extents(volumes: VolumeStore, disk: str, disk_bytes: int, data_bytes: int) -> None:
    """``data_bytes`` of random data in EXTENT pieces at distinct random aligned offsets;
    the contents depend only on the seed, the places also on the disk size."""
    places = random.Random('%d:extents:%d' % (SEED, disk_bytes))
    contents = random.Random('%d:data' % SEED)
    for slot in sorted(places.sample(range(disk_bytes // EXTENT), data_bytes // EXTENT)):
        volumes.write(disk, slot * EXTENT, contents.randbytes(EXTENT))


def write_changes(volumes: VolumeStore, disk: str, disk_bytes: int) -> None:
    """CHANGE_BYTES of random data in CHANGE_WRITE pieces at distinct random aligned offsets."""
    rng = random.Random('%d:changes' % SEED)
    for slot in sorted(rng.sample(range(disk_bytes // CHANGE_WRITE), CHANGE_BYTES // CHANGE_WRITE)):
        volumes.write(disk, slot * CHANGE_WRITE, rng.randbytes(CHANGE_WRITE))


def load_state(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def save_state(path: Path, state: dict[str, Any]) -> None:
    path.write_text(json.dumps(state, indent=1))


@contextlib.contextmanager
def attached(state: dict[str, Any]) -> Iterator[BackupService]:
    """The scenario's backup service, configured in this process. The backupDevice and
    restoreBackup jobs publish no messages, so there are no Redis keys to delete after."""
    from tests.support.dataplane import BackupService, overrides
    service = BackupService(Path(state['root']), block_size=state['block_size'])
    service.project_id = state['project_id']
    with overrides({**service.settings, 'chunk_store': chunk_settings(Path(state['root']))}):
        yield service


def warm_up(service: BackupService, vault_id: str) -> float:
    """Do what a long-running worker did before its first job (import the job handlers,
    open the database, configure the ORM mappers); the seconds it took."""
    from cbr_common.operations import registry
    start = time.perf_counter()
    registry.load_handlers()
    service.usage(vault_id)
    return round(time.perf_counter() - start, 3)


def measured(call: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """``call()``'s result, and its wall time, CPU time and this process's peak RSS."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return result, {'seconds': round(seconds, 3), 'cpu_seconds': round(cpu, 3),
                    'peak_rss_kib': after.ru_maxrss, 'peak_rss_kib_before': before.ru_maxrss}


def phase_setup(state_path: Path, disk_gib: int, data_bytes: int) -> dict[str, Any]:
    """A fresh service, a vault and a disk of ``disk_gib`` GiB with ``data_bytes`` written."""
    from cbr_common.backups import VOLUME
    from cbr_common.config import CONF
    from tests.support.dataplane import BackupService, overrides
    root = state_path.parent
    service = BackupService(root, block_size=CONF.volume_store.block_size)
    with overrides({'chunk_store': chunk_settings(root)}), service.running():
        vault = service.vault(VOLUME, size_gb=VAULT_GB)
        disk = service.disk(size_gb=disk_gib)
        write_extents(service.volumes, disk, disk_gib * GIB, data_bytes)
    state = {'root': str(root), 'project_id': service.project_id, 'vault': vault, 'disk': disk,
             'disk_gib': disk_gib, 'block_size': service.volumes.block_size, 'backups': []}
    save_state(state_path, state)
    return {'image': str(root / 'volumes' / ('%s.img' % disk)),
            'block_size': service.volumes.block_size,
            'transfer_threads': CONF.chunk_store.transfer_threads}


def phase_backup(state_path: Path) -> dict[str, Any]:
    state = load_state(state_path)
    with attached(state) as service:
        warmup = warm_up(service, state['vault'])
        backup, numbers = measured(lambda: service.backup(state['vault'], state['disk']))
    state['backups'].append(backup.id)
    save_state(state_path, state)
    return dict(numbers, warmup_seconds=warmup, incremental=backup.incremental,
                added_bytes=backup.added_bytes)


def phase_change(state_path: Path) -> dict[str, Any]:
    state = load_state(state_path)
    with attached(state) as service:
        write_changes(service.volumes, state['disk'], state['disk_gib'] * GIB)
    return {'written_bytes': CHANGE_BYTES}


def phase_restore(state_path: Path) -> dict[str, Any]:
    """Restore the latest backup onto a new disk, then check it equals the source disk."""
    from cbr_common.dataplane.manifest import Manifest
    state = load_state(state_path)
    backup_id = state['backups'][-1]
    with attached(state) as service:
        target = service.disk(size_gb=state['disk_gib'])
        data_blocks = len(Manifest.decode(service.manifest(backup_id)).blocks)
        warmup = warm_up(service, state['vault'])
        operation, numbers = measured(lambda: service.restore(backup_id,
                                                              {state['disk']: target}))
        if operation.status != 'SUCCESS':
            raise BenchError('restore failed: %s' % operation.fail_reason)
        same = (service.volumes.checksum(target)['digest']
                == service.volumes.checksum(state['disk'])['digest'])
    if not same:
        raise BenchError('the restored disk differs from the backed-up one')
    return dict(numbers, warmup_seconds=warmup, data_bytes=data_blocks * state['block_size'])


def run_phase(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(REPO))
    state_path = Path(args.state)
    if args.phase == 'setup':
        result = phase_setup(state_path, args.disk_gib, args.data_mib * MIB)
    else:
        result = {'backup': phase_backup, 'change': phase_change,
                  'restore': phase_restore}[args.phase](state_path)
    print(json.dumps(result))
    return 0


# -- the parent: processes, restic, the schedule ---------------------------------------------------
@dataclass
class Finished:
    """A child process that exited 0: its wall time, resource usage and standard output."""

    seconds: float
    usage: resource.struct_rusage
    stdout: str

    def numbers(self) -> dict[str, Any]:
        return {'seconds': round(self.seconds, 3),
                'cpu_seconds': round(self.usage.ru_utime + self.usage.ru_stime, 3),
                'peak_rss_kib': self.usage.ru_maxrss}


def run(command: list[str], logs: Path, env: dict[str, str] | None = None) -> Finished:
    """Run ``command`` to the end (killed on error or interrupt), output to ``logs``.*."""
    with open(logs.with_suffix('.out'), 'w+') as out, open(logs.with_suffix('.err'), 'w+') as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=REPO)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            raise BenchError('%s exited with %d:\n%s' % (' '.join(command[:3]),
                                                         process.returncode, err.read()[-3000:]))
        out.seek(0)
        return Finished(seconds, usage, out.read())


def cbr_phase(phase: str, state: Path, *extra: str) -> dict[str, Any]:
    """One phase of cbr-sim in a fresh child; what the child reported, plus the child's
    whole wall time (interpreter start and imports included) as ``process_seconds``."""
    done = run([sys.executable, str(Path(__file__).resolve()), '--phase', phase,
                '--state', str(state), *extra], state.parent / ('phase-%s' % phase))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return dict(result, process_seconds=round(done.seconds, 3))


class Restic:
    """A fresh restic repository and cache below ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = dict(os.environ, RESTIC_PASSWORD=RESTIC_PASSWORD)
        self.options = ['--repo', str(folder / 'repo'), '--cache-dir', str(folder / 'cache'),
                        '--quiet']
        self.runs = 0

    def __call__(self, *args: str) -> Finished:
        self.runs += 1
        return run(['restic', *args, *self.options], self.folder / ('restic-%d' % self.runs),
                   self.env)

    def init(self) -> int:
        """Create the repository; its format version."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self('init')
        return json.loads(self('cat', 'config').stdout)['version']


def same_file(one: Path, other: Path) -> bool:
    if one.stat().st_size != other.stat().st_size:
        return False
    with open(one, 'rb') as a, open(other, 'rb') as b:
        while True:
            piece = a.read(8 * MIB)
            if piece != b.read(8 * MIB):
                return False
            if not piece:
                return True


def sha256_mib_s() -> float:
    """MiB/s of hashlib's SHA-256 over SHA256_MIB MiB fed in 1 MiB pieces."""
    piece = os.urandom(MIB)
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(SHA256_MIB):
        digest.update(piece)
    return SHA256_MIB / (time.perf_counter() - start)


def in_order(cbr_first: bool, cbr: Callable[[], dict[str, Any]],
             restic: Callable[[], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run both, ``cbr`` first or second; their numbers by tool."""
    if cbr_first:
        ours = cbr()
        theirs = restic()
    else:
        theirs = restic()
        ours = cbr()
    return {'cbr': ours, 'restic': theirs}


def restic_restore(restic: Restic, target: Path, image: Path) -> dict[str, Any]:
    numbers = restic('restore', 'latest', '--target', str(target)).numbers()
    restored = target / image.relative_to(image.anchor)
    if not same_file(restored, image):
        raise BenchError('restic restored %s with other bytes than the image' % restored)
    shutil.rmtree(target)
    return numbers


def main_repeat(number: int, folder: Path, data_bytes: int) -> dict[str, Any]:
    """Full backup, changes, incremental backup and restore of one fresh disk, both tools."""
    cbr_first = number % 2 == 1
    state = folder / 'cbr' / 'state.json'
    state.parent.mkdir(parents=True)
    setup = cbr_phase('setup', state, '--disk-gib', str(DISK_GIB),
                      '--data-mib', str(data_bytes // MIB))
    image = Path(setup['image'])
    restic = Restic(folder / 'restic')
    repo_version = restic.init()
    log('repeat %d: full backup (%s first)' % (number, 'cbr' if cbr_first else 'restic'))
    full = in_order(cbr_first, lambda: cbr_phase('backup', state),
                    lambda: restic('backup', str(image)).numbers())
    cbr_phase('change', state)
    log('repeat %d: incremental backup after %d MiB of changes' % (number, CHANGE_BYTES // MIB))
    incremental = in_order(cbr_first, lambda: cbr_phase('backup', state),
                           lambda: restic('backup', str(image)).numbers())
    sha256 = sha256_mib_s()
    log('repeat %d: restore; SHA-256 %.0f MiB/s' % (number, sha256))
    restore = in_order(cbr_first, lambda: cbr_phase('restore', state),
                       lambda: restic_restore(restic, folder / 'restored', image))
    return {'repeat': number, 'first': 'cbr' if cbr_first else 'restic', 'setup': setup,
            'restic_repository_version': repo_version, 'sha256_mib_s': round(sha256, 1),
            'full': full, 'incremental': incremental, 'restore': restore}


def holes_repeat(number: int, folder: Path) -> dict[str, Any]:
    """cbr-sim's full backups of disks of HOLES_DISK_GIB sizes, each with HOLES_DATA written."""
    states = {}
    for size in HOLES_DISK_GIB:
        states[size] = folder / ('holes-%d' % size) / 'state.json'
        states[size].parent.mkdir(parents=True)
        cbr_phase('setup', states[size], '--disk-gib', str(size),
                  '--data-mib', str(HOLES_DATA // MIB))
    order = HOLES_DISK_GIB if number % 2 else HOLES_DISK_GIB[::-1]
    log('repeat %d: holes, full backups of %s GiB disks with %d GiB written'
        % (number, ' and '.join(map(str, order)), HOLES_DATA // GIB))
    return {'%d_gib' % size: cbr_phase('backup', states[size]) for size in order}


# -- results ---------------------------------------------------------------------------------------
def ratios(repeat: dict[str, Any], data_bytes: int) -> dict[str, float]:
    """The ratios of one repeat that the targets are about."""
    full, incr, rest = repeat['full'], repeat['incremental'], repeat['restore']
    restore_mib_s = rest['cbr']['data_bytes'] / MIB / rest['cbr']['seconds']
    holes = repeat['holes']
    return {
        'full_cbr_mib_s': data_bytes / MIB / full['cbr']['seconds'],
        'full_restic_mib_s': data_bytes / MIB / full['restic']['seconds'],
        'full_throughput_ratio': full['restic']['seconds'] / full['cbr']['seconds'],
        'incremental_time_ratio': incr['cbr']['seconds'] / incr['restic']['seconds'],
        'restore_cbr_mib_s': restore_mib_s,
        'restore_restic_mib_s': rest['cbr']['data_bytes'] / MIB / rest['restic']['seconds'],
        'restore_to_sha256_ratio': restore_mib_s / repeat['sha256_mib_s'],
        'restore_throughput_ratio': rest['restic']['seconds'] / rest['cbr']['seconds'],
        'holes_time_ratio': holes['100_gib']['seconds'] / holes['1_gib']['seconds'],
    }


def summarise(repeats: list[dict[str, Any]], data_bytes: int) -> dict[str, Any]:
    per_repeat = [ratios(r, data_bytes) for r in repeats]
    median = {name: round(statistics.median(r[name] for r in per_repeat), 3)
              for name in per_repeat[0]}

    def med(phase: str, tool: str, field: str = 'seconds') -> float:
        return statistics.median(r[phase][tool][field] for r in repeats)

    peak_mb = {phase: max(r[phase]['cbr']['peak_rss_kib'] for r in repeats) * 1024 / 1e6
               for phase in ('full', 'incremental', 'restore')}
    restic_peak_mb = {phase: max(r[phase]['restic']['peak_rss_kib'] for r in repeats)
                      * 1024 / 1e6 for phase in ('full', 'incremental', 'restore')}
    holes = {size: statistics.median(r['holes'][size]['seconds'] for r in repeats)
             for size in ('1_gib', '100_gib')}
    targets = [
        _target('full backup throughput', 'cbr/restic >= %.1f' % GOAL_FULL_RATIO,
                '%.0f MiB/s (%.2f s)' % (median['full_cbr_mib_s'], med('full', 'cbr')),
                '%.0f MiB/s (%.2f s)' % (median['full_restic_mib_s'], med('full', 'restic')),
                median['full_throughput_ratio'],
                median['full_throughput_ratio'] >= GOAL_FULL_RATIO),
        _target('incremental backup time, %d MiB changed' % (CHANGE_BYTES // MIB),
                'cbr/restic <= %.2f' % GOAL_INCREMENTAL_RATIO,
                '%.3f s' % med('incremental', 'cbr'), '%.2f s' % med('incremental', 'restic'),
                median['incremental_time_ratio'],
                median['incremental_time_ratio'] <= GOAL_INCREMENTAL_RATIO),
        _target('restore throughput', '>= %.0f MiB/s' % GOAL_RESTORE_MIB_S,
                '%.0f MiB/s (%.2f s)' % (median['restore_cbr_mib_s'], med('restore', 'cbr')),
                '%.0f MiB/s (%.2f s)' % (median['restore_restic_mib_s'],
                                         med('restore', 'restic')),
                median['restore_throughput_ratio'],
                median['restore_cbr_mib_s'] >= GOAL_RESTORE_MIB_S,
                note='%.2f of SHA-256 (%.0f MiB/s)' % (
                    median['restore_to_sha256_ratio'],
                    statistics.median(r['sha256_mib_s'] for r in repeats))),
        _target('peak RSS of the backup process', '< %.0f MB' % GOAL_PEAK_MB,
                '%.0f MB' % peak_mb['full'], '%.0f MB' % restic_peak_mb['full'],
                peak_mb['full'] / restic_peak_mb['full'], peak_mb['full'] < GOAL_PEAK_MB,
                note='highest of the repeats; incremental %.0f MB, restore %.0f MB'
                     % (peak_mb['incremental'], peak_mb['restore'])),
        _target('100 GiB disk vs 1 GiB disk, 1 GiB written', '100/1 <= %.1f' % GOAL_HOLES_RATIO,
                '%.2f s vs %.2f s' % (holes['100_gib'], holes['1_gib']), '',
                median['holes_time_ratio'], median['holes_time_ratio'] <= GOAL_HOLES_RATIO),
    ]
    return {'per_repeat': [{k: round(v, 3) for k, v in r.items()} for r in per_repeat],
            'median': median, 'peak_rss_mb': {'cbr': peak_mb, 'restic': restic_peak_mb},
            'targets': targets, 'met': all(t['met'] for t in targets)}


def _target(name: str, goal: str, cbr: str, restic: str, ratio: float, met: bool,
            note: str = '') -> dict[str, Any]:
    return {'target': name, 'goal': goal, 'cbr': cbr, 'restic': restic,
            'ratio': round(ratio, 3), 'met': met, 'note': note}


def report(result: dict[str, Any]) -> None:
    widths = [6, 7, 10, 10, 10, 10, 10, 10, 13]
    print()
    print(_row(['repeat', 'tool', 'full s', 'incr s', 'restore s', 'full MB', 'incr MB',
                'restore MB', 'holes 1/100 s'], widths))
    phases = ('full', 'incremental', 'restore')
    for r in result['repeats']:
        holes = '%.2f/%.2f' % (r['holes']['1_gib']['seconds'], r['holes']['100_gib']['seconds'])
        for tool in ('cbr', 'restic'):
            print(_row([str(r['repeat']), tool]
                       + ['%.3f' % r[p][tool]['seconds'] for p in phases]
                       + ['%.0f' % (r[p][tool]['peak_rss_kib'] * 1024 / 1e6) for p in phases]
                       + [holes if tool == 'cbr' else ''], widths))
    print()
    widths = [44, 22, 22, 22, 7, 5]
    print(_row(['target', 'goal', 'cbr', 'restic', 'ratio', 'met'], widths))
    for t in result['summary']['targets']:
        print(_row([t['target'], t['goal'], t['cbr'], t['restic'], '%.3f' % t['ratio'],
                    'yes' if t['met'] else 'NO'], widths) + ('  ' + t['note'] if t['note'] else ''))
    print('\nall targets %s' % ('met' if result['summary']['met'] else 'NOT met'))


def _row(cells: list[str], widths: list[int]) -> str:
    return '  '.join(cell.rjust(width) for cell, width in zip(cells, widths))


def machine() -> dict[str, Any]:
    restic = subprocess.run(['restic', 'version'], capture_output=True, text=True).stdout
    return {**common.machine(), 'sqlite': sqlite3.sqlite_version, 'restic': restic.strip()}


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    data_bytes = args.data_mib * MIB
    info = machine()
    repeats = []
    for number in range(1, args.repeats + 1):
        folder = workdir / ('repeat-%d' % number)
        repeat = main_repeat(number, folder, data_bytes)
        repeat['holes'] = holes_repeat(number, folder)
        repeats.append(repeat)
    info['loadavg_at_end'] = [round(x, 2) for x in os.getloadavg()]
    setup = repeats[0]['setup']
    return {
        'benchmark': 'cbr-sim block-level backup data plane vs restic, same disk image',
        'date': dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'machine': info,
        'settings': {'repeats': args.repeats, 'disk_gib': DISK_GIB, 'data_mib': args.data_mib,
                     'extent_mib': EXTENT // MIB, 'seed': SEED,
                     'change_mib': CHANGE_BYTES // MIB, 'change_write_kib': CHANGE_WRITE // 1024,
                     'holes_disk_gib': list(HOLES_DISK_GIB), 'holes_data_gib': HOLES_DATA // GIB,
                     'sha256_mib': SHA256_MIB, 'block_size': setup['block_size'],
                     'transfer_threads': setup['transfer_threads'],
                     'cbr': 'backupDevice/restoreBackup jobs in-process, SQLite, local chunk '
                            'store, one fresh child process per phase',
                     'restic': 'restic backup/restore of the image file, default options, '
                               'repository version %d, cache in the temporary folder'
                               % repeats[0]['restic_repository_version']},
        'repeats': repeats,
        'summary': summarise(repeats, data_bytes),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=3,
                        help='fresh-state repeats; the results are medians (default: %(default)s)')
    parser.add_argument('--data-mib', type=int, default=400,
                        help='MiB of random data on the 1 GiB disk, a multiple of %d '
                             '(default: %%(default)s)' % (EXTENT // MIB))
    parser.add_argument('--out', default=str(DEFAULT_OUTPUT),
                        help='JSON result file (default: %(default)s)')
    parser.add_argument('--check', action='store_true', help='exit 1 when a target is missed')
    parser.add_argument('--phase', choices=['setup', 'backup', 'change', 'restore'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--state', help=argparse.SUPPRESS)
    parser.add_argument('--disk-gib', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error('--repeats must be at least 1')
    if not 0 < args.data_mib <= DISK_GIB * 1024 or args.data_mib % (EXTENT // MIB):
        parser.error('--data-mib must be a multiple of %d up to %d'
                     % (EXTENT // MIB, DISK_GIB * 1024))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        return run_phase(args)
    if shutil.which('restic') is None:
        print('restic is not installed; install it with: %s' % RESTIC_INSTALL, file=sys.stderr)
        return 2
    return run_and_write(lambda workdir: benchmark(args, workdir), 'cbr-dataplane-bench-',
                         report, args.out, lambda result: result['summary']['met'], args.check)


if __name__ == '__main__':
    sys.exit(main())
