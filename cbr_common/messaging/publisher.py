"""Publishing task messages for committed operations (the outbox's send side)."""
from __future__ import annotations

import logging

from cbr_common.contracts.tasks import TaskMessage, task_name
from cbr_common.messaging.celery_app import get_app, queue_name

LOG = logging.getLogger(__name__)


def publish(message: TaskMessage) -> bool:
    """Send ``message`` to its queue; False (and a log line) when the broker is unreachable.

    A failed publish loses nothing: the operation row is committed, and the scheduler's
    outbox pass publishes it again.
    """
    try:
        get_app().send_task(task_name(message.queue), args=[message.to_wire()],
                            queue=queue_name(message.queue), retry=False)
        return True
    except Exception as exc:  # kombu raises many transport errors; all mean "not sent"
        LOG.warning('publish of operation %s failed, left to the outbox: %s',
                    message.operation_id, exc)
        return False
