"""Backup, restore and delete jobs on a running stack: consistency groups, encryption,
capacity, progress, and crash safety with killed workers.

Requests are committed from the test process into the stack's database (the CBR v3 API
that will make them does not exist yet); the stack's own cbr-worker processes run them.
"""
from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from cbr_common.backups import SERVER, VOLUME, requests, vaults
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.inventory import volumes
from cbr_common.operations import outbox
from cbr_common.inventory import GIB
from cbr_common.inventory.volumes import CMK_KEY, ENCRYPTED_KEY
from tests.support.client import poll
from tests.support.dataplane import StackBackups, counters, guest_writing

BLOCK = 65536
CMK = '0f0e0d0c-0b0a-4908-8706-050403020100'


@pytest.fixture
def backups(stack) -> Iterator[StackBackups]:
    with StackBackups(stack).attached() as attached:
        yield attached


def _fill(backups: StackBackups, disk: str, seed: int, mib: int) -> None:
    rng = random.Random(seed)
    for _ in range(mib):
        backups.volumes.write(disk, rng.randrange(0, 512) * BLOCK * 16, rng.randbytes(1 << 20))


def _write_random(backups: StackBackups, disk: str, at_mib: int, mib: int) -> None:
    for index in range(0, mib, 8):
        backups.volumes.write(disk, (at_mib + index) << 20, os.urandom(8 << 20))


def _backup(backups: StackBackups, vault: str, resource: str, **kwargs) -> dict:
    operation_id = backups.submit(requests.request_backup, vault, resource, **kwargs)
    job = backups.wait(operation_id)
    assert job['status'] == 'SUCCESS', job
    return job


def _restored_equals(backups: StackBackups, backup_id: str, source: str, target: str,
                     digest: str) -> None:
    job = backups.wait(backups.submit(requests.request_restore, backup_id, {source: target}))
    assert job['status'] == 'SUCCESS', job
    assert backups.volumes.checksum(target)['digest'] == digest


def test_incremental_backup_stores_only_changed_blocks_and_restores_exactly(backups):
    # rule: B4, B5, R7
    vault, disk, target = backups.vault(VOLUME), backups.disk(), backups.disk()
    _fill(backups, disk, seed=1, mib=8)
    first = backups.backup_row(_backup(backups, vault, disk)['entities']['backup_id'])
    before = backups.volumes.checksum(disk)['digest']
    backups.volumes.write(disk, 3 * BLOCK, random.randbytes(2 * BLOCK))
    second = backups.backup_row(_backup(backups, vault, disk)['entities']['backup_id'])
    assert (first.incremental, second.incremental) == (False, True)
    assert first.added_bytes == 8 << 20          # only used blocks, none of the 10 GB holes
    assert second.added_bytes == 2 * BLOCK       # only what changed
    _restored_equals(backups, first.id, disk, target, before)


def test_server_backup_is_one_instant_across_disks_written_concurrently(backups):
    # rule: C3
    vault = backups.vault(SERVER)
    server, disks = backups.server([10, 10])
    targets = [backups.disk(), backups.disk()]
    with guest_writing(backups.volumes, disks):
        job = _backup(backups, vault, server)
    backup = backups.backup_row(job['entities']['backup_id'])
    restore = backups.submit(requests.request_restore, backup.id, dict(zip(disks, targets)))
    assert backups.wait(restore)['status'] == 'SUCCESS'
    first, second = counters(backups.volumes, targets)
    assert first in (second, second + 1), (first, second)


def test_encrypted_disk_backups_are_stored_encrypted_and_restore(backups):
    # rule: B8
    vault = backups.vault(VOLUME)
    disk = backups.disk(metadata={ENCRYPTED_KEY: '1', CMK_KEY: CMK})
    target = backups.disk()
    marker = b'plain-text-marker-' * 3000
    backups.volumes.write(disk, 0, marker)
    digest = backups.volumes.checksum(disk)['digest']
    backup = backups.backup_row(_backup(backups, vault, disk)['entities']['backup_id'])
    assert backup.key_id == CMK
    chunk_root = backups.stack.root / 'state' / 'chunks'
    stored = [path.read_bytes() for path in chunk_root.rglob('*') if path.is_file()]
    assert stored and not any(b'plain-text-marker' in data for data in stored)
    _restored_equals(backups, backup.id, disk, target, digest)


def test_backups_fail_once_used_space_exceeds_the_capacity(backups):
    # rule: B6, V14
    vault = backups.vault(VOLUME, size_gb=1)
    disk = backups.disk()
    _write_random(backups, disk, 0, 512)
    _backup(backups, vault, disk)                       # 512 MB of 1 GB: fine
    _write_random(backups, disk, 1024, 600)
    _backup(backups, vault, disk)                       # starts under capacity: still runs
    with read_scope() as session:
        usage = vaults.usage(session, session.get(models.Vault, vault))
    assert usage.used_bytes == 1112 << 20 and usage.used_vault_size == 1
    assert usage.vault_util == round(100 * (1112 << 20) / GIB, 2)
    job = backups.wait(backups.submit(requests.request_backup, vault, disk))
    assert job['status'] == 'FAIL' and job['fail_reason'] == 'vault capacity used up'


def test_a_new_disk_from_a_backup_goes_through_restoring_and_holds_its_data(backups):
    # rule: R4, R7
    vault, disk = backups.vault(VOLUME), backups.disk()
    _write_random(backups, disk, 3, 16)
    digest = backups.volumes.checksum(disk)['digest']
    backup_id = _backup(backups, vault, disk)['entities']['backup_id']
    spec = volumes.VolumeSpec(size=20, volume_type='SAS', availability_zone='sim-az-1')
    with session_scope() as session:
        operation, volume = requests.request_new_disk(session, backups.project_id, backup_id,
                                                      spec)
        operation_id, volume_id = operation.id, volume.id
    outbox.dispatch([operation_id])
    assert backups.wait(operation_id)['status'] == 'SUCCESS'
    with read_scope() as session:
        trail = session.execute(select(models.StatusEvent.to_status)
                                .where(models.StatusEvent.entity_id == volume_id)
                                .order_by(models.StatusEvent.id)).scalars().all()
        assert session.get(models.Volume, volume_id).size == 20
    assert trail == ['creating', 'available', 'restoring-backup', 'available']
    restored = backups.volumes.checksum(volume_id)
    assert restored['size'] == 20 * GIB
    # the same bytes, on a larger disk: compare the backed-up range only
    assert backups.volumes.read(volume_id, 3 << 20, 16 << 20) == \
        backups.volumes.read(disk, 3 << 20, 16 << 20)
    assert backups.volumes.checksum(disk)['digest'] == digest  # the source is untouched


def test_a_running_backup_reports_its_progress(backups):
    vault, disk = backups.vault(VOLUME), backups.disk()
    _write_random(backups, disk, 0, 64)
    response = backups.stack.admin().post('/sim/v1/faults', json={
        'point': 'backup.batch', 'action': 'delay', 'seconds': 3})
    assert response.status_code == 201
    operation_id = backups.submit(requests.request_backup, vault, disk)
    held = poll(lambda: backups.operation(operation_id), lambda op: op.progress > 0, 30,
                'no progress reported')
    assert held.status == 'RUNNING' and 0 < held.progress < 100
    assert backups.wait(operation_id)['status'] == 'SUCCESS'
    assert backups.operation(operation_id).progress == 100


def test_disks_with_equal_data_backed_up_together_store_each_chunk_once(backups):
    # rule: B5
    vault = backups.vault(SERVER)
    server, disks = backups.server([10, 10])
    data = os.urandom(24 << 20)
    for disk in disks:  # the two disk jobs race to store the same chunks
        backups.volumes.write(disk, 0, data)
    digest = backups.volumes.checksum(disks[0])['digest']
    job = _backup(backups, vault, server)
    with read_scope() as session:
        usage = vaults.usage(session, session.get(models.Vault, vault))
    assert usage.used_bytes == 24 << 20
    report = backups.manage_json('chunks', 'audit')
    assert report['consistent'] and not report['pinned'], report
    targets = [backups.disk(), backups.disk()]
    restore = backups.submit(requests.request_restore, job['entities']['backup_id'],
                             dict(zip(disks, targets)))
    assert backups.wait(restore)['status'] == 'SUCCESS'
    assert [backups.volumes.checksum(t)['digest'] for t in targets] == [digest, digest]
