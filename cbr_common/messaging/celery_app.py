"""The Celery application shared by cbr-api (publishing), cbr-scheduler and cbr-worker.

Queues are named per job family (``cbr_common.contracts.tasks.QUEUES``).  Messages are
acknowledged late and rejected when a worker process dies, and the broker's visibility
timeout is longer than the longest job; lost work is found sooner by operation leases.
"""
from __future__ import annotations

import threading

from celery import Celery
from kombu import Queue

from cbr_common.config import CONF
from cbr_common.contracts.tasks import QUEUES


def queue_name(family: str) -> str:
    """The broker queue of a job family, with this installation's prefix."""
    return CONF.messaging.queue_prefix + family

_lock = threading.Lock()
_app: Celery | None = None

# How every task message is sent, acknowledged and delivered (late acks, one at a time,
# JSON only, no results); benchmarks/noop_worker.py runs its baseline with the same.
DELIVERY_SETTINGS: dict[str, object] = dict(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_acks_on_failure_or_timeout=True,
    worker_prefetch_multiplier=1,
    task_serializer='json',
    accept_content=['json'],
    result_backend=None,
    task_ignore_result=True,
)


def build_app() -> Celery:
    timeout = CONF.messaging.publish_timeout
    app = Celery('cbr', broker=CONF.messaging.broker_url, set_as_current=True)
    app.conf.update(
        **DELIVERY_SETTINGS,
        task_queues=[Queue(queue_name(family)) for family in QUEUES],
        task_default_queue=queue_name(QUEUES[0]),
        task_create_missing_queues=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=timeout,
        broker_transport_options={
            'visibility_timeout': CONF.messaging.visibility_timeout,
            'socket_connect_timeout': timeout,
            'socket_timeout': max(timeout, 5.0),
            'max_retries': 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


def get_app() -> Celery:
    global _app
    with _lock:
        if _app is None:
            _app = build_app()
        return _app


def reset_app() -> None:
    global _app
    with _lock:
        _app = None
