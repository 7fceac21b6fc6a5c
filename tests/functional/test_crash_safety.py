"""Crash safety with real processes: a killed worker and a Redis restart lose no work."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.client import poll
from tests.support.stack import RedisServer


def _create_disk(client) -> tuple[str, str]:
    body = client.post('/v2.1/%s/cloudvolumes' % client.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10}}).json()
    return body['job_id'], body['volume_ids'][0]


def _status(client, volume_id: str) -> str:
    return client.get('/v2/%s/cloudvolumes/%s' % (client.project_id, volume_id)).json()['volume']['status']


def test_killed_worker_mid_create_ends_available_within_the_lease(fresh_stack_factory):
    stack = fresh_stack_factory()
    admin, client = stack.admin(), stack.client()
    # hold the first attempt inside the job long enough to kill its worker there
    assert admin.post('/sim/v1/faults', json={'point': 'evs.create_volume', 'action': 'delay',
                                              'seconds': 600}).status_code == 201
    job_id, volume_id = _create_disk(client)
    client.wait_job(job_id, done=('RUNNING',))
    assert _status(client, volume_id) == 'creating'

    stack.kill('worker-0')
    stack.start('worker-1', 'cbr-worker')
    lease = 3
    job = client.wait_job(job_id, timeout=lease * 10)
    assert job['status'] == 'SUCCESS', job
    assert _status(client, volume_id) == 'available'
    checksum = admin.get('/sim/v1/%s/volumes/%s/checksum' % (client.project_id, volume_id))
    assert checksum.status_code == 200


def test_killed_worker_on_every_attempt_fails_the_job_with_a_reason(fresh_stack_factory):
    stack = fresh_stack_factory(settings={'worker': {'max_attempts': 1}})
    admin, client = stack.admin(), stack.client()
    admin.post('/sim/v1/faults', json={'point': 'evs.create_volume', 'action': 'delay',
                                       'seconds': 600})
    job_id, volume_id = _create_disk(client)
    client.wait_job(job_id, done=('RUNNING',))
    stack.kill('worker-0')
    job = client.wait_job(job_id, timeout=30)
    assert job['status'] == 'FAIL'
    assert 'worker lost' in job['fail_reason'] and job['error_code'] == 'SIM.0002'
    assert _status(client, volume_id) == 'error'


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    """A Redis of the test's own, started, with no persistence."""
    redis = RedisServer(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def test_redis_restart_while_jobs_are_queued_loses_none(private_redis, fresh_stack_factory):
    stack = fresh_stack_factory(broker_url=private_redis.url)
    client = stack.client()
    stack.kill('worker-0')            # nobody consumes: the messages wait in Redis
    jobs = [_create_disk(client) for _ in range(5)]
    assert all(_status(client, volume_id) == 'creating' for _, volume_id in jobs)

    private_redis.stop()              # no persistence: every queued message is gone
    private_redis.start()
    stack.start('worker-1', 'cbr-worker')
    for job_id, volume_id in jobs:
        assert client.wait_job(job_id, timeout=60)['status'] == 'SUCCESS'
        assert _status(client, volume_id) == 'available'


def test_api_accepts_work_while_the_broker_is_down(private_redis, fresh_stack_factory):
    stack = fresh_stack_factory(broker_url=private_redis.url)
    client = stack.client()
    private_redis.stop()
    job_id, volume_id = _create_disk(client)   # committed; publishing fails
    assert _status(client, volume_id) == 'creating'
    private_redis.start()
    assert client.wait_job(job_id, timeout=60)['status'] == 'SUCCESS'
    poll(lambda: _status(client, volume_id), lambda s: s == 'available', 10,
         'disk did not become available')
