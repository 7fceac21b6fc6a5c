"""The baseline of benchmarks/backup_throughput.py: a Celery app with one task that does
nothing but count itself done in Redis.

Started by the benchmark as ``celery -A noop_worker worker`` in this folder, with the
broker URL and the queue in ``CBR_BENCH_NOOP_BROKER`` and ``CBR_BENCH_NOOP_QUEUE``. The
app has cbr-worker's message settings (cbr_common/messaging/celery_app.py): late
acknowledgement, rejected when a worker process is lost, prefetch 1, JSON only, no
results. ``noop(counter, total)`` increments the Redis key ``counter``; the task that
brings it to ``total`` pushes onto ``counter + ':done'``, which the benchmark waits on
with BLPOP.
"""
from __future__ import annotations

import os
import threading

import redis
from celery import Celery
from kombu import Queue

from cbr_common.messaging.celery_app import DELIVERY_SETTINGS

BROKER_ENV = 'CBR_BENCH_NOOP_BROKER'
QUEUE_ENV = 'CBR_BENCH_NOOP_QUEUE'
DEFAULT_QUEUE = 'cbr-bench-noop'
TASK_NAME = 'cbr_bench.noop'

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def done_key(counter: str) -> str:
    """The list the last task of a batch pushes onto."""
    return counter + ':done'


def _redis(url: str) -> redis.Redis:
    """One client per broker URL and process, shared by the pool's threads."""
    with _lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url)
        return _clients[url]


def build_app(broker_url: str, queue: str) -> Celery:
    """A Celery app on ``broker_url`` whose one task is consumed from ``queue``."""
    app = Celery('cbr_bench_noop', broker=broker_url, set_as_current=False)
    app.conf.update(
        **DELIVERY_SETTINGS,
        task_queues=[Queue(queue)],
        task_default_queue=queue,
        task_create_missing_queues=False,
        broker_connection_retry_on_startup=True,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )

    @app.task(name=TASK_NAME)
    def noop(counter: str, total: int) -> None:
        client = _redis(broker_url)
        if client.incr(counter) == total:
            client.rpush(done_key(counter), 1)

    return app


app = build_app(os.environ.get(BROKER_ENV, 'redis://127.0.0.1:6379/0'),
                os.environ.get(QUEUE_ENV, DEFAULT_QUEUE))
