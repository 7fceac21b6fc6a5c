"""``cbr-worker``: a Celery worker (thread pool) consuming the configured queues."""
from __future__ import annotations

import sys

from cbr_common import config, logs, services
from cbr_common.config import CONF


def main(argv: list[str] | None = None) -> None:
    config.load(sys.argv[1:] if argv is None else argv)
    logs.setup('worker')
    from cbr_common.messaging.celery_app import get_app, queue_name
    from cbr_common.operations.registry import load_handlers
    from cbr_worker.tasks import register

    load_handlers()
    app = get_app()
    register(app)
    heartbeat = services.HeartbeatThread('worker', info={'queues': list(CONF.worker.queues)})
    heartbeat.start()
    try:
        app.worker_main(['worker', '--pool', 'threads',
                         '--concurrency', str(CONF.worker.concurrency),
                         '--queues', ','.join(queue_name(q) for q in CONF.worker.queues),
                         '--hostname', services.service_id('worker').replace(':', '@', 1),
                         '--without-gossip', '--without-mingle', '--without-heartbeat',
                         '--loglevel', 'INFO'])
    finally:
        heartbeat.stopped.set()
        services.forget('worker')
