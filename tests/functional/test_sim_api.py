"""The /sim administration and data API, and the authentication in front of everything."""
from __future__ import annotations

import datetime as dt

import requests


def test_bytes_written_read_back_and_change_the_checksum(stack):
    admin, pid = stack.admin(), stack.project('demo')['id']
    disk = next(v for v in stack.client().get('/v2/%s/cloudvolumes/detail' % pid).json()['volumes']
                if v['name'] == 'disk-1')
    base = '/sim/v1/%s/volumes/%s' % (pid, disk['id'])
    payload = bytes(range(256)) * 1000
    before = admin.get(base + '/checksum').json()
    assert admin.put(base + '/data', params={'offset': 4096}, data=payload).status_code == 204
    read = admin.get(base + '/data', params={'offset': 4096, 'length': len(payload)})
    assert read.status_code == 200 and read.content == payload
    hole = admin.get(base + '/data', params={'offset': 10 * 1024 ** 2, 'length': 512})
    assert hole.content == b'\0' * 512
    after = admin.get(base + '/checksum').json()
    assert after['digest'] != before['digest'] and after['allocated_bytes'] > 0
    assert admin.put(base + '/data', params={'offset': 4096}, data=b'\1').status_code == 204
    assert admin.get(base + '/checksum').json()['digest'] != after['digest']


def test_fill_is_deterministic_across_disks(stack):
    admin, pid = stack.admin(), stack.project('demo')['id']
    disks = [v for v in stack.client().get('/v2/%s/cloudvolumes/detail' % pid).json()['volumes']
             if v['name'] in ('disk-1', 'disk-2', 'disk-3')]
    # disk-1 is 10 GB; fill two disks of equal size the same way after zeroing the first
    target = next(d for d in disks if d['name'] == 'disk-3')
    base = '/sim/v1/%s/volumes/%s' % (pid, target['id'])
    first = admin.post(base + '/fill', json={'seed': 7, 'fraction': 0.001})
    assert first.status_code == 200 and first.json()['written_bytes'] > 0
    digest = admin.get(base + '/checksum').json()['digest']
    again = admin.post(base + '/fill', json={'seed': 7, 'fraction': 0.001}).json()
    assert again == first.json()
    assert admin.get(base + '/checksum').json()['digest'] == digest


def test_sim_data_rejects_bad_ranges_with_the_field(stack):
    admin, pid = stack.admin(), stack.project('demo')['id']
    disk = stack.client().get('/v2/%s/cloudvolumes/detail' % pid).json()['volumes'][0]
    base = '/sim/v1/%s/volumes/%s' % (pid, disk['id'])
    response = admin.put(base + '/data', params={'offset': disk['size'] * 1024 ** 3}, data=b'x')
    assert response.status_code == 400 and 'offset' in response.json()['error_msg']
    response = admin.get(base + '/data', params={'offset': 'abc', 'length': 1})
    assert response.status_code == 400 and 'offset' in response.json()['error_msg']
    response = admin.post(base + '/fill', json={'seed': 1, 'fraction': 2})
    assert response.status_code == 400 and 'fraction' in response.json()['error_msg']


def test_sim_needs_the_admin_role(stack):
    demo = stack.client()
    response = demo.get('/sim/v1/clock')
    assert response.status_code == 403


def test_clock_freezes_advances_and_never_runs_backwards(stack):
    admin = stack.admin()
    try:
        frozen = admin.post('/sim/v1/clock', json={'action': 'freeze'}).json()
        assert frozen['mode'] == 'frozen'
        later = admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 86400}).json()
        delta = (dt.datetime.fromisoformat(later['now']) -
                 dt.datetime.fromisoformat(frozen['now'])).total_seconds()
        assert 86400 <= delta < 86400 + 1
        assert admin.get('/sim/v1/clock').json()['now'] == later['now']
        back = admin.post('/sim/v1/clock', json={'action': 'set', 'to': frozen['now']})
        assert back.status_code == 400 and back.json()['error_code'] == 'SIM.0400'
        fast = admin.post('/sim/v1/clock', json={'action': 'speed', 'speed': 60}).json()
        assert fast['mode'] == 'scaled' and fast['speed'] == 60
        missing = admin.post('/sim/v1/clock', json={'action': 'advance'})
        assert missing.status_code == 400 and 'seconds' in missing.json()['error_msg']
    finally:
        admin.post('/sim/v1/clock', json={'action': 'resume'})


def test_health_lists_every_service(stack):
    report = stack.admin().get('/sim/v1/health').json()
    assert report['healthy'] is True
    assert report['database']['alive'] and report['broker']['alive']
    assert report['api'] and report['worker'] and report['scheduler']
    assert any(s['leader'] for s in report['scheduler'])


def test_unsigned_and_tampered_requests_get_401(stack):
    client = stack.client()
    path = '/v2/%s/cloudvolumes/detail' % client.project_id
    bare = requests.get(stack.endpoint + path, timeout=10)
    assert bare.status_code == 401 and bare.json()['error_code'] == 'APIGW.0301'
    url, headers, _ = client.signed('GET', path, params=[('limit', 5)])
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    tampered = url.replace('limit=5', 'limit=6')
    response = requests.get(tampered, headers=headers, timeout=10)
    assert response.status_code == 401 and response.json()['error_code'] == 'APIGW.0301'
    body = b'{"volume": {}}'
    url, headers, _ = client.signed('POST', '/v2.1/%s/cloudvolumes' % client.project_id,
                                    body=body)
    response = requests.post(url, headers=headers, data=b'{"volume": {"size": 1}}', timeout=10)
    assert response.status_code == 401
    old = dict(headers, **{'X-Sdk-Date': '20200101T000000Z'})
    assert requests.post(url, headers=old, data=body, timeout=10).status_code == 401


def test_reset_wipes_everything_back_to_the_seeded_inventory(fresh_stack_factory):
    stack = fresh_stack_factory()
    admin, client, pid = stack.admin(), stack.client(), stack.project('demo')['id']
    job = client.post('/v2.1/%s/cloudvolumes' % pid, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10, 'name': 'temp'}}).json()
    client.wait_job(job['job_id'])
    seeded = client.get('/v2/%s/cloudvolumes/detail' % pid, params={'name': 'disk-1'}).json()
    admin.put('/sim/v1/%s/volumes/%s/data' % (pid, seeded['volumes'][0]['id']),
              params={'offset': 0}, data=b'x' * 100)
    admin.post('/sim/v1/clock', json={'action': 'freeze'})

    response = admin.post('/sim/v1/reset')
    assert response.status_code == 200 and response.json()['clock']['mode'] == 'real'

    volumes = client.get('/v2/%s/cloudvolumes' % pid).json()['volumes']
    names = sorted(v['name'] for v in volumes)
    assert 'temp' not in names and len(volumes) == 7   # 2 servers × 2 disks + 3 spare
    assert set(volumes[0]) == {'id', 'name', 'links'}
    disk = next(v for v in client.get('/v2/%s/cloudvolumes/detail' % pid,
                                      params={'name': 'disk-1'}).json()['volumes'])
    assert admin.get('/sim/v1/%s/volumes/%s/checksum' % (pid, disk['id'])
                     ).json()['allocated_bytes'] == 0
    assert client.get('/v1/%s/jobs/%s' % (pid, job['job_id'])).status_code == 404
    # the credentials still work: identities are part of the seeded state
    assert stack.client('alt_demo').get('/v1/%s/cloudservers/detail' %
                                        stack.project('alt_demo')['id']).json()['count'] == 2


def test_lists_after_reset_show_the_new_inventory(fresh_stack_factory):
    stack = fresh_stack_factory()
    client, pid = stack.client(), stack.project('demo')['id']
    before = {v['id'] for v in client.get('/v2/%s/cloudvolumes' % pid).json()['volumes']}
    assert stack.admin().post('/sim/v1/reset').status_code == 200
    after = {v['id'] for v in client.get('/v2/%s/cloudvolumes' % pid).json()['volumes']}
    assert len(after) == len(before) == 7 and not before & after
