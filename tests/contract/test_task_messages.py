"""The task message contract from both sides: what a publisher puts on the queue is what a
worker accepts, and the schema does not change without a version change."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import kombu
import pytest
import redis

from cbr_common import config
from cbr_common.contracts import tasks
from cbr_common.messaging import celery_app, publisher
from tests.support.stack import REDIS_BASE

SCHEMA = Path(__file__).resolve().parents[2] / 'docs' / 'contracts' / 'task-message-v1.json'
BROKER = REDIS_BASE + '/12'


def test_schema_matches_the_checked_in_copy():
    current = tasks.TaskMessage.model_json_schema()
    assert json.loads(SCHEMA.read_text()) == current, (
        'the task message schema changed: bump CONTRACT_VERSION (major for breaking changes) '
        'and update docs/contracts/task-message-v1.json')


@pytest.fixture
def broker():
    try:
        redis.Redis.from_url(BROKER).ping()
    except redis.ConnectionError as exc:
        pytest.skip('no Redis at %s: %s' % (BROKER, exc))
    prefix = 'contract-%s-' % uuid.uuid4().hex[:8]
    config.CONF.set_override('broker_url', BROKER, group='messaging')
    config.CONF.set_override('queue_prefix', prefix, group='messaging')
    celery_app.reset_app()
    yield prefix
    config.CONF.clear_override('broker_url', group='messaging')
    config.CONF.clear_override('queue_prefix', group='messaging')
    celery_app.reset_app()


def test_a_published_message_is_what_the_consumer_parses(broker):
    sent = tasks.TaskMessage(operation_id=uuid.uuid4().hex, job_type='deleteVolume',
                             project_id=uuid.uuid4().hex, dispatch=2)
    assert publisher.publish(sent)
    with kombu.Connection(BROKER) as connection:
        queue = connection.SimpleQueue(broker + 'inventory')
        message = queue.get(timeout=5)
        assert message.headers['task'] == tasks.task_name('inventory')
        args, kwargs, _ = message.decode()
        message.ack()
        queue.queue.delete()
        queue.close()
    assert kwargs == {} and len(args) == 1
    assert args[0] == sent.to_wire()
    assert tasks.parse(args[0]) == sent


def test_publish_to_an_unreachable_broker_fails_quickly_and_cleanly():
    config.CONF.set_override('broker_url', 'redis://127.0.0.1:1/0', group='messaging')
    celery_app.reset_app()
    try:
        message = tasks.TaskMessage(operation_id='b' * 32, job_type='createVolume',
                                    project_id='p', dispatch=1)
        assert publisher.publish(message) is False
    finally:
        config.CONF.clear_override('broker_url', group='messaging')
        celery_app.reset_app()
