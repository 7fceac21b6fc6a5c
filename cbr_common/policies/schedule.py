"""Firing backup policies on schedule (rules P3, B2).

A vault with an enabled backup policy applied carries ``next_run_at``, the next instant
its policy's trigger patterns fire (expanded by :mod:`.triggers`, cycles counted from the
day the policy was created, P5).  The leading scheduler finds due vaults through the
index on that column, never by scanning policies.  A change of the patterns counts the
new cycles from the policy's last run, so its time of day stays (P14).  Each run is
claimed by inserting a ``policy_runs`` row under its unique key (policy, vault, scheduled
instant) in the transaction that creates its backups, so a run fires at most once
whatever the crashes or the number of schedulers; every run that fell due fires, in
order, each at its own instant; a run's backups carry that instant as their creation time.

A run is skipped for a resource whose backup is still going at the run's instant (P10):
one that is not done by then in domain time (:mod:`cbr_common.backups.durations`).  A run
that fires late (a clock jump, a scheduler that was down) first waits for the vault's
backups that are over by its instant to end, and is left for a later pass while they have
not, so the outcome of a jump is that of the days it jumps over, whatever the workers'
speed.  What a policy's retention rule deletes is :mod:`.retention`.
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
from cbr_common.operations import activity, outbox
from cbr_common.policies import triggers

LOG = logging.getLogger(__name__)
LOOKAHEAD = dt.timedelta(days=62)  # longer than any cycle (30 days) twice over
BATCH = 200


def next_fire(policy: models.Policy, after: dt.datetime) -> dt.datetime | None:
    """The first instant after ``after`` the policy's patterns fire, cycles counted from
    its ``cycle_start`` (P14), or from its creation (P5)."""
    start = policy.cycle_start or policy.created_at
    for moment in triggers.fire_times(policy.patterns, start, after + LOOKAHEAD):
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


def due_vaults(now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """Vaults whose next run is due, with its instant, the most overdue first."""
    with read_scope() as session:
        return [(vault_id, instant) for vault_id, instant in session.execute(
            select(models.Vault.id, models.Vault.next_run_at)
            .where(models.Vault.next_run_at <= now)
            .order_by(models.Vault.next_run_at).limit(BATCH))]


def _fire_one(vault_id: str, instant: dt.datetime
              ) -> tuple[list[str] | None, dt.datetime | None]:
    """Fire the vault's run at ``instant`` if that is still its next run.

    Returns the operations to publish (None when nothing fired: the run was fired
    meanwhile, or another scheduler claimed it) and the vault's next run now.
    """
    try:
        with session_scope() as session:
            vault = session.execute(select(models.Vault).where(models.Vault.id == vault_id)
                                    .with_for_update()).scalar_one_or_none()
            if vault is None or vault.next_run_at != instant:
                return None, vault.next_run_at if vault is not None else None
            policy = session.get(models.Policy, vault.policy_id)
            run = models.PolicyRun(policy_id=policy.id, vault_id=vault.id,
                                   scheduled_at=instant, fired_at=clock.now())
            session.add(run)
            session.flush()  # the unique key: a second claim of this run fails here
            operations: list[models.Operation] = []
            if vault.status == 'available':
                definition = policy.operation_definition or {}
                checkpoint, operations = checkpoints.create(
                    session, vault.project_id, checkpoints.CheckpointRequest(
                        vault_id=vault.id, policy_id=policy.id,
                        retention_duration_days=definition.get('retention_duration_days') or -1,
                        scheduled_at=instant,
                        full_backup_interval=definition.get('full_backup_interval'),
                        family=vault.family, tags=policy.tags or ()))
                run.checkpoint_id = checkpoint.id
            vault.next_run_at = next_fire(policy, instant)
            return [operation.id for operation in operations], vault.next_run_at
    except IntegrityError:
        LOG.info('run of vault %s was claimed by another scheduler', vault_id)
        return None, None


def fire_due(now: dt.datetime, settle_until: float) -> tuple[int, int]:
    """Fire (a batch of) the runs due at ``now``, each vault's in order.

    A run fires only once the vault's backups that are over by its instant in domain time
    have ended; it waits for them until the monotonic instant ``settle_until`` at most,
    then leaves the vault's runs for a later call.  Returns how many runs fired and how
    many vaults were left so.
    """
    fired = deferred = 0
    due = due_vaults(now)
    pending = activity.with_unfinished([vault_id for vault_id, _ in due])
    for vault_id, instant in due:
        may_wait = vault_id in pending  # or once a run started something
        while instant is not None and instant <= now:
            if may_wait and activity.wait_finished_by(vault_id, instant, settle_until):
                deferred += 1
                break
            operation_ids, instant = _fire_one(vault_id, instant)
            may_wait = may_wait or operation_ids != []
            if operation_ids is not None:
                outbox.dispatch(operation_ids)
                fired += 1
    return fired, deferred
