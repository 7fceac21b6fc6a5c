"""Leader election by a lease row: at most one scheduler leads; standbys take over on expiry."""
from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from cbr_common import clock
from cbr_common.db import models
from cbr_common.db.engine import session_scope

LEASE_NAME = 'scheduler'


def try_lead(holder: str, lease_seconds: float, name: str = LEASE_NAME) -> bool:
    """Take or renew the lease for ``holder``; True while ``holder`` leads."""
    real = clock.real_time()
    with session_scope() as session:
        result = session.execute(
            update(models.LeaderLease)
            .where(models.LeaderLease.name == name,
                   (models.LeaderLease.holder == holder) | (models.LeaderLease.expires_at < real))
            .values(holder=holder, expires_at=real + lease_seconds))
        if result.rowcount == 1:
            return True
    try:
        with session_scope() as session:
            session.execute(insert(models.LeaderLease).values(
                name=name, holder=holder, expires_at=real + lease_seconds))
        return True
    except IntegrityError:
        return False


def resign(holder: str, name: str = LEASE_NAME) -> None:
    """Give the lease up at once (clean shutdown), so a standby need not wait for expiry."""
    with session_scope() as session:
        session.execute(update(models.LeaderLease)
                        .where(models.LeaderLease.name == name,
                               models.LeaderLease.holder == holder)
                        .values(expires_at=0.0))
