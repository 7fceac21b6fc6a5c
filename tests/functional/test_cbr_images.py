"""Images and file systems made from CBR backups, and what an image does to its backup."""
from __future__ import annotations

import pytest

from tests.support.cbr import Cbr
from tests.support.client import poll


@pytest.fixture
def cbr(stack) -> Cbr:
    return Cbr(stack)


def _image(cbr: Cbr, backup_id: str, expect: int = 200, name: str = 'from-backup') -> dict:
    response = cbr.client.post('/v1/cloudimages/wholeimages/action',
                               json={'name': name, 'backup_id': backup_id})
    assert response.status_code == expect, response.text
    return response.json()


def test_a_server_backup_makes_one_image_and_cannot_be_deleted_while_it_exists(cbr):
    # rule: R6, B7
    server, _ = cbr.server((10, 10))
    vault = cbr.vault('server', 40, [server])
    backup = cbr.backup(vault['id'], server)
    job = _image(cbr, backup['id'])
    done = cbr.client.wait_job(job['job_id'])
    assert done['status'] == 'SUCCESS' and done['job_type'] == 'createImage'
    image_id = done['entities']['image_id']
    image = cbr.client.get('/v2/images/%s' % image_id).json()
    assert (image['status'], image['__backup_id']) == ('active', backup['id'])
    shown = cbr.call('GET', 'backups/%s' % backup['id'])['backup']
    assert shown['extend_info']['os_images_data'] == [{'image_id': image_id}]
    renamed = cbr.call('PUT', 'backups/%s' % backup['id'],
                       json={'backup': {'name': 'imaged'}})['backup']
    assert renamed['extend_info']['os_images_data'] == [{'image_id': image_id}]
    again = _image(cbr, backup['id'], expect=409)
    assert 'already' in again['error']['message']
    refused = cbr.error('DELETE', 'backups/%s' % backup['id'], 409)
    assert refused['error_code'] == 'BackupService.6401' and image_id in refused['error_msg']
    assert cbr.error('DELETE', 'vaults/%s' % vault['id'], 409)['error_code'] == \
        'BackupService.6401'
    assert cbr.client.delete('/v2/images/%s' % image_id).status_code == 204
    assert cbr.client.get('/v2/images/%s' % image_id).status_code == 404
    cbr.call('DELETE', 'backups/%s' % backup['id'], expect=204)
    cbr.wait_gone('backups/%s' % backup['id'])


def test_only_a_server_backup_with_its_system_disk_makes_an_image(cbr, stack):
    # rule: R6
    server, (system, data) = cbr.server((10, 10))
    subset = cbr.call('POST', 'vaults', json={'vault': {
        'name': 'data-only', 'billing': {'consistent_level': 'crash_consistent',
                                         'object_type': 'server', 'protect_type': 'backup',
                                         'size': 40},
        'resources': [{'id': server, 'type': 'OS::Nova::Server',
                       'extra_info': {'include_volumes': [{'id': data}]}}]}})['vault']
    data_only = cbr.backup(subset['id'], server)
    assert 'system disk' in _image(cbr, data_only['id'], expect=400)['error']['message']
    disk = cbr.disk(10)
    disk_vault = cbr.vault('disk', 20, [disk])
    disk_backup = cbr.backup(disk_vault['id'], disk)
    assert _image(cbr, disk_backup['id'], expect=400)['error']['code'] == 'IMG.0001'
    assert _image(cbr, 'no-such-backup', expect=404)['error']['code'] == 'IMG.0027'
    other = Cbr(stack, 'alt_demo')
    assert other.client.get('/v2/images/%s' % 'x').status_code == 404


def test_a_file_system_backup_makes_a_new_file_system_and_never_restores_onto_one(cbr):
    # rule: R5, R7
    share = cbr.file_system()
    payload = b'file-system-bytes' * 4096
    response = cbr.admin.put('/sim/v1/%s/shares/%s/data' % (cbr.project_id, share),
                             params={'offset': 4096}, data=payload)
    assert response.status_code == 204
    digest = cbr.admin.get('/sim/v1/%s/shares/%s/checksum'
                           % (cbr.project_id, share)).json()['digest']
    vault = cbr.vault('turbo', 600, [share])
    backup = cbr.backup(vault['id'], share)
    refused = cbr.error('POST', 'backups/%s/restore' % backup['id'], 400,
                        json={'restore': {'volume_id': share}})
    assert refused['error_code'] == 'BackupService.6406'
    created = cbr.client.post('/v1/%s/sfs-turbo/shares' % cbr.project_id, json={'share': {
        'name': 'from-backup', 'size': 500, 'availability_zone': 'sim-az-1', 'vpc_id': 'vpc',
        'subnet_id': 'net', 'security_group_id': 'sg', 'backup_id': backup['id']}})
    assert created.status_code == 202, created.text
    new_id = created.json()['id']
    poll(lambda: cbr.client.get('/v1/%s/sfs-turbo/shares/%s' % (cbr.project_id,
                                                                new_id)).json()['status'],
         lambda status: status == '200', 60, 'the file system was not made')
    assert cbr.admin.get('/sim/v1/%s/shares/%s/checksum'
                         % (cbr.project_id, new_id)).json()['digest'] == digest
    disk = cbr.disk(10)
    disk_vault = cbr.vault('disk', 20, [disk])
    disk_backup = cbr.backup(disk_vault['id'], disk)
    wrong = cbr.client.post('/v1/%s/sfs-turbo/shares' % cbr.project_id, json={'share': {
        'name': 'from-disk', 'size': 500, 'availability_zone': 'sim-az-1', 'vpc_id': 'vpc',
        'subnet_id': 'net', 'security_group_id': 'sg', 'backup_id': disk_backup['id']}})
    assert wrong.status_code == 400 and 'backup_id' in wrong.json()['error_msg']


def test_a_server_backup_being_made_makes_an_image_once_its_disks_are_snapshotted(cbr, stack):
    # rule: B13, R6
    server, _ = cbr.server((10, 10))
    vault = cbr.vault('server', 40, [server])
    assert stack.admin().post('/sim/v1/faults', json={
        'point': 'backup.transfer', 'action': 'delay', 'seconds': 6, 'times': 2}).status_code == 201
    checkpoint = cbr.checkpoint(vault['id'])
    backup = poll(lambda: cbr.backups_of(checkpoint['id'])[0],
                  lambda found: found['extend_info']['supported_restore_mode'] == 'snapshot'
                  or found['status'] != 'protecting', 30, 'the disks were not snapshotted')
    assert (backup['status'], backup['extend_info']['supported_restore_mode']) == \
        ('protecting', 'snapshot')
    job = _image(cbr, backup['id'])
    assert cbr.client.wait_job(job['job_id'])['status'] == 'SUCCESS'
    done = cbr.wait_backup(backup['id'])
    assert done['status'] == 'available'
    assert done['extend_info']['os_images_data'] == [
        {'image_id': cbr.client.wait_job(job['job_id'])['entities']['image_id']}]
