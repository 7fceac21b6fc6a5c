"""VBS v2 per-disk backups on a running stack: cloudbackups jobs, the Cinder-native API
under /v2 and /block-storage/v3, real bytes restored, and CSBS backups seen through VBS."""
from __future__ import annotations

import json
import os
from urllib.parse import parse_qsl, urlsplit

import pytest

from cbr_common.backups import requests
from cbr_common.backups.families import CSBS, service_vault
from tests.support.client import poll
from tests.support.dataplane import StackBackups
from tests.support.vbs import V3, Vbs

BLOCK = 65536


@pytest.fixture
def vbs(stack) -> Vbs:
    return Vbs(stack)


def _fault(stack, point: str, action: str = 'delay', seconds: float = 3) -> None:
    response = stack.admin().post('/sim/v1/faults', json={'point': point, 'action': action,
                                                          'seconds': seconds, 'times': 1})
    assert response.status_code == 201, response.text


def test_a_backup_job_then_the_backup_in_the_lists_full_then_incremental(vbs, stack):
    # rule: D3, B4
    disk = vbs.cbr.disk(10)
    vbs.cbr.write(disk, 0, os.urandom(8 * BLOCK))
    _fault(stack, 'backup.start', seconds=1.5)
    job_id = vbs.create(disk, 'first', description='before the upgrade')
    running = vbs.client.wait_job(job_id, done=('RUNNING',))
    assert running['job_type'] == 'bksCreateBackup' and running['end_time'] == ''
    job = vbs.job(job_id)
    entities = job['entities']
    assert job['status'] == 'SUCCESS' and job['error_code'] is None
    assert set(entities) == {'bks_create_volume_name', 'backup_id', 'volume_id', 'snapshot_id'}
    assert (entities['bks_create_volume_name'], entities['volume_id']) == ('first', disk)
    first = vbs.show(entities['backup_id'])
    assert first['snapshot_id'] == entities['snapshot_id'] is not None
    assert (first['status'], first['is_incremental'], first['size'], first['source']) == \
        ('available', False, 10, 'VBS')
    assert first['description'] == 'before the upgrade'
    assert first['os-bak-tenant-attr:tenant_id'] == vbs.project_id
    assert first['links'][0]['href'].endswith('/v2/%s/backups/%s' % (vbs.project_id,
                                                                      first['id']))
    metadata = json.loads(first['service_metadata'])
    assert (metadata['Type'], metadata['ST'], metadata['backupurl']) == (0, 0, first['id'])

    vbs.cbr.write(disk, 2 * BLOCK, os.urandom(BLOCK))
    second = vbs.backup(disk, 'second')
    assert second['is_incremental'] is True
    assert vbs.show(first['id'])['has_dependent_backups'] is True
    assert vbs.show(second['id'])['has_dependent_backups'] is False
    # rule: P12 holds for VBS's forced full backup too
    refused = vbs.error('POST', 'cloudbackups', 409, json={'backup': {
        'volume_id': disk, 'name': 'full', 'extend_param': {'FullBackup': 'true'}}})
    assert 'backup.extend_param.FullBackup' in refused['message']
    assert stack.admin().post('/sim/v1/clock', json={'action': 'advance', 'seconds': 86400}
                              ).status_code == 200
    forced = vbs.backup(disk, 'full', extend_param={'FullBackup': 'true'})
    assert forced['is_incremental'] is False

    listed = vbs.details(volume_id=disk)
    assert [b['id'] for b in listed] == [forced['id'], second['id'], first['id']]
    v3 = vbs.details(root=V3, volume_id=disk, sort_dir='asc')
    assert [b['id'] for b in v3] == [first['id'], second['id'], forced['id']]
    assert v3[0]['os-backup-project-attr:project_id'] == vbs.project_id
    assert 'os-bak-tenant-attr:tenant_id' not in v3[0]
    summary = vbs.call('GET', 'backups', params={'volume_id': disk, 'name': 'second'})
    assert [set(b) for b in summary['backups']] == [{'id', 'name', 'links'}]
    page = vbs.call('GET', 'backups/detail', params={'volume_id': disk, 'limit': 2})
    assert len(page['backups']) == 2 and page['backups_links'][0]['rel'] == 'next'
    after = urlsplit(page['backups_links'][0]['href'])
    rest = vbs.client.get(after.path, params=parse_qsl(after.query)).json()
    assert [b['id'] for b in rest['backups']] == [first['id']]
    assert 'backups_links' not in rest
    assert vbs.details(volume_id=disk, status='creating') == []


def test_restore_through_cloudbackups_and_cinder_gives_back_the_bytes(vbs):
    # rule: R3, R7, D3
    disk = vbs.cbr.disk(10)
    vbs.cbr.write(disk, BLOCK, os.urandom(4 * BLOCK))
    backed_up = vbs.cbr.checksum(disk)
    backup = vbs.backup(disk)
    vbs.cbr.write(disk, 0, os.urandom(6 * BLOCK))
    assert vbs.cbr.checksum(disk) != backed_up
    job = vbs.restore(backup['id'], disk)
    assert (job['status'], job['job_type']) == ('SUCCESS', 'bksRestoreBackup')
    assert job['entities'] == {'backup_id': backup['id'], 'volume_id': disk}
    assert vbs.cbr.checksum(disk) == backed_up

    vbs.cbr.write(disk, 3 * BLOCK, os.urandom(BLOCK))
    answer = vbs.call('POST', 'backups/%s/restore' % backup['id'], 202, root=V3,
                      json={'restore': {'volume_id': disk}})['restore']
    assert answer['backup_id'] == backup['id'] and answer['volume_id'] == disk
    vbs.wait_status(backup['id'], 'available')
    poll(lambda: vbs.cbr.disk_status(disk), lambda status: status == 'available', 60,
         'the disk did not come back')
    assert vbs.cbr.checksum(disk) == backed_up

    other = vbs.cbr.disk(10)
    wrong = vbs.error('POST', 'cloudbackups/%s/restore' % backup['id'], 400,
                      json={'restore': {'volume_id': other}})
    assert 'restore.volume_id' in wrong['message']


def test_an_attached_disk_backs_up_but_restores_only_once_detached(vbs):
    # rule: D1, R3
    server, disks = vbs.cbr.server((10, 10))
    data_disk = disks[1]
    backup = vbs.backup(data_disk)
    refused = vbs.error('POST', 'cloudbackups/%s/restore' % backup['id'], 409,
                        json={'restore': {'volume_id': data_disk}})
    assert refused['code'] == 'VolumeBackup.0205' and 'restore.volume_id' in refused['message']
    assert vbs.cbr.disk_status(data_disk) == 'in-use'
    assert vbs.show(backup['id'])['status'] == 'available'


def test_delete_through_a_job_and_through_cinder(vbs):
    # rule: D3, B3
    disk = vbs.cbr.disk(10)
    first, second = vbs.backup(disk, 'one'), vbs.backup(disk, 'two')
    job = vbs.job(vbs.call('POST', 'cloudbackups/%s' % first['id'])['job_id'])
    assert (job['status'], job['job_type']) == ('SUCCESS', 'bksDeleteBackup')
    assert job['entities'] == {'backup_id': first['id'], 'volume_id': disk}
    gone = vbs.call('GET', 'backups/%s' % first['id'], 404)
    assert gone['itemNotFound']['code'] == 404
    vbs.call('DELETE', 'backups/%s' % second['id'], 202, root=V3)
    vbs.wait_gone(second['id'])
    assert vbs.details(volume_id=disk) == []


def test_bad_requests_name_their_field(vbs, stack):
    # rule: D2, D1
    disk = vbs.cbr.disk(10)

    def refused(status: int, code: str, field: str, **backup) -> None:
        body = vbs.error('POST', 'cloudbackups', status,
                         json={'backup': {'volume_id': disk, 'name': 'ok', **backup}})
        assert body['code'] == code and field in body['message'], body

    refused(400, 'VolumeBackup.0005', 'backup.name', name='autobk_mine')
    refused(400, 'VolumeBackup.0002', 'backup.name', name='x' * 65)
    refused(400, 'VolumeBackup.0002', 'backup.name', name='has space')
    refused(400, 'VolumeBackup.0002', 'backup.description', description='a <b>')
    refused(400, 'VolumeBackup.0002', 'backup.description', description='d' * 65)
    refused(400, 'VolumeBackup.0002', 'backup.extend_param.FullBackup',
            extend_param={'FullBackup': 'maybe'})
    refused(400, 'VolumeBackup.0002', 'backup.volume_id', volume_id=None)
    refused(404, 'VolumeBackup.0021', 'backup.volume_id', volume_id='no-such-disk')
    refused(404, 'VolumeBackup.0111', 'backup.snapshot_id', snapshot_id='no-such-snapshot')
    assert 'body' in vbs.error('POST', 'cloudbackups', 400, data=b'{nope')['message']

    _fault(stack, 'evs.create_volume', 'fail')
    broken = vbs.client.post('/v2.1/%s/cloudvolumes' % vbs.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10}}).json()
    assert vbs.job(broken['job_id'])['status'] == 'FAIL'
    refused(409, 'VolumeBackup.0012', 'backup.volume_id', volume_id=broken['volume_ids'][0])

    cinder = vbs.call('POST', 'backups', 400, json={'backup': {'name': 'no-disk'}})
    assert 'backup.volume_id' in cinder['badRequest']['message']
    for name, value in (('sort_key', 'colour'), ('sort_dir', 'up'), ('limit', '0'),
                        ('marker', 'not-a-backup')):
        body = vbs.call('GET', 'backups/detail', 400, root=V3, params={name: value})
        assert name in body['badRequest']['message'], body
    assert vbs.call('GET', 'backups/nope', 404)['itemNotFound']['code'] == 404


def test_a_second_backup_of_a_busy_disk_is_refused(vbs, stack):
    disk = vbs.cbr.disk(10)
    _fault(stack, 'backup.start', seconds=1.5)
    job_id = vbs.create(disk, 'slow')
    vbs.client.wait_job(job_id, done=('RUNNING',))
    busy = vbs.error('POST', 'cloudbackups', 409, json={'backup': {
        'volume_id': disk, 'name': 'again'}})
    assert busy['code'] == 'VolumeBackup.0013' and 'backup.volume_id' in busy['message']
    assert vbs.job(job_id)['status'] == 'SUCCESS'


def test_a_disk_holds_at_most_twenty_backups(vbs):
    disk = vbs.cbr.disk(10)
    for index in range(20):
        vbs.backup(disk, 'b%02d' % index)
    refused = vbs.error('POST', 'cloudbackups', 413, json={'backup': {
        'volume_id': disk, 'name': 'one-more'}})
    assert refused['code'] == 'VolumeBackup.0040' and 'backup.volume_id' in refused['message']
    cinder = vbs.call('POST', 'backups', 413, root=V3, json={'backup': {'volume_id': disk}})
    assert cinder['overLimit']['code'] == 413


def test_csbs_disk_backups_show_restore_but_do_not_delete_through_vbs(stack, vbs):
    # rule: C5, R7
    csbs = StackBackups(stack)
    server, disks = vbs.cbr.server((10, 10))
    vbs.cbr.write(disks[1], 0, os.urandom(3 * BLOCK))
    backed_up = vbs.cbr.checksum(disks[1])
    with csbs.attached():
        operation = csbs.submit(_csbs_backup, server)
    assert vbs.job(operation)['status'] == 'SUCCESS'
    shown, = vbs.details(volume_id=disks[1])
    assert (shown['source'], shown['status']) == ('CSBS', 'available')
    assert json.loads(shown['service_metadata'])['ST'] == 1
    assert {b['source'] for b in vbs.details(volume_id=disks[0])} == {'CSBS'}
    assert server not in {b['volume_id'] for b in vbs.details()}

    refused = vbs.error('POST', 'cloudbackups/%s' % shown['id'], 400)
    assert 'backup_id' in refused['message'] and 'CSBS' in refused['message']
    cinder = vbs.call('DELETE', 'backups/%s' % shown['id'], 400)
    assert 'backup_id' in cinder['badRequest']['message']

    vbs.cbr.write(disks[1], 0, os.urandom(BLOCK))
    detach = vbs.client.delete('/v1/%s/cloudservers/%s/detachvolume/%s'
                               % (vbs.project_id, server, disks[1]))
    assert vbs.job(detach.json()['job_id'])['status'] == 'SUCCESS'
    job = vbs.restore(shown['id'], disks[1])
    assert job['status'] == 'SUCCESS', job
    assert vbs.cbr.checksum(disks[1]) == backed_up
    assert vbs.show(shown['id'])['status'] == 'available'


def _csbs_backup(session, project_id: str, server_id: str):
    """A CSBS whole-server backup, requested through the core as the CSBS API will."""
    vault = service_vault(session, project_id, CSBS)
    return requests.request_backup(session, project_id, vault.id, server_id, family=CSBS)


def test_the_backup_quota_fails_the_job_that_would_exceed_it(fresh_stack_factory):
    # rule: D5, T3
    vbs = Vbs(fresh_stack_factory(settings={'vbs': {'backup_quota': 2}}))
    disks = [vbs.cbr.disk(10), vbs.cbr.disk(20)]
    for disk in disks:
        vbs.backup(disk)
    quota = vbs.call('GET', 'cloudbackups/quota')['quotas']['resources']
    assert quota == [{'type': 'backups', 'used': 2, 'reserved': 0, 'quota': 2},
                     {'type': 'backup_gigabytes', 'used': 30, 'reserved': 0, 'quota': -1}]
    job = vbs.job(vbs.create(disks[0], 'third'))
    assert (job['status'], job['error_code']) == ('FAIL', 'VolumeBackup.0900')
    assert 'quota' in job['fail_reason']
    failed = vbs.show(job['entities']['backup_id'])
    assert failed['status'] == 'error' and 'quota' in failed['fail_reason']
    assert vbs.call('GET', 'cloudbackups/quota')['quotas']['resources'][0]['used'] == 2
