"""Crash safety of the backup jobs: workers killed mid-backup, mid-delete and mid-restore.

Afterwards every operation is finished or failed with a reason, every remaining backup
restores exactly, and once the scheduler has swept, the chunk index, the manifests and
the store agree with nothing left over (``cbr-manage chunks audit``).
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest

from cbr_common.backups import SERVER, VOLUME, requests
from tests.support import crashes
from tests.support.dataplane import StackBackups


@pytest.fixture(params=['local', 's3'])
def chunk_settings(request) -> dict[str, object]:
    """``[chunk_store]`` of the stack under test: the local folder, or the S3 server."""
    if request.param == 'local':
        return dict(crashes.FAST_GC)
    server = request.getfixturevalue('s3_server')
    return {**crashes.FAST_GC, 'backend': 's3', 's3_endpoint_url': server.endpoint_url,
            's3_region': server.region, 's3_bucket': 'crash-%s' % uuid.uuid4().hex[:12],
            's3_access_key_id': server.access_key, 's3_secret_access_key': server.secret_key}


@pytest.fixture
def crash_stack(fresh_stack_factory, chunk_settings) -> Iterator:
    def build(**worker) -> StackBackups:
        return StackBackups(fresh_stack_factory(settings=crashes.settings(chunk_settings,
                                                                          **worker)))
    yield build


def _kill_worker_when_running(backups: StackBackups, operation_id: str) -> None:
    backups.wait(operation_id, done=('RUNNING', 'SUCCESS'))
    crashes.kill_workers_when_held(backups.stack)


def _disk_with_data(backups: StackBackups, seed: int = 7) -> str:
    disk = backups.disk()
    rng = random.Random(seed)
    for index in range(6):
        backups.volumes.write(disk, index * (5 << 20), rng.randbytes(1 << 20))
    return disk


def test_worker_killed_mid_backup_the_retry_finishes_it(crash_stack):
    backups = crash_stack()
    with backups.attached():
        vault, disk, target = backups.vault(VOLUME), _disk_with_data(backups), backups.disk()
        digest = backups.volumes.checksum(disk)['digest']
        crashes.hold(backups.stack, 'backup.batch')
        operation_id = backups.submit(requests.request_backup, vault, disk)
        _kill_worker_when_running(backups, operation_id)
        crashes.start_worker(backups.stack)
        job = backups.wait(operation_id, timeout=60)
        assert job['status'] == 'SUCCESS', job
        restore = backups.submit(requests.request_restore, job['entities']['backup_id'],
                                 {disk: target})
        assert backups.wait(restore)['status'] == 'SUCCESS'
        assert backups.volumes.checksum(target)['digest'] == digest
        report = crashes.clean_after_sweep(backups.stack)
        assert report['chunks'] == 6 * 16  # exactly the written blocks, nothing twice


def test_worker_killed_on_every_attempt_fails_the_backup_and_frees_its_chunks(crash_stack):
    backups = crash_stack(max_attempts=1)
    with backups.attached():
        vault, disk = backups.vault(VOLUME), _disk_with_data(backups)
        crashes.hold(backups.stack, 'backup.batch')
        operation_id = backups.submit(requests.request_backup, vault, disk)
        _kill_worker_when_running(backups, operation_id)
        job = backups.wait(operation_id, timeout=60)
        assert job['status'] == 'FAIL' and 'worker lost' in job['fail_reason'], job
        backup = backups.backup_row(job['entities']['backup_id'])
        assert backup.status == 'error' and backup.fail_reason
        assert crashes.clean_after_sweep(backups.stack)['chunks'] == 0


def test_worker_killed_mid_delete_and_mid_restore(crash_stack):
    backups = crash_stack()
    with backups.attached():
        vault, disk, target = backups.vault(VOLUME), _disk_with_data(backups), backups.disk()
        first = backups.wait(backups.submit(requests.request_backup, vault, disk))
        digest = backups.volumes.checksum(disk)['digest']
        backups.volumes.write(disk, 0, random.randbytes(1 << 20))
        second = backups.wait(backups.submit(requests.request_backup, vault, disk))
        assert first['status'] == second['status'] == 'SUCCESS'

        crashes.hold(backups.stack, 'restore.batch')
        restore = backups.submit(requests.request_restore, first['entities']['backup_id'],
                                 {disk: target})
        _kill_worker_when_running(backups, restore)
        crashes.start_worker(backups.stack)
        assert backups.wait(restore, timeout=60)['status'] == 'SUCCESS'
        assert backups.volumes.checksum(target)['digest'] == digest

        # after the delete committed, before its chunks are freed
        crashes.hold(backups.stack, 'backup.gc')
        delete = backups.submit(requests.request_delete, second['entities']['backup_id'])
        _kill_worker_when_running(backups, delete)
        crashes.start_worker(backups.stack)
        assert backups.wait(delete, timeout=60)['status'] == 'SUCCESS'
        report = crashes.clean_after_sweep(backups.stack)
        assert report['chunks'] == 6 * 16     # the second backup's 16 new blocks are gone
        restore = backups.submit(requests.request_restore, first['entities']['backup_id'],
                                 {disk: target})
        assert backups.wait(restore)['status'] == 'SUCCESS'
        assert backups.volumes.checksum(target)['digest'] == digest


def test_a_disk_lost_in_a_server_backup_fails_the_group_and_releases_its_work(crash_stack):
    # rule: C3
    backups = crash_stack(max_attempts=1)
    with backups.attached():
        vault = backups.vault(SERVER)
        server, disks = backups.server([10, 10])
        for disk in disks:
            backups.volumes.write(disk, 0, random.randbytes(4 << 20))
        crashes.hold(backups.stack, 'backup.batch')  # one disk's job stops after its first batch
        group = backups.submit(requests.request_backup, vault, server)
        _kill_worker_when_running(backups, group)
        crashes.start_worker(backups.stack)
        job = backups.wait(group, timeout=60)
        assert job['status'] == 'FAIL' and 'failed' in job['fail_reason'], job
        server_backup = backups.backup_row(job['entities']['backup_id'])
        assert server_backup.status == 'error'
        assert crashes.clean_after_sweep(backups.stack)['chunks'] == 0

        retry = backups.wait(backups.submit(requests.request_backup, vault, server))
        assert retry['status'] == 'SUCCESS', retry
        assert crashes.clean_after_sweep(backups.stack)['chunks'] == 2 * 64


def test_reset_frees_every_backup_and_chunk(crash_stack):
    backups = crash_stack()
    with backups.attached():
        vault, disk = backups.vault(VOLUME), _disk_with_data(backups)
        assert backups.wait(backups.submit(requests.request_backup, vault, disk))['status'] \
            == 'SUCCESS'
        assert backups.manage_json('chunks', 'audit')['chunks'] == 6 * 16
        assert backups.stack.admin().post('/sim/v1/reset').status_code == 200
        report = backups.manage_json('chunks', 'audit')
        assert report['clean'] and report['chunks'] == 0
