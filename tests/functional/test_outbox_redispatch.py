"""The outbox pass picks exactly the waiting operations whose back-off has passed.

The back-off is applied by the database query, so a pass over many waiting operations
that are not due yet reads none of them; these tests pin down that it chooses the same
operations the back-off rule says, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

from sqlalchemy import update

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.db.engine import session_scope
from cbr_common.operations import outbox
from tests.support.dataplane import BackupService


def _waiting(service: BackupService, *, sent: int, age: float, status: str = 'INIT') -> str:
    """An operation published ``sent`` times, the last (or its creation) ``age`` s ago."""
    with session_scope() as session:
        operation = outbox.create(session, project_id=service.project_id,
                                  job_type='deleteVolume', params={})
    with session_scope() as session:
        session.execute(update(models.Operation).where(models.Operation.id == operation.id)
                        .values(status=status, dispatch_count=sent,
                                dispatched_at=clock.real_time() - age))
    return operation.id


def test_only_operations_past_their_back_off_are_due(backup_service):
    CONF.set_override('redispatch_after', 30, group='scheduler')
    try:
        due = {
            _waiting(backup_service, sent=0, age=outbox.FIRST_PUBLISH_GRACE + 1),  # never sent
            _waiting(backup_service, sent=1, age=31),
            _waiting(backup_service, sent=2, age=61),
            _waiting(backup_service, sent=9, age=16 * 30 + 1),  # the back-off stops doubling
        }
        not_due = {
            _waiting(backup_service, sent=0, age=outbox.FIRST_PUBLISH_GRACE - 1),
            _waiting(backup_service, sent=1, age=29),
            _waiting(backup_service, sent=2, age=59),
            _waiting(backup_service, sent=4, age=8 * 30 - 1),
            _waiting(backup_service, sent=9, age=16 * 30 - 1),
            _waiting(backup_service, sent=1, age=10_000, status='RUNNING'),  # a worker has it
        }
        found = set(outbox.due_for_redispatch())
    finally:
        CONF.clear_override('redispatch_after', group='scheduler')
    assert found & (due | not_due) == due
