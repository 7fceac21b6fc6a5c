"""Service liveness: every process writes a heartbeat row; health reads them back."""
from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from sqlalchemy import delete, select, text

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.db.engine import get_engine, session_scope

LOG = logging.getLogger(__name__)
KINDS = ('api', 'scheduler', 'worker')


def service_id(kind: str) -> str:
    return '%s:%s:%d' % (kind, socket.gethostname(), os.getpid())


def beat(kind: str, info: dict[str, Any] | None = None) -> str:
    """Record that this process is alive now."""
    ident = service_id(kind)
    real = clock.real_time()
    with session_scope() as session:
        row = session.get(models.ServiceHeartbeat, ident)
        if row is None:
            session.add(models.ServiceHeartbeat(id=ident, kind=kind, host=socket.gethostname(),
                                                pid=os.getpid(), started_at=real,
                                                last_seen=real, info=info or {}))
        else:
            row.last_seen = real
            if info is not None:
                row.info = info
    return ident


def forget(kind: str) -> None:
    """Remove this process's heartbeat (on a clean shutdown)."""
    with session_scope() as session:
        session.execute(delete(models.ServiceHeartbeat)
                        .where(models.ServiceHeartbeat.id == service_id(kind)))


class HeartbeatThread(threading.Thread):
    """Beats for ``kind`` every ``interval`` seconds until stopped."""

    def __init__(self, kind: str, interval: float = 2.0,
                 info: dict[str, Any] | None = None) -> None:
        super().__init__(name='heartbeat-%s' % kind, daemon=True)
        self.kind, self.interval, self.info = kind, interval, info
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                beat(self.kind, self.info)
            except Exception:  # the database may be briefly unavailable; beat again later
                LOG.exception('heartbeat of %s failed', self.kind)
            if self.stopped.wait(self.interval):
                return


def database_alive() -> bool:
    try:
        with get_engine().connect() as connection:
            connection.execute(text('SELECT 1'))
        return True
    except Exception:
        return False


def broker_alive(timeout: float = 2.0) -> bool:
    from kombu import Connection

    try:
        with Connection(CONF.messaging.broker_url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception:
        return False


def health() -> dict[str, Any]:
    """Liveness of every service from heartbeats, plus the broker and the database."""
    stale = CONF.scheduler.heartbeat_stale_seconds
    real = clock.real_time()
    report: dict[str, Any] = {kind: [] for kind in KINDS}
    database = database_alive()
    if database:
        with session_scope() as session:
            rows = session.execute(select(models.ServiceHeartbeat)
                                   .order_by(models.ServiceHeartbeat.id)).scalars().all()
            leader = session.get(models.LeaderLease, 'scheduler')
            leader_id = leader.holder if leader and leader.expires_at > real else None
        for row in rows:
            age = real - row.last_seen
            report.setdefault(row.kind, []).append({
                'id': row.id, 'host': row.host, 'pid': row.pid, 'alive': age <= stale,
                'last_seen_seconds_ago': round(age, 3), 'info': row.info,
                **({'leader': row.id == leader_id} if row.kind == 'scheduler' else {})})
    report['database'] = {'alive': database}
    report['broker'] = {'alive': broker_alive()}
    report['healthy'] = bool(
        database and report['broker']['alive']
        and all(any(entry['alive'] for entry in report[kind]) for kind in KINDS))
    return report
