"""Batch messages: several disk backups or deletions run by one task, each still ending on
its own.

In-process tests drive the batch runner on a real database and real stores; the last
test kills a stack's worker in the middle of a batch.
"""
from __future__ import annotations

import os
import random
import uuid

from sqlalchemy import func, select

from cbr_common import faults
from cbr_common.backups import VOLUME, requests
from cbr_common.dataplane import audit, gc
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from tests.support.client import poll
from tests.support.dataplane import BackupService, StackBackups

MIB = 1 << 20


def _disks_with_data(service: BackupService, count: int) -> list[str]:
    """Disks with random data: 1 MiB on the first (more than one transfer batch of 4 KiB
    blocks), 64 KiB on the others (their chunks are claimed with the batch's)."""
    disks = [service.disk() for _ in range(count)]
    for index, disk in enumerate(disks):
        service.volumes.write(disk, random.randrange(0, 512) * MIB,
                              os.urandom(MIB if index == 0 else MIB // 16))
    return disks


def _request_backups(service: BackupService, vault: str, disks: list[str]) -> list[str]:
    with session_scope() as session:
        return [requests.request_backup(session, service.project_id, vault, disk).id
                for disk in disks]


def _pins() -> int:
    with read_scope() as session:
        return session.execute(select(func.count()).select_from(models.ChunkPin)).scalar_one()


def test_one_batch_backs_up_every_disk_and_each_restores_exactly(backup_service):
    service = backup_service
    vault = service.vault(VOLUME)
    disks = _disks_with_data(service, 4)
    digests = {disk: service.volumes.checksum(disk)['digest'] for disk in disks}
    operations = _request_backups(service, vault, disks)
    assert service.run_batch('backupDevice', operations) == '4 of 4 operations: success'
    backups = []
    for operation_id in operations:
        operation = service.operation(operation_id)
        assert (operation.status, operation.attempts, operation.progress) == ('SUCCESS', 1, 100)
        assert operation.entities['incremental'] is False
        backups.append(service.backup_row(operation.params['backup_id']))
    assert [b.status for b in backups] == ['available'] * 4
    assert [b.resource_id for b in backups] == disks
    assert _pins() == 0

    assert audit.audit().clean

    service.volumes.write(disks[1], 0, os.urandom(MIB))
    again = _request_backups(service, vault, disks)
    assert service.run_batch('backupDevice', again) == '4 of 4 operations: success'
    assert all(service.operation(op).entities['incremental'] for op in again)
    for disk, backup in zip(disks, backups):
        target = service.disk()
        assert service.restore(backup.id, {disk: target}).status == 'SUCCESS'
        assert service.volumes.checksum(target)['digest'] == digests[disk]


def test_disks_of_one_batch_with_the_same_blocks_keep_them_once(backup_service):
    service = backup_service
    vault = service.vault(VOLUME)
    data = os.urandom(MIB // 16)
    disks = [service.disk() for _ in range(3)]
    for disk in disks:
        service.volumes.write(disk, 0, data)
    operations = _request_backups(service, vault, disks)
    assert service.run_batch('backupDevice', operations) == '3 of 3 operations: success'
    added = [service.backup_row(service.operation(op).params['backup_id']).added_bytes
             for op in operations]
    assert sorted(added) == [0, 0, MIB // 16]  # one disk brought the 16 blocks, once
    report = audit.audit()
    assert report.consistent and report.chunks == 16
    # the others wrote the blocks too (none was stored yet when they claimed them, as
    # with jobs that run at once); their packs hold no chunk and go with the next sweep
    assert len(report.empty_packs) <= 2
    gc.sweep()
    assert audit.audit().clean
    for disk in disks[1:]:
        target = service.disk()
        backup = service.backup_row(service.operation(operations[disks.index(disk)])
                                    .params['backup_id'])
        assert service.restore(backup.id, {disk: target}).status == 'SUCCESS'
        assert service.volumes.checksum(target) == service.volumes.checksum(disk)


def test_a_disk_failing_in_a_batch_fails_alone_and_keeps_nothing_pinned(backup_service):
    service = backup_service
    vault = service.vault(VOLUME)
    disks = _disks_with_data(service, 3)
    operations = _request_backups(service, vault, disks)
    faults.add('backup.transfer', 'fail')  # the first disk to reach it: the batch's first
    assert service.run_batch('backupDevice', operations) == \
        '3 of 3 operations: failed, success'
    states = [service.operation(op) for op in operations]
    assert [op.status for op in states] == ['FAIL', 'SUCCESS', 'SUCCESS']
    assert 'injected fault at backup.transfer' in states[0].fail_reason
    with read_scope() as session:
        failed = session.get(models.Backup, states[0].params['backup_id'])
        assert failed.status == 'error' and failed.manifest is None
    assert [service.backup_row(op.params['backup_id']).status for op in states[1:]] == \
        ['available', 'available']
    assert _pins() == 0


def test_operations_of_a_batch_already_taken_are_not_run_again(backup_service):
    service = backup_service
    vault = service.vault(VOLUME)
    operations = _request_backups(service, vault, _disks_with_data(service, 3))
    assert service.run_batch('backupDevice', operations[:1]) == '1 of 1 operations: success'
    assert service.run_batch('backupDevice', operations) == '2 of 3 operations: success'
    assert [service.operation(op).attempts for op in operations] == [1, 1, 1]
    assert service.run_batch('backupDevice', operations) == 'not-claimed'


def test_a_batch_of_deletions_frees_every_chunk_of_the_vault(backup_service):
    service = backup_service
    vault = service.vault(VOLUME)
    disks = _disks_with_data(service, 3)
    backups = [service.backup(vault, disk).id for disk in disks]
    assert service.usage(vault).used_bytes > 0
    with session_scope() as session:
        deletions = [requests.request_delete(session, service.project_id, backup).id
                     for backup in backups]
    assert service.run_batch('deleteBackup', deletions) == '3 of 3 operations: success'
    assert all(service.operation(op).status == 'SUCCESS' for op in deletions)
    assert all(service.backup_row(backup) is None for backup in backups)
    with read_scope() as session:
        assert session.execute(select(func.count()).select_from(models.Chunk)
                               .where(models.Chunk.vault_id == vault)).scalar_one() == 0
    assert service.usage(vault).used_bytes == 0


def test_a_worker_killed_in_the_middle_of_a_batch_leaves_every_backup_to_the_retry(
        fresh_stack_factory):
    stack = fresh_stack_factory(settings={'chunk_store': {'gc_interval': 1},
                                          'worker': {'lease_seconds': 3, 'concurrency': 1}})
    backups = StackBackups(stack)
    with backups.attached():
        vault = backups.vault(VOLUME)
        disks = [backups.disk() for _ in range(3)]
        for seed, disk in enumerate(disks):
            backups.volumes.write(disk, 0, random.Random(seed).randbytes(2 * MIB))
        digests = [backups.volumes.checksum(disk)['digest'] for disk in disks]
        hold = stack.admin().post('/sim/v1/faults', json={
            'point': 'backup.batch', 'action': 'delay', 'seconds': 600})
        assert hold.status_code == 201, hold.text
        operations = backups.submit_all(requests.request_backup, [(vault, d) for d in disks])
        poll(lambda: stack.admin().get('/sim/v1/faults').json()['faults'],
             lambda found: all(f['remaining'] == 0 for f in found), 30, 'fault not reached')
        # one worker thread: only one task, the batch's, can have claimed all three
        assert [backups.wait(op, done=('RUNNING',))['status'] for op in operations] == \
            ['RUNNING'] * 3
        for name in [name for name in stack.processes if name.startswith('worker')]:
            stack.kill(name)
        stack.start('worker-%s' % uuid.uuid4().hex[:6], 'cbr-worker')
        jobs = [backups.wait(op, timeout=60) for op in operations]
        assert [job['status'] for job in jobs] == ['SUCCESS'] * 3, jobs
        for job, disk, digest in zip(jobs, disks, digests):
            target = backups.disk()
            restore = backups.submit(requests.request_restore, job['entities']['backup_id'],
                                     {disk: target})
            assert backups.wait(restore)['status'] == 'SUCCESS'
            assert backups.volumes.checksum(target)['digest'] == digest
        report = poll(lambda: backups.manage_json('chunks', 'audit'), lambda r: r['clean'], 30,
                      'the store did not become clean')
        assert report['chunks'] == 3 * 2 * 16  # every written block once, nothing left over


def test_a_batch_of_a_job_type_without_a_batch_form_runs_one_operation_after_the_other(
        backup_service):
    service = backup_service
    vault = service.vault(VOLUME)
    disks = _disks_with_data(service, 2)
    backups = [service.backup(vault, disk).id for disk in disks]
    targets = [service.disk() for _ in disks]
    with session_scope() as session:
        restores = [requests.request_restore(session, service.project_id, backup,
                                             {disk: target}).id
                    for backup, disk, target in zip(backups, disks, targets)]
    assert service.run_batch('restoreBackup', restores) == '2 of 2 operations: success'
    for disk, target in zip(disks, targets):
        assert service.volumes.checksum(target) == service.volumes.checksum(disk)
    assert service.run_batch('restoreBackup', restores) == 'not-claimed'
