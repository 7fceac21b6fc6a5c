"""RabbitMQ instead of Redis: only the broker URL changes."""
from __future__ import annotations

import os

import kombu
import pytest

AMQP_URL = os.environ.get('CBR_TEST_AMQP', 'amqp://guest:guest@127.0.0.1:5672//')


def test_a_job_runs_over_rabbitmq(fresh_stack_factory):
    try:
        with kombu.Connection(AMQP_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # any failure to connect: no RabbitMQ here
        pytest.skip('RabbitMQ at %s does not answer: %s' % (AMQP_URL, exc))
    stack = fresh_stack_factory(broker_url=AMQP_URL)
    client = stack.client()
    assert stack.admin().get('/sim/v1/health').json()['broker']['alive'] is True
    body = client.post('/v2.1/%s/cloudvolumes' % client.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10}}).json()
    assert client.wait_job(body['job_id'])['status'] == 'SUCCESS'
    shown = client.get('/v2/%s/cloudvolumes/%s' % (client.project_id, body['volume_ids'][0]))
    assert shown.json()['volume']['status'] == 'available'
