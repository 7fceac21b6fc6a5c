"""Retention of policy backups: which ones a policy's rule deletes, and when.

Rules P6–P9, P11, P13 and B7, read together as one model:

* a backup made by a policy's scheduled run remembers the policy (``policy_id``) and,
  under a time-period rule, its own expiry (``expired_at``, from the scheduled instant,
  set by :mod:`.schedule`);
* **time**: a backup whose expiry has passed is deleted, whatever its policy does later
  (P11c, P13); a manual backup with an expiry asked for at checkpoint time too;
* **quantity**: while the policy is applied to the vault and its rule keeps a number of
  backups (``max_backups``, and the day/week/month/year counts in the policy's timezone),
  the resource's backups of that policy beyond those kept are deleted -- the old ones
  made under a time period as well (P11d), none once the rule is a time period or
  permanent (P11b) or the policy is off the vault (P13); a new number applies at once
  (P11a); with ``keep_first_of_month`` (VBS, P6) the resource's first backup of the
  policy made in the current month (in the policy's timezone) is kept as well;
* manual backups are never counted or deleted by a rule (P7); a backup that made an
  image is neither counted nor deleted (B7);
* failed policy backups: the 10 newest of a resource are kept, none older than a month
  (P9).

A resource's rule is checked after each of its backups completes, and expired
backups are swept once a day, at 12:00 UTC of the domain clock (P8): the sweep deletes
what expired before the latest 12:00 that has passed.  Deletions are normal delete
operations (their tasks, then block GC); the caller publishes them after its commit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.backups import images, requests
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.errors import WrongState
from cbr_common.operations import outbox
from cbr_common.policies.schema import LONG_TERM_FIELDS, UNLIMITED

FAILED_KEPT = 10  # rule P9
FAILED_KEPT_FOR = relativedelta(months=1)
SWEEP_HOUR = 12  # rule P8: the daily sweep, in UTC
SWEEP_BATCH = 200


def _timezone(definition: dict) -> dt.timezone:
    """``UTC+08:00`` as a fixed offset (the schema checked the form)."""
    text = definition.get('timezone') or 'UTC+00:00'
    offset = dt.timedelta(hours=int(text[4:6]), minutes=int(text[7:9]))
    return dt.timezone(-offset if text[3] == '-' else offset)


_PERIODS: dict[str, Callable[[dt.datetime], tuple]] = {
    'day_backups': lambda moment: (moment.year, moment.month, moment.day),
    'week_backups': lambda moment: tuple(moment.isocalendar()[:2]),
    'month_backups': lambda moment: (moment.year, moment.month),
    'year_backups': lambda moment: (moment.year,),
}


def keeps_by_quantity(definition: dict) -> bool:
    """Whether the rule keeps a number of backups (rather than a period, or forever)."""
    limit = definition.get('max_backups')
    return bool(limit and limit > 0) or any(definition.get(name) for name in LONG_TERM_FIELDS)


def _first_of_month(newest_first: Sequence[models.Backup], zone: dt.timezone,
                    now: dt.datetime) -> set[str]:
    """The id of the oldest of the backups made in ``now``'s month in ``zone``, if any."""
    month = _PERIODS['month_backups'](now.astimezone(zone))
    this_month = [backup.id for backup in newest_first
                  if _PERIODS['month_backups'](backup.created_at.astimezone(zone)) == month]
    return set(this_month[-1:])


def kept(definition: dict, newest_first: Sequence[models.Backup],
         now: dt.datetime | None = None) -> set[str]:
    """Ids the quantity rule keeps of a resource's backups, newest first: the newest
    ``max_backups``, the newest of each of the last N days, weeks, months and years
    that have a backup, and with ``keep_first_of_month`` the first backup of the month of
    ``now`` (default: the clock's), all in the policy's timezone."""
    limit = definition.get('max_backups')
    if limit == UNLIMITED:
        return {backup.id for backup in newest_first}
    keep = {backup.id for backup in newest_first[:limit]} if limit else set()
    zone = _timezone(definition)
    if definition.get('keep_first_of_month'):
        keep |= _first_of_month(newest_first, zone, now or clock.now())
    for name in LONG_TERM_FIELDS:
        count = definition.get(name) or 0
        newest_of_period: dict[tuple, str] = {}
        for backup in newest_first:
            period = _PERIODS[name](backup.created_at.astimezone(zone))
            if period not in newest_of_period and len(newest_of_period) < count:
                newest_of_period[period] = backup.id
        keep.update(newest_of_period.values())
    return keep


def _without_images(session: Session, rows: list[models.Backup]) -> list[models.Backup]:
    """``rows`` less the backups that made an image (rule B7)."""
    protected = images.images_of(session, [row.id for row in rows])
    return [row for row in rows if row.id not in protected]


def _policy_backups(session: Session, vault_id: str, resource_id: str, policy_id: str,
                    statuses: Sequence[str]) -> dict[str, list[models.Backup]]:
    """The resource's backups of that policy in the vault with each of ``statuses``, newest
    first, leaving out those that made an image (rule B7); one query for them all."""
    rows = list(session.execute(
        select(models.Backup)
        .where(models.Backup.vault_id == vault_id, models.Backup.resource_id == resource_id,
               models.Backup.parent_id.is_(None), models.Backup.auto_trigger.is_(True),
               models.Backup.policy_id == policy_id, models.Backup.status.in_(statuses))
        .order_by(models.Backup.created_at.desc(), models.Backup.id.desc())
        .with_for_update(of=models.Backup)).scalars())  # counted as they are at commit
    found: dict[str, list[models.Backup]] = {status: [] for status in statuses}
    for row in _without_images(session, rows):
        found[row.status].append(row)
    return found


def _delete(session: Session, backups: Iterable[models.Backup]) -> list[models.Operation]:
    """Delete operations for the backups; one that cannot be deleted now (its vault is
    being deleted, say) is left for a later check."""
    operations = []
    for backup in backups:
        try:
            operations.append(requests.delete_operation(session, backup))
        except WrongState:
            continue
    return operations


def _by_quantity(session: Session, vault: models.Vault, policy: models.Policy,
                 newest_first: Sequence[models.Backup]) -> list[models.Operation]:
    """Rule P11a/P13: the resource's available policy backups beyond what the rule keeps."""
    definition = policy.operation_definition or {}
    if vault.policy_id != policy.id or not keeps_by_quantity(definition):
        return []  # rules P11b, P13
    keep = kept(definition, newest_first)
    return _delete(session, [backup for backup in newest_first if backup.id not in keep])


def _failed(session: Session, newest_first: Sequence[models.Backup],
            now: dt.datetime) -> list[models.Operation]:
    """Rule P9: the 10 newest failed backups stay, for a month at most."""
    too_old = now - FAILED_KEPT_FOR
    return _delete(session, [backup for index, backup in enumerate(newest_first)
                             if index >= FAILED_KEPT or backup.created_at < too_old])


def _expired(session: Session, before: dt.datetime, *, vault_id: str | None = None,
             resource_id: str | None = None, limit: int | None = None) -> list[models.Backup]:
    query = (select(models.Backup)
             .where(models.Backup.expired_at <= before, models.Backup.parent_id.is_(None),
                    models.Backup.status == 'available')
             .order_by(models.Backup.expired_at))
    if vault_id is not None:
        query = query.where(models.Backup.vault_id == vault_id,
                            models.Backup.resource_id == resource_id)
    # locked, so a concurrent sweep (another scheduler, a clock call) neither deletes
    # them under this transaction nor waits for it: it takes the others
    query = query.with_for_update(skip_locked=True, of=models.Backup)
    rows = list(session.execute(query.limit(limit)).scalars())
    return _without_images(session, rows)


def after_backup(session: Session, backup: models.Backup) -> list[models.Operation]:
    """Rule P8: once a backup of a resource is available, automatic or manual, the rule
    of the policy behind it (for a manual one: the vault's policy) is checked for that
    resource.  A manual backup itself is never counted or deleted (P7)."""
    if backup.parent_id is not None:
        return []
    vault = session.get(models.Vault, backup.vault_id)
    policy_id = backup.policy_id if backup.auto_trigger else vault.policy_id
    if policy_id is None:
        return []
    now = clock.now()
    policy = session.get(models.Policy, policy_id)
    deleting = _delete(session, _expired(session, now, vault_id=vault.id,
                                         resource_id=backup.resource_id))
    backups = _policy_backups(session, vault.id, backup.resource_id, policy_id,
                              ('available', 'error'))
    if policy is not None:
        deleting += _by_quantity(session, vault, policy, backups['available'])
    deleting += _failed(session, backups['error'], now)
    return deleting


def after_rule_change(session: Session, policy: models.Policy) -> list[models.Operation]:
    """Rule P11a: a new quantity applies at once to every resource of the policy's vaults."""
    deleting: list[models.Operation] = []
    for vault in session.execute(select(models.Vault).where(
            models.Vault.policy_id == policy.id)).scalars():
        resources = session.execute(
            select(models.Backup.resource_id).distinct()
            .where(models.Backup.vault_id == vault.id, models.Backup.policy_id == policy.id,
                   models.Backup.parent_id.is_(None))).scalars()
        for resource_id in sorted(resources):
            backups = _policy_backups(session, vault.id, resource_id, policy.id, ('available',))
            deleting += _by_quantity(session, vault, policy, backups['available'])
    return deleting


def last_sweep_instant(now: dt.datetime) -> dt.datetime:
    """The latest daily sweep instant (12:00 UTC) at or before ``now``."""
    noon = now.astimezone(dt.timezone.utc).replace(hour=SWEEP_HOUR, minute=0, second=0,
                                                    microsecond=0)
    return noon if noon <= now else noon - dt.timedelta(days=1)


def sweep(now: dt.datetime) -> int:
    """Rule P8's daily sweep: delete (a batch of) the backups that expired before the
    latest 12:00 UTC at ``now``, and publish the deletions; returns how many.  A pass
    that finds nothing writes nothing."""
    before = last_sweep_instant(now)
    with read_scope() as session:
        if not _expired(session, before, limit=1):
            return 0
    with session_scope() as session:
        operation_ids = [operation.id for operation in
                         _delete(session, _expired(session, before, limit=SWEEP_BATCH))]
    outbox.dispatch(operation_ids)
    return len(operation_ids)
