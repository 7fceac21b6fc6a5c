"""Disks, servers and file systems through their real paths, worked by real workers."""
from __future__ import annotations

import pytest

from tests.support.client import poll


def create_disk(client, size: int = 10, name: str = 'fn-disk') -> str:
    response = client.post('/v2.1/%s/cloudvolumes' % client.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': size,
                   'name': name}})
    assert response.status_code == 200, response.text
    body = response.json()
    job = client.wait_job(body['job_id'])
    assert job['status'] == 'SUCCESS', job
    assert job['job_type'] == 'createVolume'
    return body['volume_ids'][0]


def volume(client, volume_id: str) -> dict:
    response = client.get('/v2/%s/cloudvolumes/%s' % (client.project_id, volume_id))
    assert response.status_code == 200, response.text
    return response.json()['volume']


def test_disk_is_created_by_a_worker_and_deleted(stack):
    client = stack.client()
    volume_id = create_disk(client, size=20)
    shown = volume(client, volume_id)
    assert shown['status'] == 'available'
    assert shown['size'] == 20 and shown['bootable'] == 'false'
    checksum = stack.admin().get('/sim/v1/%s/volumes/%s/checksum' % (client.project_id,
                                                                     volume_id)).json()
    assert checksum['size'] == 20 * 1024 ** 3 and checksum['allocated_bytes'] == 0

    response = client.delete('/v2/%s/cloudvolumes/%s' % (client.project_id, volume_id))
    assert response.status_code == 200, response.text
    assert client.wait_job(response.json()['job_id'])['status'] == 'SUCCESS'
    gone = client.get('/v2/%s/cloudvolumes/%s' % (client.project_id, volume_id))
    assert gone.status_code == 404
    assert gone.json()['error']['code'] == 'EVS.2007'


def test_list_filters_and_pages(stack):
    client = stack.client()
    names = {create_disk(client, name='pager') for _ in range(3)}
    listed = client.get('/v2/%s/cloudvolumes/detail' % client.project_id,
                        params={'name': 'pager', 'limit': 2}).json()
    assert listed['count'] >= 3 and len(listed['volumes']) == 2
    assert {v['name'] for v in listed['volumes']} == {'pager'}
    marker = listed['volumes'][-1]['id']
    rest = client.get('/v2/%s/cloudvolumes/detail' % client.project_id,
                      params={'name': 'pager', 'marker': marker}).json()
    seen = {v['id'] for v in listed['volumes']} | {v['id'] for v in rest['volumes']}
    assert names <= seen and marker not in {v['id'] for v in rest['volumes']}


def test_server_attach_stop_start_detach_delete(stack):
    client = stack.client()
    pid = client.project_id
    servers = client.get('/v1/%s/cloudservers/detail' % pid,
                         params={'name': 'server-1'}).json()['servers']  # not only page 1
    server = next(s for s in servers if s['name'] == 'server-1')
    assert server['status'] == 'ACTIVE'
    disk = create_disk(client, name='attach-me')

    job = client.post('/v1/%s/cloudservers/%s/attachvolume' % (pid, server['id']),
                      json={'volumeAttachment': {'volumeId': disk}}).json()['job_id']
    assert client.wait_job(job)['status'] == 'SUCCESS'
    attached = volume(client, disk)
    assert attached['status'] == 'in-use'
    assert attached['attachments'][0]['server_id'] == server['id']

    for action, status in (('os-stop', 'SHUTOFF'), ('os-start', 'ACTIVE')):
        body = {action: {'servers': [{'id': server['id']}]}}
        job = client.post('/v1/%s/cloudservers/action' % pid, json=body).json()['job_id']
        assert client.wait_job(job)['status'] == 'SUCCESS'
        shown = client.get('/v1/%s/cloudservers/%s' % (pid, server['id'])).json()['server']
        assert shown['status'] == status and shown['OS-EXT-STS:task_state'] is None

    wrong = client.post('/v1/%s/cloudservers/action' % pid,
                        json={'os-start': {'servers': [{'id': server['id']}]}})
    assert wrong.status_code == 409 and wrong.json()['error']['code'] == 'Ecs.0015'

    job = client.delete('/v1/%s/cloudservers/%s/detachvolume/%s' % (pid, server['id'], disk)
                        ).json()['job_id']
    assert client.wait_job(job)['status'] == 'SUCCESS'
    assert volume(client, disk)['status'] == 'available'


def test_new_server_builds_its_disks_and_is_deleted_with_its_system_disk(stack):
    client = stack.client()
    pid = client.project_id
    response = client.post('/v1/%s/cloudservers' % pid, json={'server': {
        'name': 'built', 'imageRef': 'img', 'flavorRef': 's6.small.1', 'vpcid': 'vpc',
        'nics': [{'subnet_id': 'subnet'}], 'root_volume': {'volumetype': 'SSD', 'size': 40},
        'data_volumes': [{'volumetype': 'SAS', 'size': 10}]}})
    assert response.status_code == 200, response.text
    server_id = response.json()['serverIds'][0]
    job = client.wait_job(response.json()['job_id'])
    assert job['status'] == 'SUCCESS'
    assert job['entities']['sub_jobs'][0]['entities']['server_id'] == server_id
    server = client.get('/v1/%s/cloudservers/%s' % (pid, server_id)).json()['server']
    attached = server['os-extended-volumes:volumes_attached']
    assert server['status'] == 'ACTIVE' and len(attached) == 2
    root = next(a['id'] for a in attached if a['bootIndex'] == '0')
    data = next(a['id'] for a in attached if a['bootIndex'] != '0')
    assert volume(client, root)['bootable'] == 'true'

    job = client.post('/v1/%s/cloudservers/delete' % pid,
                      json={'servers': [{'id': server_id}]}).json()['job_id']
    assert client.wait_job(job)['status'] == 'SUCCESS'
    assert client.get('/v1/%s/cloudservers/%s' % (pid, server_id)).status_code == 404
    assert client.get('/v2/%s/cloudvolumes/%s' % (pid, root)).status_code == 404
    assert volume(client, data)['status'] == 'available'


def test_sfs_turbo_share_lifecycle(stack):
    client = stack.client()
    pid = client.project_id
    response = client.post('/v1/%s/sfs-turbo/shares' % pid, json={'share': {
        'name': 'share-fn', 'share_proto': 'NFS', 'share_type': 'STANDARD', 'size': 500,
        'availability_zone': 'sim-az-1', 'vpc_id': 'v', 'subnet_id': 's',
        'security_group_id': 'g'}})
    assert response.status_code == 202, response.text
    share_id = response.json()['id']
    shown = poll(lambda: client.get('/v1/%s/sfs-turbo/shares/%s' % (pid, share_id)).json(),
                 lambda s: s['status'] == '200', 30, 'share did not become available')
    assert shown['size'] == '500.00'
    assert client.delete('/v1/%s/sfs-turbo/shares/%s' % (pid, share_id)).status_code == 202
    poll(lambda: client.get('/v1/%s/sfs-turbo/shares/%s' % (pid, share_id)).status_code,
         lambda code: code == 404, 30, 'share was not deleted')


def test_other_projects_cannot_see_or_touch(stack):
    demo, alt = stack.client('demo'), stack.client('alt_demo')
    disk = create_disk(demo, name='private')
    # another project's id in the path: 403
    response = alt.get('/v2/%s/cloudvolumes/%s' % (demo.project_id, disk))
    assert response.status_code == 403
    # own path, another project's disk: hidden as 404
    assert alt.get('/v2/%s/cloudvolumes/%s' % (alt.project_id, disk)).status_code == 404
    assert alt.delete('/v2/%s/cloudvolumes/%s' % (alt.project_id, disk)).status_code == 404
    listed = alt.get('/v2/%s/cloudvolumes/detail' % alt.project_id).json()['volumes']
    assert disk not in {v['id'] for v in listed}
    assert volume(demo, disk)['status'] == 'available'


@pytest.mark.parametrize('body, field', [
    ({'volume': {'availability_zone': 'z', 'volume_type': 'SSD'}}, 'size'),
    ({'volume': {'availability_zone': 'z', 'volume_type': 'SSD', 'size': 'big'}}, 'volume.size'),
    ({'volume': {'availability_zone': 'z', 'volume_type': 'SSD', 'size': 5}}, 'size'),
    ({'volume': {'availability_zone': 'z', 'volume_type': 'SSD', 'size': 40000}}, 'volume.size'),
    ({'volume': {'availability_zone': 'z', 'volume_type': 'FLOPPY', 'size': 10}}, 'volume_type'),
    ({'volume': {'availability_zone': 'z', 'volume_type': 'SSD', 'size': 10,
                 'name': 'n' * 65}}, 'volume.name'),
    ({'volume': {'volume_type': 'SSD', 'size': 10}}, 'volume.availability_zone'),
    ({'nothing': 1}, 'volume'),
])
def test_bad_disk_requests_name_the_field_and_create_nothing(stack, body, field):
    client = stack.client()
    before = client.get('/v2/%s/cloudvolumes/detail' % client.project_id).json()['count']
    response = client.post('/v2.1/%s/cloudvolumes' % client.project_id, json=body)
    assert response.status_code == 400, response.text
    error = response.json()['error']
    assert error['code'] == 'EVS.2001' and field in error['message']
    after = client.get('/v2/%s/cloudvolumes/detail' % client.project_id).json()['count']
    assert after == before


def test_malformed_json_is_a_400_naming_the_body(stack):
    client = stack.client()
    response = client.request('POST', '/v1/%s/cloudservers' % client.project_id,
                              data=b'{"server": ', content_type='application/json')
    assert response.status_code == 400
    assert 'body' in response.json()['error']['message']
    assert response.headers['X-Request-Id']


@pytest.mark.parametrize('body, field', [
    ({'server': {'name': 'x'}}, 'server.imageRef'),
    ({'server': {'name': 'x', 'imageRef': 'i', 'flavorRef': 'f', 'vpcid': 'v', 'nics': [],
                 'root_volume': {'volumetype': 'SSD'}}}, 'server.nics'),
    ({'server': {'name': 'x', 'imageRef': 'i', 'flavorRef': 'f', 'vpcid': 'v',
                 'nics': [{'subnet_id': 's'}], 'root_volume': {'volumetype': 'SSD',
                                                               'size': 5000}}},
     'server.root_volume.size'),
])
def test_bad_server_requests_name_the_field(stack, body, field):
    client = stack.client()
    response = client.post('/v1/%s/cloudservers' % client.project_id, json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()['error']['message']


def test_unknown_job_and_unknown_server_are_404(stack):
    client = stack.client()
    assert client.get('/v1/%s/jobs/%s' % (client.project_id, '0' * 32)).status_code == 404
    response = client.post('/v1/%s/cloudservers/action' % client.project_id,
                           json={'os-stop': {'servers': [{'id': 'nope'}]}})
    assert response.status_code == 404


def test_disk_lists_are_never_stale_after_a_change(stack):
    """List responses are cached per API process; every change must show at once."""
    client = stack.client()
    pid = client.project_id
    path = '/v2/%s/cloudvolumes/detail' % pid

    def listed() -> dict:
        # several calls, so both gunicorn workers (and their caches) answer
        bodies = [client.get(path, params={'name': 'stale-check'}).json() for _ in range(4)]
        assert all(body == bodies[0] for body in bodies)
        return {v['id']: v['status'] for v in bodies[0]['volumes']}

    assert listed() == {}
    disk = create_disk(client, name='stale-check')
    assert listed() == {disk: 'available'}
    server = next(s for s in client.get('/v1/%s/cloudservers/detail' % pid).json()['servers']
                  if s['status'] == 'ACTIVE')
    job = client.post('/v1/%s/cloudservers/%s/attachvolume' % (pid, server['id']),
                      json={'volumeAttachment': {'volumeId': disk}}).json()['job_id']
    client.wait_job(job)
    assert listed() == {disk: 'in-use'}
    job = client.delete('/v1/%s/cloudservers/%s/detachvolume/%s' % (pid, server['id'], disk)
                        ).json()['job_id']
    client.wait_job(job)
    job = client.delete('/v2/%s/cloudvolumes/%s' % (pid, disk)).json()['job_id']
    client.wait_job(job)
    assert listed() == {}
