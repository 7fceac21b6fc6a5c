"""CBR v3 protectables, storage usage and backup metadata on a running stack."""
from __future__ import annotations

import json
import os
import uuid

import pytest

from tests.support.cbr import Cbr
from tests.support.client import poll

MIB = 1 << 20
DISK, SERVER, TURBO = 'OS::Cinder::Volume', 'OS::Nova::Server', 'OS::Sfs::Turbo'


@pytest.fixture
def cbr(stack) -> Cbr:
    return Cbr(stack)


def _unique(prefix: str) -> str:
    return '%s%s' % (prefix, uuid.uuid4().hex[:10])


def _instances(cbr: Cbr, kind: str, **params) -> list[dict]:
    return cbr.call('GET', 'protectables/%s/instances' % kind, params=params)['instances']


def _instance(cbr: Cbr, kind: str, instance_id: str) -> dict:
    return cbr.call('GET', 'protectables/%s/instances/%s' % (kind, instance_id))['instance']


def _named_disk(cbr: Cbr, name: str, size: int = 10) -> str:
    body = cbr.client.post('/v2.1/%s/cloudvolumes' % cbr.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': size,
        'name': name}}).json()
    cbr.client.wait_job(body['job_id'])
    return body['volume_ids'][0]


def _share(cbr: Cbr, name: str) -> str:
    response = cbr.client.post('/v1/%s/sfs-turbo/shares' % cbr.project_id, json={'share': {
        'name': name, 'size': 500, 'availability_zone': 'sim-az-1', 'vpc_id': 'v',
        'subnet_id': 's', 'security_group_id': 'g'}})
    assert response.status_code == 202, response.text
    share_id = response.json()['id']
    poll(lambda: _instance(cbr, 'turbo', share_id)['status'], lambda s: s != '100', 30,
         'file system %s was not created' % share_id)
    return share_id


def _ecs_job(cbr: Cbr, response) -> None:
    assert response.status_code == 200, response.text
    assert cbr.client.wait_job(response.json()['job_id'])['status'] == 'SUCCESS'


def _stop(cbr: Cbr, server_id: str) -> None:
    _ecs_job(cbr, cbr.client.post('/v1/%s/cloudservers/action' % cbr.project_id,
                                  json={'os-stop': {'servers': [{'id': server_id}]}}))


def _detach(cbr: Cbr, server_id: str, disk_id: str) -> None:
    _ecs_job(cbr, cbr.client.delete('/v1/%s/cloudservers/%s/detachvolume/%s'
                                    % (cbr.project_id, server_id, disk_id)))


def _fail_next(stack, point: str):
    response = stack.admin().post('/sim/v1/faults', json={'point': point, 'action': 'fail',
                                                          'times': 1})
    assert response.status_code == 201, response.text


def _usage(cbr: Cbr, **params) -> dict:
    return cbr.call('GET', 'storage_usage', params=params)


def _metadata(cbr: Cbr, backup_id: str) -> dict:
    return cbr.call('GET', 'backups/%s/metadata' % backup_id)


def test_disks_are_listed_by_name_then_id_and_filtered(cbr):
    tag = _unique('pt')
    first, second = _named_disk(cbr, tag + 'a', 10), _named_disk(cbr, tag + 'a', 20)
    last = _named_disk(cbr, tag + 'b', 30)
    same_name = _instances(cbr, 'disk', name=tag + 'a')
    assert [d['id'] for d in same_name] == sorted([first, second])
    assert _instances(cbr, 'disk', name=tag) == []  # the name filter is exact
    shown = _instance(cbr, 'disk', last)
    assert _instances(cbr, 'disk', id=last) == [shown]
    assert (shown['name'], shown['type'], shown['size'], shown['status'], shown['children']) \
        == (tag + 'b', DISK, 30, 'available', [])
    assert shown['detail']['volume_type'] == 'SSD' and shown['detail']['attachments'] == []
    assert shown['protectable'] == {'result': True, 'code': '', 'reason': '', 'message': ''}
    assert _instances(cbr, 'disk', id=last, status='available') == [shown]
    assert _instances(cbr, 'disk', id=last, status='in-use') == []
    assert _instances(cbr, 'disk', id=last, name=tag + 'a') == []


def test_pages_follow_limit_offset_and_marker(cbr):
    tag = _unique('pg')
    ids = [_named_disk(cbr, '%s%d' % (tag, index)) for index in range(3)]
    everything = _instances(cbr, 'disk')
    assert 3 <= len(everything) <= 50  # the default and largest page is 50
    # the three disks are the only ones of their names: page through them alone
    pages = [_instances(cbr, 'disk', name='%s%d' % (tag, index), limit=1) for index in range(3)]
    assert [page[0]['id'] for page in pages] == ids
    after_first = _instances(cbr, 'disk', marker=ids[0], limit=2)
    assert after_first[0]['id'] == ids[1] and after_first[1]['id'] == ids[2]
    assert _instances(cbr, 'disk', marker=ids[0], limit=1, offset=1)[0]['id'] == ids[2]
    assert [d['id'] for d in _instances(cbr, 'disk', marker=ids[0], limit=50)][:2] == ids[1:]


def test_a_server_lists_its_disks_as_children(cbr):
    server, disks = cbr.server((10, 20))
    shown = _instance(cbr, 'server', server)
    assert (shown['type'], shown['size'], shown['status']) == (SERVER, 30, 'ACTIVE')
    assert [c['id'] for c in shown['children']] == disks
    assert {(c['type'], c['status'], c['children'] == []) for c in shown['children']} == \
        {(DISK, 'in-use', True)}
    assert shown['detail']['flavor_id'] == 's3.small.1'
    assert shown['protectable']['result'] is True
    assert _instances(cbr, 'server', id=server) == [shown]
    by_server = _instances(cbr, 'disk', server_id=server)
    assert sorted(d['id'] for d in by_server) == sorted(disks)
    assert all(d['detail']['attachments'][0]['server_id'] == server for d in by_server)
    named = _instances(cbr, 'server', name='srv')  # every test server has this name
    assert [s['id'] for s in named] == sorted(s['id'] for s in named)
    assert server in [s['id'] for s in named] or len(named) == 50


def test_a_resource_already_in_a_vault_is_not_protectable(cbr):
    # rule: V4
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 50, [disk], name=_unique('pv'))
    verdict = _instance(cbr, 'disk', disk)['protectable']
    assert (verdict['result'], verdict['code']) == (False, 'BackupService.6302')
    assert vault['name'] in verdict['reason'] and vault['id'] in verdict['message']
    assert verdict['vault']['id'] == vault['id'] and verdict['vault']['updated_at']
    assert [r['id'] for r in verdict['vault']['resources']] == [disk]
    assert verdict['vault']['billing']['allocated'] == 10

    server, disks = cbr.server((10,))
    cbr.vault('server', 50, [server])
    shown = _instance(cbr, 'server', server)
    assert shown['protectable']['code'] == 'BackupService.6302'
    # its disk is in no vault of its own, so a disk vault could still take it
    assert shown['children'][0]['protectable']['result'] is True


def test_only_ready_resources_are_protectable(cbr, stack):
    # rule: V5
    server, disks = cbr.server((10,))
    _stop(cbr, server)
    assert _instance(cbr, 'server', server)['protectable']['result'] is True  # SHUTOFF
    _detach(cbr, server, disks[0])
    bare = _instance(cbr, 'server', server)
    assert (bare['status'], bare['size'], bare['children']) == ('SHUTOFF', 0, [])
    assert (bare['protectable']['result'], bare['protectable']['code']) == \
        (False, 'BackupService.6306')
    assert 'no disk' in bare['protectable']['reason']
    assert _instance(cbr, 'disk', disks[0])['protectable']['result'] is True  # available

    _fail_next(stack, 'evs.create_volume')
    broken = _named_disk(cbr, _unique('pe'))
    verdict = _instance(cbr, 'disk', broken)
    assert verdict['status'] == 'error' and verdict['protectable']['code'] == 'BackupService.6306'
    assert 'error' in verdict['protectable']['message']
    assert _instances(cbr, 'disk', id=broken, status='error') == [verdict]

    name = _unique('fs')
    ready = _share(cbr, name)
    shown = _instances(cbr, 'turbo', name=name)
    assert [(s['id'], s['type'], s['size'], s['status']) for s in shown] == \
        [(ready, TURBO, 500, '200')]
    assert shown[0]['protectable']['result'] is True and shown[0]['detail']['share_proto'] == 'NFS'
    _fail_next(stack, 'sfs.create_share')
    failed = _instance(cbr, 'turbo', _share(cbr, _unique('fs')))
    assert failed['status'] == '303' and failed['protectable']['code'] == 'BackupService.6306'


def test_unknown_instances_and_types(cbr, stack):
    disk = cbr.disk(10)
    for kind, instance_id in (('disk', 'no-such-disk'), ('server', disk), ('turbo', disk)):
        missing = cbr.error('GET', 'protectables/%s/instances/%s' % (kind, instance_id), 404)
        assert missing['error_code'] == 'BackupService.6309'
    alt = Cbr(stack, 'alt_demo')
    assert alt.error('GET', 'protectables/disk/instances/%s' % disk, 404)['error_code'] == \
        'BackupService.6309'
    assert _instances(alt, 'disk', id=disk) == []
    for kind in ('workspace', 'workspace_v2', 'desktop'):
        for suffix in ('protectables/%s/instances' % kind,
                       'protectables/%s/instances/%s' % (kind, disk)):
            refused = cbr.error('GET', suffix, 400)
            assert refused['error_code'] == 'BackupService.0100'
            assert 'protectable_type' in refused['error_msg']


@pytest.mark.parametrize('kind, name, value', [
    ('disk', 'limit', 'abc'), ('disk', 'limit', '0'), ('disk', 'limit', '51'),
    ('disk', 'offset', '-1'), ('disk', 'offset', 'x'), ('disk', 'marker', 'no-such-disk'),
    ('disk', 'status', 'ACTIVE'), ('server', 'status', 'in-use'), ('turbo', 'status', 'x'),
    ('server', 'server_id', 'abc'), ('turbo', 'server_id', 'abc')])
def test_list_parameters_are_validated(cbr, kind, name, value):
    refused = cbr.error('GET', 'protectables/%s/instances' % kind, 400, params={name: value})
    assert refused['error_code'] == 'BackupService.0100' and name in refused['error_msg']


@pytest.mark.parametrize('name, value', [
    ('limit', 'abc'), ('limit', '0'), ('offset', '-1'), ('resource_type', 'disk')])
def test_storage_usage_parameters_are_validated(cbr, name, value):
    refused = cbr.error('GET', 'storage_usage', 400, params={name: value})
    assert refused['error_code'] == 'BackupService.0100' and name in refused['error_msg']


def test_storage_usage_counts_a_disks_backups_and_their_size(cbr):
    disk = cbr.disk(10)
    assert _usage(cbr, resource_id=disk) == {'resource_count': 0, 'storage_usage': []}
    cbr.write(disk, 0, os.urandom(3 * MIB))
    vault = cbr.vault('disk', 20, [disk])
    cbr.backup(vault['id'], disk)
    cbr.write(disk, 4 * MIB, os.urandom(MIB))
    cbr.backup(vault['id'], disk)
    usage = _usage(cbr, resource_id=disk)
    assert usage['resource_count'] == 1
    entry = usage['storage_usage'][0]
    shown = cbr.call('GET', 'vaults/%s' % vault['id'])['vault']['resources'][0]
    assert (entry['resource_id'], entry['resource_type'], entry['backup_count']) == \
        (disk, DISK, 2)
    assert entry['resource_name'] == shown['name'] and entry['backup_size_multiaz'] == 0
    assert entry['backup_size'] == shown['backup_size'] and 4 <= entry['backup_size'] <= 5
    assert _usage(cbr, resource_id=disk, resource_type=SERVER)['resource_count'] == 0
    assert _usage(cbr, resource_id=disk, resource_type=DISK)['resource_count'] == 1
    assert _usage(cbr, resource_id=disk, offset=1)['storage_usage'] == []

    every = _usage(cbr, resource_type=DISK)
    assert every['resource_count'] >= 1
    page = _usage(cbr, resource_type=DISK, limit=1)
    assert page['resource_count'] == every['resource_count'] and len(page['storage_usage']) == 1
    ids = [u['resource_id'] for u in every['storage_usage']]
    assert ids == sorted(ids) and disk in ids


def test_server_backup_usage_and_metadata(cbr):
    server, disks = cbr.server((10, 10))
    for disk in disks:
        cbr.write(disk, 0, os.urandom(MIB))
    vault = cbr.vault('server', 40, [server])
    backup = cbr.backup(vault['id'], server)
    usage = _usage(cbr, resource_id=server)['storage_usage']
    assert [(u['resource_type'], u['backup_count']) for u in usage] == [(SERVER, 1)]
    assert usage[0]['backup_size'] >= 2
    assert _usage(cbr, resource_id=disks[0])['resource_count'] == 0  # disks are not counted

    meta = _metadata(cbr, backup['id'])
    assert meta['backup_id'] == backup['id']
    assert json.loads(meta['server'])['id'] == server
    assert json.loads(meta['flavor'])['id'] == 's3.small.1'
    assert sorted(json.loads(v)['id'] for v in meta['volumes']) == sorted(disks)
    assert sorted(json.loads(meta['backups'])) == sorted(c['id'] for c in backup['children'])
    assert (meta['interface'], meta['ports'], meta['floatingips'], meta['workspace']) == \
        ('[]', [], [], '')


def test_disk_backup_metadata_and_unknown_backups(cbr, stack):
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 20, [disk])
    backup = cbr.backup(vault['id'], disk)
    meta = _metadata(cbr, backup['id'])
    assert (meta['server'], meta['flavor']) == ('{}', '{}')
    assert [json.loads(v)['id'] for v in meta['volumes']] == [disk]
    assert json.loads(meta['volumes'][0])['size'] == 10
    assert json.loads(meta['backups']) == [backup['id']]
    assert cbr.error('GET', 'backups/no-such-backup/metadata', 404)['error_code'] == \
        'BackupService.6400'
    alt = Cbr(stack, 'alt_demo')
    assert alt.error('GET', 'backups/%s/metadata' % backup['id'], 404)['error_code'] == \
        'BackupService.6400'
