"""Housekeeping: drop finished jobs past their history window, stale heartbeats, orphan files."""
from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import delete, select

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.dataplane.volume_store import VolumeStore
from cbr_common.db import models
from cbr_common.db.engine import session_scope
from cbr_common.operations import history

HEARTBEAT_KEEP_SECONDS = 3600


def purge(days: int = 30) -> dict[str, int]:
    """Remove what is no longer needed; returns counts of what went."""
    cutoff = clock.now() - dt.timedelta(days=days)
    operations = history.prune(dt.timedelta(days=days), limit=None)
    with session_scope() as session:
        events = session.execute(delete(models.StatusEvent)
                                 .where(models.StatusEvent.at < cutoff)).rowcount
        beats = session.execute(delete(models.ServiceHeartbeat).where(
            models.ServiceHeartbeat.last_seen < clock.real_time() - HEARTBEAT_KEEP_SECONDS)).rowcount
        known = {row[0] for model in (models.Volume, models.Share)
                 for row in session.execute(select(model.id))}
    return {'operations': operations, 'status_events': events, 'heartbeats': beats,
            'orphan_devices': _remove_orphan_devices(known)}


def _remove_orphan_devices(known: set[str]) -> int:
    store = VolumeStore.from_config()
    root = CONF.volume_store.path
    if not os.path.isdir(root):
        return 0
    orphans = {name.split('.', 1)[0] for name in os.listdir(root)} - known
    for device_id in orphans:
        store.delete(device_id)
    return len(orphans)
