"""CBR v3 vaults on a running stack: creation limits, resources, capacity, policies, deletion."""
from __future__ import annotations

import json
import os
import threading

import pytest

from tests.support.cbr import Cbr
from tests.support.client import poll


@pytest.fixture
def cbr(stack) -> Cbr:
    return Cbr(stack)


def test_vault_create_show_list_update_and_summary(cbr):
    # rule: V1, V2, V3
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 50, [disk], description='nightly', name='team-a_backups',
                      tags=[{'key': 'env', 'value': 'prod'}])
    assert vault['billing']['object_type'] == 'disk'
    assert vault['billing']['spec_code'] == 'vault.backup.volume.normal'
    assert vault['billing']['size'] == 50 and vault['billing']['status'] == 'available'
    assert vault['provider_id'] == 'd1603440-187d-4516-af25-121250c7cc97'
    assert [r['id'] for r in vault['resources']] == [disk]
    assert vault['resources'][0]['size'] == 10 and vault['billing']['allocated'] == 10
    assert vault['tags'] == [{'key': 'env', 'value': 'prod'}]

    shown = cbr.call('GET', 'vaults/%s' % vault['id'])['vault']
    assert shown['name'] == 'team-a_backups' and shown['description'] == 'nightly'
    listed = cbr.call('GET', 'vaults', params={'object_type': 'disk', 'name': 'team-a_backups'})
    assert vault['id'] in [v['id'] for v in listed['vaults']]
    by_resource = cbr.call('GET', 'vaults', params={'resource_ids': disk})
    assert [v['id'] for v in by_resource['vaults']] == [vault['id']]
    assert cbr.call('GET', 'vaults', params={'object_type': 'server',
                                             'id': vault['id']})['count'] == 0

    updated = cbr.call('PUT', 'vaults/%s' % vault['id'], json={'vault': {
        'name': 'renamed', 'billing': {'size': 51}, 'threshold': 90}})['vault']
    assert (updated['name'], updated['billing']['size'], updated['threshold']) == \
        ('renamed', 51, 90)
    assert updated['billing']['object_type'] == 'disk'  # V1: the type never changes
    # V3: an expansion adds at least 1 GB; nothing shrinks
    shrink = cbr.error('PUT', 'vaults/%s' % vault['id'], 400,
                       json={'vault': {'billing': {'size': 51}}})
    assert shrink['error_code'] == 'BackupService.6308'
    summary = cbr.call('GET', 'vaults/summary')
    every = cbr.call('GET', 'vaults')['vaults']
    assert summary['size'] == sum(v['billing']['size'] for v in every)
    used_mb = sum(v['billing']['used'] for v in every)
    assert abs(summary['used_size'] - used_mb / 1024) <= 1


def test_vault_name_and_capacity_limits(cbr):
    # rule: V2, V3
    unnamed = cbr.call('POST', 'vaults', json={'vault': {
        'billing': {'consistent_level': 'crash_consistent', 'object_type': 'disk',
                    'protect_type': 'backup', 'size': 10}, 'resources': []}})['vault']
    assert unnamed['name'].startswith('vault_') and len(unnamed['name']) == 10
    for name, size in (('a' * 65, 10), ('bad name', 10), ('bad<name>', 10), ('', 10),
                       ('ok', 9), ('ok', 10_485_761), ('ok', '100')):
        body = cbr.error('POST', 'vaults', 400, json={'vault': {
            'name': name, 'resources': [],
            'billing': {'consistent_level': 'crash_consistent', 'object_type': 'disk',
                        'protect_type': 'backup', 'size': size}}})
        assert 'vault.' in body['error_msg'], body
    assert cbr.vault('disk', 10_485_760, name='中文-存储库')['billing']['size'] == 10_485_760


def test_a_resource_goes_only_into_a_vault_of_its_type_and_only_one_vault(cbr):
    # rule: V1, V4
    disk = cbr.disk(10)
    server_vault = cbr.vault('server', 100)
    wrong = cbr.error('POST', 'vaults/%s/addresources' % server_vault['id'], 400, json={
        'resources': [{'id': disk, 'type': 'OS::Cinder::Volume'}]})
    assert wrong['error_code'] == 'BackupService.6303'
    first = cbr.vault('disk', 100, [disk])
    other = cbr.vault('disk', 100)
    taken = cbr.error('POST', 'vaults/%s/addresources' % other['id'], 409, json={
        'resources': [{'id': disk, 'type': 'OS::Cinder::Volume'}]})
    assert taken['error_code'] == 'BackupService.6302' and first['id'] in taken['error_msg']
    missing = cbr.error('POST', 'vaults/%s/addresources' % other['id'], 404, json={
        'resources': [{'id': 'no-such-disk', 'type': 'OS::Cinder::Volume'}]})
    assert missing['error_code'] == 'BackupService.6309'


def test_two_vaults_claiming_one_resource_at_once_exactly_one_wins(cbr):
    # rule: V4
    disks = [cbr.disk(10) for _ in range(3)]
    vaults = [cbr.vault('disk', 100) for _ in range(4)]
    for disk in disks:
        results: list[int] = []

        def claim(vault_id: str) -> None:
            results.append(cbr.response('POST', 'vaults/%s/addresources' % vault_id, json={
                'resources': [{'id': disk, 'type': 'OS::Cinder::Volume'}]}).status_code)
        threads = [threading.Thread(target=claim, args=(v['id'],)) for v in vaults]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [200, 409, 409, 409], results
        owners = cbr.call('GET', 'vaults', params={'resource_ids': disk})['vaults']
        assert len(owners) == 1


def test_associated_sizes_stay_within_the_capacity_and_a_vault_holds_256_at_most(cbr):
    # rule: V6, V4
    disks = [cbr.disk(10), cbr.disk(10)]
    vault = cbr.vault('disk', 15, [disks[0]])
    over = cbr.error('POST', 'vaults/%s/addresources' % vault['id'], 400, json={
        'resources': [{'id': disks[1], 'type': 'OS::Cinder::Volume'}]})
    assert over['error_code'] == 'BackupService.6305'
    too_many = cbr.error('POST', 'vaults/%s/addresources' % vault['id'], 400, json={
        'resources': [{'id': 'd%03d' % i, 'type': 'OS::Cinder::Volume'} for i in range(257)]})
    assert 'resources' in too_many['error_msg']


def test_only_running_or_stopped_servers_with_disks_and_ready_disks_are_associated(cbr, stack):
    # rule: V5
    admin = stack.admin()
    assert admin.post('/sim/v1/faults', json={'point': 'evs.create_volume', 'action': 'delay',
                                               'seconds': 5, 'times': 1}).status_code == 201
    body = cbr.client.post('/v2.1/%s/cloudvolumes' % cbr.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10}}).json()
    creating = body['volume_ids'][0]
    try:
        assert cbr.disk_status(creating) == 'creating'
        vault = cbr.vault('disk', 100)
        refused = cbr.error('POST', 'vaults/%s/addresources' % vault['id'], 409, json={
            'resources': [{'id': creating, 'type': 'OS::Cinder::Volume'}]})
        assert refused['error_code'] == 'BackupService.6306' and 'creating' in refused['error_msg']
    finally:
        admin.delete('/sim/v1/faults')


def test_other_projects_vaults_are_not_found(cbr, stack):
    vault = cbr.vault('disk', 10)
    alt = Cbr(stack, 'alt_demo')
    assert alt.error('GET', 'vaults/%s' % vault['id'], 404)['error_code'] == 'BackupService.6300'
    assert alt.error('DELETE', 'vaults/%s' % vault['id'], 404)['error_code'] == \
        'BackupService.6300'
    assert vault['id'] not in [v['id'] for v in alt.call('GET', 'vaults')['vaults']]
    # another project's id in the path is refused outright
    response = cbr.client.get('/v3/%s/vaults' % alt.project_id)
    assert response.status_code == 403
    # another project's disk is unknown here
    alt_disk = alt.disk(10)
    foreign = cbr.error('POST', 'vaults/%s/addresources' % vault['id'], 404, json={
        'resources': [{'id': alt_disk, 'type': 'OS::Cinder::Volume'}]})
    assert foreign['error_code'] == 'BackupService.6309'
    alt_vault = alt.vault('disk', 10, [alt_disk])
    alt_backup = alt.backup(alt_vault['id'], alt_disk)
    for method, suffix in (('GET', 'backups/%s'), ('DELETE', 'backups/%s'),
                           ('GET', 'checkpoints/%s')):
        target = alt_backup['checkpoint_id'] if 'checkpoints' in suffix else alt_backup['id']
        assert cbr.response(method, suffix % target).status_code == 404


def test_one_policy_per_vault_and_dissociation(cbr):
    # rule: V11, P13
    first, second = cbr.policy('p-first'), cbr.policy('p-second')
    vault = cbr.vault('disk', 10, backup_policy_id=first['id'])
    shown = cbr.call('GET', 'policies/%s' % first['id'])['policy']
    assert shown['associated_vaults'] == [{'vault_id': vault['id']}]
    refused = cbr.error('POST', 'vaults/%s/associatepolicy' % vault['id'], 409,
                        json={'policy_id': second['id']})
    assert refused['error_code'] == 'BackupService.6310'
    assert cbr.call('GET', 'vaults', params={'policy_id': first['id']})['count'] == 1
    cbr.call('POST', 'vaults/%s/dissociatepolicy' % vault['id'], json={'policy_id': first['id']})
    applied = cbr.call('POST', 'vaults/%s/associatepolicy' % vault['id'],
                       json={'policy_id': second['id']})
    assert applied['associate_policy'] == {'vault_id': vault['id'], 'policy_id': second['id']}
    listed = cbr.call('GET', 'policies', params={'vault_id': vault['id']})['policies']
    assert [p['id'] for p in listed] == [second['id']]


def test_deleting_a_vault_deletes_its_backups_and_frees_every_block(cbr):
    # rule: V8, V14
    disk = cbr.disk(10)
    cbr.fill(disk, seed=3, fraction=0.002)
    vault = cbr.vault('disk', 20, [disk])
    backup = cbr.backup(vault['id'], disk)
    used = cbr.call('GET', 'vaults/%s' % vault['id'])['vault']['billing']['used']
    assert used > 0 and cbr.stored_objects(vault['id'])
    cbr.call('DELETE', 'vaults/%s' % vault['id'], expect=204)
    cbr.wait_gone('vaults/%s' % vault['id'])
    cbr.wait_gone('backups/%s' % backup['id'])
    task = cbr.tasks(operation_type='vault_delete', vault_id=vault['id'])[0]
    assert task['status'] == 'success'
    assert task['extra_info']['vault_delete'] == {'fail_count': 0, 'total_count': 1}
    cbr.wait_freed(vault['id'])  # every block of the vault is freed
    assert json.loads(cbr.stack.manage('chunks', 'audit'))['consistent']
    # the disk is free to join another vault
    cbr.vault('disk', 20, [disk])


def test_a_vault_deletes_only_when_available_or_error_and_not_during_a_backup(cbr, stack):
    # rule: V8, B3
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 20, [disk])
    admin = stack.admin()
    assert admin.post('/sim/v1/faults', json={'point': 'backup.start', 'action': 'delay',
                                               'seconds': 5, 'times': 1}).status_code == 201
    try:
        checkpoint = cbr.checkpoint(vault['id'])
        busy = cbr.error('DELETE', 'vaults/%s' % vault['id'], 409)
        assert busy['error_code'] == 'BackupService.6301'
        backup = cbr.backups_of(checkpoint['id'])[0]
        assert backup['status'] == 'protecting'
        assert cbr.error('DELETE', 'backups/%s' % backup['id'], 409)['error_code'] == \
            'BackupService.6401'
    finally:
        admin.delete('/sim/v1/faults')
    poll(lambda: cbr.backups_of(checkpoint['id'])[0]['status'], lambda s: s == 'available',
         60, 'the held backup did not finish')


def test_reset_wipes_vaults_policies_checkpoints_and_backups(fresh_stack_factory):
    stack = fresh_stack_factory()
    cbr = Cbr(stack)
    disk = cbr.disk(10)
    policy = cbr.policy('wiped')
    vault = cbr.vault('disk', 20, [disk], backup_policy_id=policy['id'])
    backup = cbr.backup(vault['id'], disk)
    assert stack.admin().post('/sim/v1/reset').status_code == 200
    assert cbr.call('GET', 'vaults')['count'] == 0
    assert cbr.call('GET', 'policies')['count'] == 0
    assert cbr.call('GET', 'backups')['count'] == 0
    assert cbr.error('GET', 'checkpoints/%s' % backup['checkpoint_id'], 404)
    assert cbr.call('GET', 'operation-logs')['count'] == 0


def test_a_deleting_vault_refuses_work_and_a_failed_deletion_leaves_it_in_error(cbr, stack):
    # rule: V7, V8
    disk, spare = cbr.disk(10), cbr.disk(10)
    vault = cbr.vault('disk', 20, [disk])
    admin = stack.admin()
    assert admin.post('/sim/v1/faults', json={'point': 'vault.delete', 'action': 'delay',
                                               'seconds': 8, 'times': 1}).status_code == 201
    cbr.call('DELETE', 'vaults/%s' % vault['id'], expect=204)
    assert cbr.call('GET', 'vaults/%s' % vault['id'])['vault']['billing']['status'] == 'deleting'
    for method, suffix, body in (
            ('POST', 'vaults/%s/addresources', {'resources': [
                {'id': spare, 'type': 'OS::Cinder::Volume'}]}),
            ('PUT', 'vaults/%s', {'vault': {'billing': {'size': 30}}}),
            ('POST', 'vaults/%s/removeresources', {'resource_ids': [disk]})):
        refused = cbr.error(method, suffix % vault['id'], 409, json=body)
        assert refused['error_code'] == 'BackupService.6301', refused
    checkpoint = cbr.error('POST', 'checkpoints', 409, json={'checkpoint': {
        'vault_id': vault['id']}})
    assert checkpoint['error_code'] == 'BackupService.6301'
    cbr.wait_gone('vaults/%s' % vault['id'])

    failing = cbr.vault('disk', 20)
    assert admin.post('/sim/v1/faults', json={'point': 'vault.delete',
                                               'action': 'fail'}).status_code == 201
    cbr.call('DELETE', 'vaults/%s' % failing['id'], expect=204)
    poll(lambda: cbr.call('GET', 'vaults/%s' % failing['id'])['vault']['billing']['status'],
         lambda status: status == 'error', 30, 'the vault did not go to error')
    task = cbr.tasks(operation_type='vault_delete', vault_id=failing['id'])[0]
    assert task['status'] == 'failed' and 'vault.delete' in task['error_info']['message']
    cbr.call('DELETE', 'vaults/%s' % failing['id'], expect=204)  # V8: error vaults delete
    cbr.wait_gone('vaults/%s' % failing['id'])


def test_there_is_no_quota_on_the_number_of_vaults(cbr):
    # rule: V15
    made = {cbr.vault('disk', 10, name='many-%02d' % index)['id'] for index in range(40)}
    listed = {v['id'] for v in cbr.call('GET', 'vaults', params={'limit': 1000})['vaults']}
    assert made <= listed


def test_the_vault_list_is_never_stale(cbr):
    # rule: V14
    disk = cbr.disk(10)
    cbr.write(disk, 0, os.urandom(2 << 20))
    vault = cbr.vault('disk', 20, [disk], name='never-stale')

    def listed() -> dict:
        found = [v for v in cbr.call('GET', 'vaults', params={'name': 'never-stale'})['vaults']
                 if v['id'] == vault['id']]
        return found[0] if found else {}
    assert listed()['billing']['used'] == 0 and listed()['resources'][0]['backup_count'] == 0
    backup = cbr.backup(vault['id'], disk)
    shown = listed()
    assert shown['billing']['used'] == 2  # MB
    assert shown['resources'][0]['backup_count'] == 1
    cbr.call('POST', 'vault/%s/tags' % vault['id'], json={'tag': {'key': 'k', 'value': 'v'}},
             expect=204)
    assert listed()['tags'] == [{'key': 'k', 'value': 'v'}]
    cbr.call('POST', 'vaults/%s/removeresources' % vault['id'], json={'resource_ids': [disk]})
    assert listed()['resources'] == []
    cbr.wait_gone('backups/%s' % backup['id'])
    assert listed()['billing']['used'] == 0
    cbr.call('DELETE', 'vaults/%s' % vault['id'], expect=204)
    cbr.wait_gone('vaults/%s' % vault['id'])
    assert listed() == {}
