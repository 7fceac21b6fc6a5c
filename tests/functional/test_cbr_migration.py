"""Migrating resources between vaults, auto-protection, batch updates and backup expiry."""
from __future__ import annotations

import json
import os

import pytest

from tests.support.cbr import Cbr
from tests.support.client import poll

MIB = 1 << 20


@pytest.fixture
def cbr(stack) -> Cbr:
    return Cbr(stack)


def _migrate_task(cbr: Cbr, vault_id: str) -> dict:
    return poll(lambda: cbr.tasks(operation_type='migrate', vault_id=vault_id),
                lambda found: found and found[0]['status'] in ('success', 'failed'), 60,
                'the migration did not finish')[0]


def test_migrating_a_disk_moves_its_backups_and_their_blocks(cbr):
    # rule: V10, R7
    disk, other = cbr.disk(10), cbr.disk(10)
    cbr.write(disk, 0, os.urandom(2 * MIB))
    source = cbr.vault('disk', 30, [disk, other], name='migrate-from')
    first = cbr.backup(source['id'], disk)
    cbr.write(disk, MIB, os.urandom(MIB))
    digest = cbr.checksum(disk)
    second = cbr.backup(source['id'], disk)
    kept = cbr.backup(source['id'], other)
    destination = cbr.vault('disk', 30, name='migrate-to')
    answer = cbr.call('POST', 'vaults/%s/migrateresources' % source['id'], json={
        'destination_vault_id': destination['id'], 'resource_ids': [disk]})
    assert answer == {'migrated_resources': [disk]}
    task = _migrate_task(cbr, source['id'])
    assert task['status'] == 'success', task
    assert task['extra_info']['common']['progress'] == 100

    moved = cbr.call('GET', 'backups', params={'vault_id': destination['id']})['backups']
    assert sorted(b['id'] for b in moved) == sorted([first['id'], second['id']])
    assert [b['id'] for b in cbr.call('GET', 'backups', params={
        'vault_id': source['id']})['backups']] == [kept['id']]
    shown = {v['name']: v for v in (cbr.call('GET', 'vaults/%s' % vault_id)['vault']
                                    for vault_id in (source['id'], destination['id']))}
    assert [r['id'] for r in shown['migrate-to']['resources']] == [disk]
    assert [r['id'] for r in shown['migrate-from']['resources']] == [other]
    assert shown['migrate-to']['billing']['used'] == 3
    assert shown['migrate-from']['billing']['used'] == 0
    assert json.loads(cbr.stack.manage('chunks', 'audit'))['consistent']

    cbr.write(disk, 0, os.urandom(3 * MIB))
    cbr.restore_disk(second['id'], disk)
    assert cbr.checksum(disk) == digest
    # the next backup in the new vault is incremental to the moved ones
    assert cbr.backup(destination['id'], disk)['incremental'] is True


def test_migration_rules(cbr):
    # rule: V10
    disk = cbr.disk(10)
    cbr.write(disk, 0, os.urandom(MIB))
    source = cbr.vault('disk', 20, [disk])
    cbr.backup(source['id'], disk)
    server_vault = cbr.vault('server', 20)
    path = 'vaults/%s/migrateresources' % source['id']
    wrong_type = cbr.error('POST', path, 400, json={'destination_vault_id': server_vault['id'],
                                                    'resource_ids': [disk]})
    assert wrong_type['error_code'] == 'BackupService.6303'
    destination = cbr.vault('disk', 20)
    stranger = cbr.error('POST', path, 400, json={'destination_vault_id': destination['id'],
                                                  'resource_ids': [cbr.disk(10)]})
    assert stranger['error_code'] == 'BackupService.6307'
    same = cbr.error('POST', path, 400, json={'destination_vault_id': source['id'],
                                              'resource_ids': [disk]})
    assert 'destination_vault_id' in same['error_msg']
    missing = cbr.error('POST', path, 404, json={'destination_vault_id': 'nope',
                                                 'resource_ids': [disk]})
    assert missing['error_code'] == 'BackupService.6300'
    assert cbr.error('POST', path, 400, json={'destination_vault_id': destination['id'],
                                              'resource_ids': []})


def test_suspending_a_resource_and_batch_updating_vaults(cbr):
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 20, [disk])
    assert vault['resources'][0]['auto_protect'] is True
    answer = cbr.call('PUT', 'vaults/%s/set-resources' % vault['id'],
                      json={'resource_ids': [disk], 'action': 'suspend'})
    assert answer == {'set_resource_ids': [disk]}
    shown = cbr.call('GET', 'vaults/%s' % vault['id'])['vault']
    assert shown['resources'][0]['auto_protect'] is False
    assert cbr.error('PUT', 'vaults/%s/set-resources' % vault['id'], 400,
                     json={'resource_ids': [disk], 'action': 'pause'})
    updated = cbr.call('PUT', 'vaults/batch-update', json={'vault': {'threshold': 55}})
    assert vault['id'] in updated['updated_vaults_id']
    assert all(v['threshold'] == 55 for v in cbr.call('GET', 'vaults')['vaults'])
    assert cbr.error('PUT', 'vaults/batch-update', 400, json={'vault': {'threshold': 0}})


def test_changing_the_expiry_of_a_vaults_backups(cbr):
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 20, [disk])
    backups = [cbr.backup(vault['id'], disk), cbr.backup(vault['id'], disk)]
    answer = cbr.call('PUT', 'vaults/%s/update-backup-expiration-time' % vault['id'], json={
        'expect_expiration_date': '2999-06-30', 'time_zone': 'UTC+08:00'})
    assert (answer['affected_backups_count'], answer['new_expiration_day']) == (2, '2999-06-30')
    task = cbr.wait_task(answer['operation_log_id'])
    assert task['operation_type'] == 'update_expiration_time'
    assert task['extra_info']['update_expiration_time'] == {'affected_backups_count': 2,
                                                            'expiration_day': '2999-06-30'}
    for backup in backups:
        assert cbr.call('GET', 'backups/%s' % backup['id'])['backup']['expired_at'] == \
            '2999-06-30T16:00:00.000000'
    for body, field in (({'expect_expiration_date': '2000-01-01', 'time_zone': 'UTC+08:00'},
                         'expect_expiration_date'),
                        ({'expect_expiration_date': '2999-13-01', 'time_zone': 'UTC+08:00'},
                         'expect_expiration_date'),
                        ({'expect_expiration_date': '2999-01-01', 'time_zone': 'UTC+8:000'},
                         'time_zone')):
        error = cbr.error('PUT', 'vaults/%s/update-backup-expiration-time' % vault['id'], 400,
                          json=body)
        assert field in error['error_msg'], error
