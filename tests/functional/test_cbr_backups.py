"""CBR v3 checkpoints, backups, restores and tasks on a running stack, with real bytes."""
from __future__ import annotations

import os

import pytest

from tests.support.cbr import Cbr
from tests.support.client import poll

BLOCK = 65536


@pytest.fixture
def cbr(stack) -> Cbr:
    return Cbr(stack)


def _hold(stack, point: str, seconds: float = 5) -> None:
    response = stack.admin().post('/sim/v1/faults', json={'point': point, 'action': 'delay',
                                                          'seconds': seconds, 'times': 1})
    assert response.status_code == 201


def test_backup_names_default_and_suffixes_for_several_resources(cbr):
    # rule: B1
    disks = [cbr.disk(10) for _ in range(3)]
    vault = cbr.vault('disk', 100, disks)
    checkpoint = cbr.checkpoint(vault['id'], name='nightly', description='before upgrade')
    assert checkpoint['extra_info'] == {'name': 'nightly', 'description': 'before upgrade',
                                        'retention_duration': -1}
    backups = poll(lambda: cbr.backups_of(checkpoint['id']),
                   lambda found: all(b['status'] == 'available' for b in found), 60,
                   'backups did not finish')
    assert sorted(b['name'] for b in backups) == ['nightly-0001', 'nightly-0002',
                                                  'nightly-0003']
    assert {b['resource_id'] for b in backups} == set(disks)
    assert all(b['description'] == 'before upgrade' for b in backups)
    single = cbr.backup(vault['id'], disks[0])
    assert single['name'].startswith('manualbk_') and len(single['name']) == 13
    for bad in ('x' * 65, 'has space', 'semi;colon'):
        body = cbr.error('POST', 'checkpoints', 400, json={'checkpoint': {
            'vault_id': vault['id'], 'parameters': {'name': bad}}})
        assert 'checkpoint.parameters.name' in body['error_msg']
    long_description = cbr.error('POST', 'checkpoints', 400, json={'checkpoint': {
        'vault_id': vault['id'], 'parameters': {'description': 'd' * 256}}})
    assert 'description' in long_description['error_msg']


def test_first_backup_is_full_then_incremental_and_a_full_one_on_request(cbr):
    # rule: B4, B5, P12
    disk = cbr.disk(10)
    cbr.write(disk, 0, os.urandom(8 * BLOCK))
    vault = cbr.vault('disk', 100, [disk])
    first = cbr.backup(vault['id'], disk)
    cbr.write(disk, 2 * BLOCK, os.urandom(BLOCK))
    second = cbr.backup(vault['id'], disk)
    assert cbr.admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 86400}
                          ).status_code == 200  # rule P12: a day after the last full one
    forced = cbr.backup(vault['id'], disk, incremental=False)
    assert (first['incremental'], second['incremental'], forced['incremental']) == \
        (False, True, False)
    for backup in (first, second, forced):
        cbr.call('DELETE', 'backups/%s' % backup['id'], expect=204)
        cbr.wait_gone('backups/%s' % backup['id'])
    assert cbr.backup(vault['id'], disk)['incremental'] is False  # none left: full again


def test_backup_list_filters_sorting_and_paging(cbr):
    # rule: B12
    disks = [cbr.disk(10), cbr.disk(10)]
    vault = cbr.vault('disk', 100, disks)
    made = [cbr.backup(vault['id'], disks[0], name='alpha'),
            cbr.backup(vault['id'], disks[1], name='beta'),
            cbr.backup(vault['id'], disks[0], name='gamma')]
    ids = [b['id'] for b in made]

    def listed(**params) -> list[str]:
        return [b['id'] for b in cbr.call('GET', 'backups', params={
            'vault_id': vault['id'], **params})['backups']]
    assert listed() == ids[::-1]  # newest first
    assert listed(sort='created_at:asc') == ids
    assert listed(sort='name:desc') == [ids[2], ids[1], ids[0]]
    assert listed(resource_id=disks[0], sort='created_at:asc') == [ids[0], ids[2]]
    assert listed(name='beta') == [ids[1]]
    assert listed(status='available', resource_type='OS::Cinder::Volume',
                  sort='created_at:asc') == ids
    assert listed(status='error') == []
    assert listed(limit=1, offset=1) == [ids[1]]
    assert listed(marker=ids[2]) == [ids[1], ids[0]]
    page = cbr.call('GET', 'backups', params={'vault_id': vault['id'], 'limit': 2})
    assert (page['count'], page['limit'], page['offset'], len(page['backups'])) == (3, 2, 0, 2)
    created = made[1]['created_at'][:19] + 'Z'
    assert ids[1] in listed(start_time=created, end_time='2999-01-01T00:00:00Z')
    assert listed(end_time='2000-01-01T00:00:00Z') == []
    for name, value in (('sort', 'size'), ('status', 'lost'), ('limit', 'ten'),
                        ('start_time', 'yesterday'), ('resource_type', 'OS::Nova::Thing'),
                        ('marker', 'not-a-backup')):
        body = cbr.error('GET', 'backups', 400, params={name: value})
        assert name in body['error_msg'], body


def test_rename_show_and_delete_a_backup_and_its_tasks(cbr):
    # rule: B3, T1
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 100, [disk], name='tasks-vault')
    backup = cbr.backup(vault['id'], disk)
    renamed = cbr.call('PUT', 'backups/%s' % backup['id'],
                       json={'backup': {'name': 'kept'}})['backup']
    assert renamed['name'] == 'kept'
    assert cbr.error('PUT', 'backups/%s' % backup['id'], 400,
                     json={'backup': {'name': 'x' * 65}})['error_code'] == 'BackupService.0100'
    cbr.call('DELETE', 'backups/%s' % backup['id'], expect=204)
    cbr.wait_gone('backups/%s' % backup['id'])
    assert cbr.error('GET', 'backups/%s' % backup['id'], 404)['error_code'] == \
        'BackupService.6400'

    backup_task, = cbr.tasks(operation_type='backup', resource_id=disk)
    assert backup_task['status'] == 'success' and backup_task['vault_name'] == 'tasks-vault'
    assert backup_task['extra_info']['common']['progress'] == 100
    assert backup_task['extra_info']['backup']['backup_id'] == backup['id']
    assert backup_task['extra_info']['resource']['id'] == disk
    assert backup_task['error_info'] == {'code': '', 'message': ''}
    delete_task, = cbr.tasks(operation_type='delete', vault_id=vault['id'])
    assert delete_task['extra_info']['delete']['backup_id'] == backup['id']
    assert cbr.wait_task(delete_task['id'])['status'] == 'success'
    assert {t['id'] for t in cbr.tasks(vault_name='tasks-vault')} == \
        {backup_task['id'], delete_task['id']}
    assert cbr.tasks(vault_id=vault['id'], status='failed') == []
    assert cbr.error('GET', 'operation-logs/%s' % ('0' * 32), 404)['error_code'] == \
        'BackupService.6500'
    assert cbr.error('GET', 'operation-logs', 400, params={'status': 'done'})


def test_a_failed_backup_is_in_error_with_its_reason_in_the_task(cbr, stack):
    # rule: T1, B3
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 100, [disk])
    assert stack.admin().post('/sim/v1/faults', json={'point': 'backup.transfer',
                                                      'action': 'fail'}).status_code == 201
    checkpoint = cbr.checkpoint(vault['id'])
    backup = cbr.wait_backup(cbr.backups_of(checkpoint['id'])[0]['id'])
    assert backup['status'] == 'error'
    task, = cbr.tasks(resource_id=disk, status='failed')
    assert task['error_info']['code'] == 'SIM.0999'
    assert 'backup.transfer' in task['error_info']['message']
    cbr.call('DELETE', 'backups/%s' % backup['id'], expect=204)  # error backups delete too
    cbr.wait_gone('backups/%s' % backup['id'])


def test_a_resource_being_backed_up_is_skipped_by_the_next_checkpoint(cbr, stack):
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 100, [disk])
    _hold(stack, 'backup.start')
    first = cbr.checkpoint(vault['id'])
    second = cbr.checkpoint(vault['id'])
    skipped = second['vault']['skipped_resources']
    assert [(s['id'], s['code']) for s in skipped] == [(disk, 'BackupService.6405')]
    assert cbr.backups_of(second['id']) == []
    assert first['status'] == 'protecting'
    poll(lambda: cbr.call('GET', 'checkpoints/%s' % first['id'])['checkpoint']['status'],
         lambda status: status == 'available', 60, 'the checkpoint did not finish')


def test_disk_restore_gives_back_the_bytes_of_backup_time(cbr):
    # rule: R3, R7, B5
    disk = cbr.disk(10)
    cbr.fill(disk, seed=11, fraction=0.001)
    before = cbr.checksum(disk)
    vault = cbr.vault('disk', 100, [disk])
    first = cbr.backup(vault['id'], disk)
    cbr.write(disk, 5 * BLOCK, os.urandom(3 * BLOCK))
    second = cbr.backup(vault['id'], disk)
    changed = cbr.checksum(disk)
    cbr.call('DELETE', 'backups/%s' % first['id'], expect=204)  # B5: second stays whole
    cbr.wait_gone('backups/%s' % first['id'])
    cbr.write(disk, 0, os.urandom(16 * BLOCK))
    cbr.restore_disk(second['id'], disk)
    assert cbr.checksum(disk) == changed != before
    other = cbr.disk(10)
    wrong = cbr.error('POST', 'backups/%s/restore' % second['id'], 400,
                      json={'restore': {'volume_id': other}})
    assert wrong['error_code'] == 'BackupService.6406'
    assert cbr.error('POST', 'backups/%s/restore' % second['id'], 400,
                     json={'restore': {}})['error_msg'].startswith('invalid value for restore')


def test_a_disk_of_a_running_server_is_not_restored(cbr):
    # rule: R3
    server, (system, data) = cbr.server((10, 10))
    vault = cbr.vault('disk', 100, [data])
    backup = cbr.backup(vault['id'], data)
    refused = cbr.error('POST', 'backups/%s/restore' % backup['id'], 409,
                        json={'restore': {'volume_id': data}})
    assert refused['error_code'] == 'BackupService.6406'
    assert cbr.disk_status(data) == 'in-use'


def test_server_restore_stops_the_server_restores_each_disk_and_powers_it_on(cbr):
    # rule: R1, R2, R7, C3
    server, disks = cbr.server((10, 10))
    for index, disk in enumerate(disks):
        cbr.fill(disk, seed=20 + index, fraction=0.001)
    digests = [cbr.checksum(d) for d in disks]
    vault = cbr.vault('server', 100, [server])
    backup = cbr.backup(vault['id'], server)
    assert backup['resource_type'] == 'OS::Nova::Server'
    children = {child['resource_id']: child for child in backup['children']}
    assert set(children) == set(disks)
    for disk in disks:
        cbr.write(disk, 0, os.urandom(4 * BLOCK))
    system_child, data_child = children[disks[0]], children[disks[1]]
    onto_system = cbr.error('POST', 'backups/%s/restore' % backup['id'], 400, json={
        'restore': {'server_id': server, 'mappings': [
            {'backup_id': data_child['id'], 'volume_id': disks[0]}]}})
    assert onto_system['error_code'] == 'BackupService.6406'
    cbr.call('POST', 'backups/%s/restore' % backup['id'], expect=202, json={'restore': {
        'server_id': server, 'power_on': True, 'mappings': [
            {'backup_id': system_child['id'], 'volume_id': disks[0]},
            {'backup_id': data_child['id'], 'volume_id': disks[1]}]}})
    task = poll(lambda: cbr.tasks(operation_type='restore', resource_id=server),
                lambda found: found and found[0]['status'] == 'success', 60,
                'the restore did not finish')[0]
    assert task['extra_info']['restore']['target_resource_id'] == server
    assert [cbr.checksum(d) for d in disks] == digests
    assert cbr.server_status(server) == 'ACTIVE'
    # power_on false leaves it stopped
    cbr.call('POST', 'backups/%s/restore' % backup['id'], expect=202,
             json={'restore': {'server_id': server, 'power_on': False}})
    poll(lambda: len(cbr.tasks(operation_type='restore', resource_id=server, status='success')),
         lambda done: done == 2, 60, 'the second restore did not finish')
    assert cbr.server_status(server) == 'SHUTOFF'


def test_a_server_vault_backs_up_only_the_included_disks(cbr):
    # rule: V12
    server, (system, data) = cbr.server((10, 10))
    vault = cbr.call('POST', 'vaults', json={'vault': {
        'name': 'subset', 'billing': {'consistent_level': 'crash_consistent',
                                      'object_type': 'server', 'protect_type': 'backup',
                                      'size': 100},
        'resources': [{'id': server, 'type': 'OS::Nova::Server',
                       'extra_info': {'include_volumes': [{'id': data}]}}]}})['vault']
    backup = cbr.backup(vault['id'], server)
    assert [child['resource_id'] for child in backup['children']] == [data]


def test_removing_a_resource_deletes_its_backups_in_that_vault(cbr):
    # rule: V9
    disks = [cbr.disk(10), cbr.disk(10)]
    vault = cbr.vault('disk', 100, disks)
    gone = [cbr.backup(vault['id'], disks[0]), cbr.backup(vault['id'], disks[0])]
    kept = cbr.backup(vault['id'], disks[1])
    removed = cbr.call('POST', 'vaults/%s/removeresources' % vault['id'],
                       json={'resource_ids': [disks[0]]})
    assert removed == {'remove_resource_ids': [disks[0]]}
    for backup in gone:
        cbr.wait_gone('backups/%s' % backup['id'])
    assert cbr.call('GET', 'backups/%s' % kept['id'])['backup']['status'] == 'available'
    shown = cbr.call('GET', 'vaults/%s' % vault['id'])['vault']
    assert [r['id'] for r in shown['resources']] == [disks[1]]
    not_there = cbr.error('POST', 'vaults/%s/removeresources' % vault['id'], 400,
                          json={'resource_ids': [disks[0]]})
    assert not_there['error_code'] == 'BackupService.6307'


def test_a_backup_outlives_its_disk(cbr):
    # rule: B11
    disk = cbr.disk(10)
    cbr.fill(disk, seed=5, fraction=0.001)
    digest = cbr.checksum(disk)
    vault = cbr.vault('disk', 100, [disk])
    backup = cbr.backup(vault['id'], disk)
    job = cbr.client.delete('/v2/%s/cloudvolumes/%s' % (cbr.project_id, disk)).json()
    assert cbr.client.wait_job(job['job_id'])['status'] == 'SUCCESS'
    assert cbr.call('GET', 'backups/%s' % backup['id'])['backup']['status'] == 'available'
    # rule: R4
    created = cbr.client.post('/v2/%s/cloudvolumes' % cbr.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SAS', 'size': 10,
        'backup_id': backup['id']}}).json()
    assert cbr.client.wait_job(created['job_id'])['status'] == 'SUCCESS'
    new_disk = created['volume_ids'][0]
    assert cbr.disk_status(new_disk) == 'available'
    assert cbr.checksum(new_disk) == digest
    smaller = cbr.client.post('/v2/%s/cloudvolumes' % cbr.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10,
        'backup_id': backup['id'], 'count': 2}})
    assert smaller.status_code == 400 and 'count' in smaller.json()['error']['message']


def test_running_backups_and_restores_cannot_be_stopped_by_deleting_them(cbr, stack):
    # rule: B9, B3
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 100, [disk])
    backup = cbr.backup(vault['id'], disk)
    _hold(stack, 'restore.start')
    cbr.call('POST', 'backups/%s/restore' % backup['id'], expect=202,
             json={'restore': {'volume_id': disk}})
    assert cbr.call('GET', 'backups/%s' % backup['id'])['backup']['status'] == 'restoring'
    assert cbr.error('DELETE', 'backups/%s' % backup['id'], 409)['error_code'] == \
        'BackupService.6401'
    cbr.wait_backup(backup['id'], ('available',))
    _hold(stack, 'backup.start')
    checkpoint = cbr.checkpoint(vault['id'])
    running = cbr.backups_of(checkpoint['id'])[0]
    assert running['status'] == 'protecting'
    assert cbr.error('DELETE', 'backups/%s' % running['id'], 409)['error_code'] == \
        'BackupService.6401'
    assert cbr.wait_backup(running['id'])['status'] == 'available'


def test_backups_of_a_vault_being_deleted_are_not_restored(cbr, stack):
    # rule: B10
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 100, [disk])
    backup = cbr.backup(vault['id'], disk)
    _hold(stack, 'vault.delete')
    cbr.call('DELETE', 'vaults/%s' % vault['id'], expect=204)
    refused = cbr.error('POST', 'backups/%s/restore' % backup['id'], 409,
                        json={'restore': {'volume_id': disk}})
    assert refused['error_code'] == 'BackupService.6301', refused
    cbr.wait_gone('vaults/%s' % vault['id'])


def test_a_busy_server_is_not_restored(cbr, stack):
    # rule: R1
    server, disks = cbr.server((10, 10))
    vault = cbr.vault('server', 100, [server])
    backup = cbr.backup(vault['id'], server)
    _hold(stack, 'ecs.stop_server')
    stopped = cbr.client.post('/v1/%s/cloudservers/action' % cbr.project_id, json={
        'os-stop': {'type': 'SOFT', 'servers': [{'id': server}]}})
    assert stopped.status_code == 200, stopped.text
    refused = cbr.error('POST', 'backups/%s/restore' % backup['id'], 409,
                        json={'restore': {'server_id': server}})
    assert refused['error_code'] == 'BackupService.6406'
    assert cbr.client.wait_job(stopped.json()['job_id'])['status'] == 'SUCCESS'
