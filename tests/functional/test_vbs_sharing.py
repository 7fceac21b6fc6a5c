"""VBS v2 backup sharing (os-vendor-backup-sharing) between the demo, alt_demo and admin
projects on a running stack: shares, their lists, count and show, cancelling them, and
the rules on project ids, their number, encrypted backups and deleted backups."""
from __future__ import annotations

import os

import pytest

from tests.support.vbs import Vbs

SHARING = 'os-vendor-backup-sharing'
SHARE_FIELDS = {'id', 'backup_id', 'from_project_id', 'to_project_id', 'created_at',
                'updated_at', 'deleted', 'deleted_at'}
CMK = '0f0e0d0c-0b0a-4908-8706-050403020100'


@pytest.fixture
def projects(stack) -> tuple[Vbs, Vbs, Vbs]:
    """The sharing project (demo) and two others (alt_demo, admin)."""
    return Vbs(stack), Vbs(stack, 'alt_demo'), Vbs(stack, 'admin')


def _backup(vbs: Vbs, name: str) -> dict:
    disk = vbs.cbr.disk(10)
    vbs.cbr.write(disk, 0, os.urandom(65536))
    return vbs.backup(disk, name)


def _share(owner: Vbs, backup_id: str, *to: Vbs) -> list[dict]:
    return owner.call('POST', SHARING, json={'shared': {
        'backup_id': backup_id, 'to_project_ids': [v.project_id for v in to]}})['shared']


def _listed(vbs: Vbs, **params: str) -> list[dict]:
    return vbs.call('GET', SHARING + '/detail', params=params)['shared']


def _count(vbs: Vbs, **params: str) -> int:
    return vbs.call('GET', SHARING + '/count', params=params)['count']


def test_a_backup_shared_with_two_projects_is_listed_counted_shown_and_cancelled(projects):
    # rule: S1
    owner, alt, admin = projects
    backup = _backup(owner, 'shared')
    shared = _share(owner, backup['id'], alt, admin)
    assert [set(s) for s in shared] == [SHARE_FIELDS] * 2
    assert sorted(s['to_project_id'] for s in shared) == sorted([alt.project_id,
                                                                 admin.project_id])
    assert {(s['backup_id'], s['from_project_id'], s['deleted'], s['deleted_at'])
            for s in shared} == {(backup['id'], owner.project_id, False, None)}
    by_target = {s['to_project_id']: s for s in shared}

    for recipient in (alt, admin):
        [seen] = _listed(recipient, share_to_me='true', backup_id=backup['id'])
        assert seen['id'] == by_target[recipient.project_id]['id']
        assert set(seen) == SHARE_FIELDS | {'backup'}
        body = seen['backup']
        assert (body['id'], body['status'], body['volume_id'], body['source']) == \
            (backup['id'], 'available', backup['volume_id'], 'VBS')
        assert body['os-bak-tenant-attr:tenant_id'] == owner.project_id
        # made to the recipient, not by it; its own backup lists stay its own
        assert _listed(recipient, backup_id=backup['id']) == []
        assert recipient.call('GET', 'backups/%s' % backup['id'], expect=404)
        # only "My backups" restore (user guide): a shared one is not found
        refused = recipient.error('POST', 'cloudbackups/%s/restore' % backup['id'], 404,
                                  json={'restore': {'volume_id': backup['volume_id']}})
        assert refused['code'] == 'VolumeBackup.0111'

    mine = _listed(owner, backup_id=backup['id'], sort_key='to_project_id', sort_dir='asc')
    assert [s['to_project_id'] for s in mine] == sorted(by_target)
    assert _count(owner, backup_id=backup['id']) == 2
    assert _count(owner, backup_id=backup['id'], to_project_id=alt.project_id) == 1
    assert _count(alt, share_to_me='true', backup_id=backup['id']) == 1
    for params, found in (({'name': 'shared'}, 2), ({'name': 'other'}, 0),
                          ({'volume_id': backup['volume_id']}, 2), ({'status': 'available'}, 2),
                          ({'status': 'error'}, 0), ({'avalilability_zone': 'sim-az-1'}, 2),
                          ({'from_project_id': alt.project_id}, 0)):
        assert len(_listed(owner, backup_id=backup['id'], **params)) == found, params
    assert len(_listed(owner, backup_id=backup['id'], limit='1', offset='1')) == 1
    for params in ({'sort_key': 'size'}, {'sort_dir': 'up'}, {'share_to_me': 'maybe'},
                   {'limit': '0'}):
        name = next(iter(params))
        assert name in owner.error('GET', SHARING + '/detail', 400, params=params)['message']

    alt_share = by_target[alt.project_id]['id']
    for viewer in (owner, alt):
        shown = viewer.call('GET', '%s/%s' % (SHARING, alt_share))['shared']
        assert (shown['id'], shown['backup']['id']) == (alt_share, backup['id'])
    assert admin.error('GET', '%s/%s' % (SHARING, alt_share), 404)['code'] == \
        'VolumeBackup.0300'

    # the sharer cancels one share; the recipient cannot
    assert alt.error('DELETE', '%s/%s' % (SHARING, alt_share), 403)
    owner.call('DELETE', '%s/%s' % (SHARING, alt_share))
    assert _listed(alt, share_to_me='true', backup_id=backup['id']) == []
    assert owner.error('GET', '%s/%s' % (SHARING, alt_share), 404)
    assert _count(admin, share_to_me='true', backup_id=backup['id']) == 1
    # is_backup_id=true: every share of the backup goes; only the owner may
    assert admin.error('DELETE', '%s/%s' % (SHARING, backup['id']), 404,
                       params={'is_backup_id': 'true'})['code'] == 'VolumeBackup.0111'
    owner.call('DELETE', '%s/%s' % (SHARING, backup['id']), params={'is_backup_id': 'true'})
    assert _count(owner, backup_id=backup['id']) == 0
    assert _listed(admin, share_to_me='true', backup_id=backup['id']) == []


def test_project_ids_their_number_and_encrypted_backups(projects):
    owner, alt, _ = projects
    backup = _backup(owner, 'limits')
    # rule: S4
    for bad in ('1' * 32, 'a' * 31, 'a' * 33, 'a' * 31 + '-', 'a' * 31 + '_', ''):
        refused = owner.error('POST', SHARING, 400, json={'shared': {
            'backup_id': backup['id'], 'to_project_ids': [alt.project_id, bad]}})
        assert refused['code'] == 'VolumeBackup.0002'
        assert 'shared.to_project_ids' in refused['message'], refused
    # rule: S1
    for to in (['p%031d' % i for i in range(11)], [owner.project_id], ['a' * 32],
               [alt.project_id] * 2, []):
        refused = owner.error('POST', SHARING, 400, json={'shared': {
            'backup_id': backup['id'], 'to_project_ids': to}})
        assert 'shared.to_project_ids' in refused['message'], (to, refused)
    assert 'at most 10' in owner.error('POST', SHARING, 400, json={'shared': {
        'backup_id': backup['id'], 'to_project_ids': ['p%031d' % i for i in range(11)]}}
        )['message']
    missing = owner.error('POST', SHARING, 404, json={'shared': {
        'backup_id': 'f' * 8 + '-0000-4000-8000-' + 'f' * 12, 'to_project_ids': [alt.project_id]}})
    assert missing['code'] == 'VolumeBackup.0111' and 'shared.backup_id' in missing['message']
    assert _listed(owner, backup_id=backup['id']) == []
    _share(owner, backup['id'], alt)
    again = owner.error('POST', SHARING, 409, json={'shared': {
        'backup_id': backup['id'], 'to_project_ids': [alt.project_id]}})
    assert again['code'] == 'VolumeBackup.0089'
    # another project's backup is not found; shares cannot be shared on
    assert alt.error('POST', SHARING, 404, json={'shared': {
        'backup_id': backup['id'], 'to_project_ids': [owner.project_id]}})

    # rule: S1 (an encrypted disk's backup cannot be shared)
    created = owner.client.post('/v2.1/%s/cloudvolumes' % owner.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10,
        'metadata': {'__system__encrypted': '1', '__system__cmkid': CMK}}}).json()
    assert owner.client.wait_job(created['job_id'])['status'] == 'SUCCESS'
    encrypted = owner.backup(created['volume_ids'][0], 'encrypted')
    refused = owner.error('POST', SHARING, 400, json={'shared': {
        'backup_id': encrypted['id'], 'to_project_ids': [alt.project_id]}})
    assert 'encrypted' in refused['message'] and 'shared.backup_id' in refused['message']


def test_deleting_a_shared_backup_removes_its_shares(projects):
    # rule: S3
    owner, alt, _ = projects
    backup = _backup(owner, 'deleted')
    [share] = _share(owner, backup['id'], alt)
    job = owner.job(owner.call('POST', 'cloudbackups/%s' % backup['id'])['job_id'])
    assert job['status'] == 'SUCCESS', job
    assert _listed(alt, share_to_me='true', backup_id=backup['id']) == []
    assert _count(owner, backup_id=backup['id']) == 0
    assert alt.error('GET', '%s/%s' % (SHARING, share['id']), 404)['code'] == \
        'VolumeBackup.0300'


def test_a_recipient_makes_a_disk_holding_the_shared_backup_bytes(projects):
    # rule: S2, R4
    owner, alt, _ = projects
    disk = owner.cbr.disk(10)
    owner.cbr.write(disk, 4096, os.urandom(1 << 20))
    backup = owner.backup(disk, 'to-copy')
    _share(owner, backup['id'], alt)
    created = alt.client.post('/v2/%s/cloudvolumes' % alt.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10,
                   'backup_id': backup['id']}}).json()
    assert alt.client.wait_job(created['job_id'])['status'] == 'SUCCESS'
    assert alt.cbr.checksum(created['volume_ids'][0]) == owner.cbr.checksum(disk)
