"""CBR v3 backup sharing between the demo and alt_demo projects on a running stack."""
from __future__ import annotations

import pytest

from tests.support.cbr import Cbr
from tests.support.client import poll

CMK = '0f0e0d0c-0b0a-4908-8706-050403020100'


@pytest.fixture
def sharer(stack) -> Cbr:
    return Cbr(stack)


@pytest.fixture
def recipient(stack) -> Cbr:
    return Cbr(stack, 'alt_demo')


def _shared_disk_backup(sharer: Cbr, recipient: Cbr) -> tuple[str, dict]:
    disk = sharer.disk(10)
    sharer.fill(disk, seed=31)
    vault = sharer.vault('disk', 20, [disk])
    backup = sharer.backup(vault['id'], disk)
    members = sharer.call('POST', 'backups/%s/members' % backup['id'],
                          json={'members': [recipient.project_id]})['members']
    assert [(m['dest_project_id'], m['status']) for m in members] == \
        [(recipient.project_id, 'pending')]
    return disk, backup


def test_a_shared_backup_is_accepted_into_a_vault_and_makes_a_disk_with_its_bytes(
        sharer, recipient):
    # rule: S2, R4, R7
    disk, backup = _shared_disk_backup(sharer, recipient)
    path = 'backups/%s/members/%s' % (backup['id'], recipient.project_id)
    shared = recipient.call('GET', 'backups', params={'own_type': 'shared',
                                                      'member_status': 'pending'})['backups']
    assert backup['id'] in [b['id'] for b in shared]
    assert backup['id'] not in [b['id'] for b in recipient.call('GET', 'backups')['backups']]
    small = recipient.vault('disk', 10, name='too-small')
    server_vault = recipient.vault('server', 100, name='wrong-type')
    wrong = recipient.error('PUT', path, 400, json={'status': 'accepted',
                                                    'vault_id': server_vault['id']})
    assert wrong['error_code'] == 'BackupService.6303'
    assert recipient.error('PUT', path, 400, json={'status': 'accepted'})['error_msg']
    inbox = recipient.vault('disk', 20, name='inbox')
    accepted = recipient.call('PUT', path, json={'status': 'accepted',
                                                 'vault_id': inbox['id']})['member']
    assert (accepted['status'], accepted['vault_id']) == ('accepted', inbox['id'])
    assert small['id'] != inbox['id']
    seen = sharer.call('GET', path)['member']
    assert seen['status'] == 'accepted'
    assert recipient.call('GET', 'backups/%s' % backup['id'])['backup']['id'] == backup['id']

    created = recipient.client.post('/v2/%s/cloudvolumes' % recipient.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10,
                   'backup_id': backup['id']}}).json()
    assert recipient.client.wait_job(created['job_id'])['status'] == 'SUCCESS'
    assert recipient.checksum(created['volume_ids'][0]) == sharer.checksum(disk)
    # an accepted backup never restores the sharer's resources
    refused = recipient.error('POST', 'backups/%s/restore' % backup['id'], 404,
                              json={'restore': {'volume_id': disk}})
    assert refused['error_code'] == 'BackupService.6400'


def test_a_pending_or_rejected_share_makes_nothing_and_only_the_member_answers(
        sharer, recipient):
    # rule: S2
    _, backup = _shared_disk_backup(sharer, recipient)
    path = 'backups/%s/members/%s' % (backup['id'], recipient.project_id)
    response = recipient.client.post('/v2/%s/cloudvolumes' % recipient.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10,
                   'backup_id': backup['id']}})
    assert response.status_code == 404
    assert sharer.error('PUT', path, 403, json={'status': 'rejected'})
    rejected = recipient.call('PUT', path, json={'status': 'rejected'})['member']
    assert rejected['status'] == 'rejected'
    listed = sharer.call('GET', 'backups/%s/members' % backup['id'],
                         params={'status': 'rejected'})
    assert listed['count'] == 1 and listed['members'][0]['id'] == rejected['id']
    sharer.call('DELETE', path, expect=204)
    assert recipient.error('GET', 'backups/%s' % backup['id'], 404)


def test_deleting_a_shared_backup_removes_it_for_members_and_keeps_what_they_made(
        sharer, recipient):
    # rule: S3
    _, backup = _shared_disk_backup(sharer, recipient)
    inbox = recipient.vault('disk', 20, name='inbox-s3')
    recipient.call('PUT', 'backups/%s/members/%s' % (backup['id'], recipient.project_id),
                   json={'status': 'accepted', 'vault_id': inbox['id']})
    created = recipient.client.post('/v2/%s/cloudvolumes' % recipient.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10,
                   'backup_id': backup['id']}}).json()
    assert recipient.client.wait_job(created['job_id'])['status'] == 'SUCCESS'
    made = recipient.checksum(created['volume_ids'][0])
    poll(lambda: sharer.call('GET', 'backups/%s' % backup['id'])['backup']['status'],
         lambda status: status == 'available', 30, 'the backup is still restoring')
    sharer.call('DELETE', 'backups/%s' % backup['id'], expect=204)
    sharer.wait_gone('backups/%s' % backup['id'])
    assert recipient.error('GET', 'backups/%s' % backup['id'], 404)
    assert backup['id'] not in [b['id'] for b in recipient.call(
        'GET', 'backups', params={'own_type': 'all_granted'})['backups']]
    assert recipient.checksum(created['volume_ids'][0]) == made


def test_sharing_limits(sharer, recipient):
    # rule: S1, B8
    _, backup = _shared_disk_backup(sharer, recipient)
    again = sharer.error('POST', 'backups/%s/members' % backup['id'], 409,
                         json={'members': [recipient.project_id]})
    assert again['error_code'] == 'BackupService.6401'
    for members in ([sharer.project_id], ['nosuchproject'], ['a' * 32] * 2,
                    ['p%031d' % i for i in range(11)], ['not-hex!']):
        body = sharer.error('POST', 'backups/%s/members' % backup['id'], 400,
                            json={'members': members})
        assert 'members' in body['error_msg'], body
    assert recipient.error('POST', 'backups/%s/members' % backup['id'], 404,
                           json={'members': [sharer.project_id]})
    # an encrypted disk's backup cannot be shared
    created = sharer.client.post('/v2.1/%s/cloudvolumes' % sharer.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10,
        'metadata': {'__system__encrypted': '1', '__system__cmkid': CMK}}}).json()
    assert sharer.client.wait_job(created['job_id'])['status'] == 'SUCCESS'
    encrypted_disk = created['volume_ids'][0]
    vault = sharer.vault('disk', 20, [encrypted_disk])
    encrypted = sharer.backup(vault['id'], encrypted_disk)
    refused = sharer.error('POST', 'backups/%s/members' % encrypted['id'], 400,
                           json={'members': [recipient.project_id]})
    assert 'encrypted' in refused['error_msg']
    # a file system's backup cannot be shared either
    share_id = sharer.file_system()
    turbo = sharer.vault('turbo', 600, [share_id])
    turbo_backup = sharer.backup(turbo['id'], share_id)
    assert sharer.error('POST', 'backups/%s/members' % turbo_backup['id'], 400,
                        json={'members': [recipient.project_id]})
