"""Firing backup policies on schedule (rules P3, B2).

A vault with an enabled backup policy applied carries ``next_run_at``, the next instant
its policy's trigger patterns fire (expanded by :mod:`.triggers`, cycles counted from the
day the policy was created, P5).  The leading scheduler finds due vaults through the
index on that column, never by scanning policies.  Each run is claimed by inserting a
``policy_runs`` row under its unique key (policy, vault, scheduled instant) in the
transaction that creates its backups, so a run fires at most once whatever the crashes
or the number of schedulers; every run that fell due fires, in order, each at its own
instant; a run's backups carry that instant as their creation time.  What a policy's
retention rule deletes is :mod:`.retention`; skips and job durations are not modelled yet.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.backups import checkpoints
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.operations import outbox
from cbr_common.policies import triggers

LOG = logging.getLogger(__name__)
LOOKAHEAD = dt.timedelta(days=62)  # longer than any cycle (30 days) twice over
BATCH = 200


def next_fire(policy: models.Policy, after: dt.datetime) -> dt.datetime | None:
    """The first instant after ``after`` the policy's patterns fire."""
    for moment in triggers.fire_times(policy.patterns, policy.created_at, after + LOOKAHEAD):
        if moment > after:
            return moment
    return None


def reschedule(session: Session, vault: models.Vault) -> None:
    """Set the vault's next run from its policy: none unless an enabled backup policy is
    applied (rule P3)."""
    policy = session.get(models.Policy, vault.policy_id) if vault.policy_id else None
    if policy is None or not policy.enabled or policy.operation_type != 'backup':
        vault.next_run_at = None
    else:
        vault.next_run_at = next_fire(policy, clock.now())


def reschedule_policy(session: Session, policy: models.Policy) -> None:
    """After a policy changed: every vault it is applied to gets its next run again."""
    for vault in session.execute(select(models.Vault).where(
            models.Vault.policy_id == policy.id)).scalars():
        reschedule(session, vault)


def seconds_to_next_run() -> float | None:
    """Wall seconds until the earliest next run falls due at the clock's current speed;
    None when nothing is scheduled or the clock stands still."""
    with read_scope() as session:
        earliest = session.execute(select(func.min(models.Vault.next_run_at))).scalar_one()
    state = clock.CLOCK.state()
    if earliest is None or state.speed == 0:
        return None
    return max(0.0, (earliest - clock.now()).total_seconds() / state.speed)


def due_vaults(now: dt.datetime) -> list[str]:
    """Ids of vaults whose next run is due, the most overdue first."""
    with read_scope() as session:
        return list(session.execute(
            select(models.Vault.id).where(models.Vault.next_run_at <= now)
            .order_by(models.Vault.next_run_at).limit(BATCH)).scalars())


def _fire_one(vault_id: str, now: dt.datetime) -> list[str] | None:
    """Fire the vault's next run if it is due; the operations to publish, or None when
    nothing was due (or another scheduler claimed the run)."""
    try:
        with session_scope() as session:
            vault = session.execute(select(models.Vault).where(models.Vault.id == vault_id)
                                    .with_for_update()).scalar_one_or_none()
            if vault is None or vault.next_run_at is None or vault.next_run_at > now:
                return None
            policy = session.get(models.Policy, vault.policy_id)
            instant = vault.next_run_at
            run = models.PolicyRun(policy_id=policy.id, vault_id=vault.id,
                                   scheduled_at=instant, fired_at=now)
            session.add(run)
            session.flush()  # the unique key: a second claim of this run fails here
            operations: list[models.Operation] = []
            if vault.status == 'available':
                days = (policy.operation_definition or {}).get('retention_duration_days')
                checkpoint, operations = checkpoints.create(
                    session, vault.project_id,
                    checkpoints.CheckpointRequest(vault_id=vault.id, policy_id=policy.id,
                                                  retention_duration_days=days or -1,
                                                  scheduled_at=instant))
                run.checkpoint_id = checkpoint.id
            vault.next_run_at = next_fire(policy, instant)
            return [operation.id for operation in operations]
    except IntegrityError:
        LOG.info('run of vault %s was claimed by another scheduler', vault_id)
        return None


def fire_due(now: dt.datetime) -> int:
    """Fire (a batch of) the runs due at ``now``, each vault's in order; returns how many
    fired."""
    fired = 0
    for vault_id in due_vaults(now):
        while (operation_ids := _fire_one(vault_id, now)) is not None:
            outbox.dispatch(operation_ids)
            fired += 1
    return fired
