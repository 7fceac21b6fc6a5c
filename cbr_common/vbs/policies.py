"""VBS v2 backup policies on the shared policy core.

A VBS policy is a :class:`models.Policy` of family ``vbs``: its schedule becomes one
trigger pattern and a retention definition (:mod:`cbr_common.vbs.policy_schema`), and is
kept as given in ``family_fields`` for display.  Disks are bound to it
(:mod:`cbr_common.policies.bindings`); only ``available`` and ``in-use`` disks may join
(rule D1), and binding a disk another VBS policy holds moves it, as the console does.

Rule P1: every project has a default policy, made on its first VBS policy call, which
cannot be deleted or renamed; with it a project has at most 10 (:data:`store.MAX_POLICIES`),
and no other name starts with ``default``.  Executing a policy backs up its disks now
(backups ``autobk_`` and four characters), refused while one of them is being backed up
(P15); such backups carry no policy, so retention never deletes them (P7).  A policy's
backup tasks are the backup jobs of its policy vault from the last 30 days (D4).
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.backups import VOLUME, checkpoints, families, requests
from cbr_common.backups.families import VBS
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.errors import InvalidInput, WrongState
from cbr_common.policies import bindings, store
from cbr_common.vbs import policy_codes as codes
from cbr_common.vbs.policy_schema import RESERVED_PREFIX, WEEK, PolicyCreateBody, Schedule

DEFAULT_NAME = 'defaultPolicy'
DEFAULT_SCHEDULE: dict[str, Any] = {'start_time': '00:00', 'week_frequency': list(WEEK),
                                    'rentention_num': 7,
                                    'remain_first_backup_of_curMonth': 'N', 'status': 'ON'}
AUTO_PREFIX = 'autobk_'
JOINABLE = frozenset({'available', 'in-use'})  # rule D1
TASK_DAYS = 30  # rule D4
RULES = bindings.BindingRules(resource_type=VOLUME, moves=True, limit=None,
                              held_code=codes.RESOURCE_INVALID,
                              limit_code=codes.RESOURCE_INVALID)
_NAMESPACE = uuid.UUID('0b7d3c52-6a1e-4f0e-8d9c-5e2a7b4c1f63')


def default_policy_id(project_id: str) -> str:
    """The id of the project's default policy (the same in every process)."""
    return str(uuid.uuid5(_NAMESPACE, 'vbs-default/%s' % project_id))


def is_default(policy: models.Policy) -> bool:
    return policy.id == default_policy_id(policy.project_id)


def _stored(schedule: Schedule, time_zone: str | None) -> dict[str, Any]:
    """What the policy keeps of its schedule for display."""
    return {'scheduled_policy': schedule.given(), 'time_zone': time_zone}


def _new(session: Session, project_id: str, name: str, schedule: Schedule,
         time_zone: str | None, tags: list[dict[str, str]],
         policy_id: str | None = None) -> models.Policy:
    return store.create(
        session, project_id, name=name, enabled=schedule.enabled, operation_type='backup',
        operation_definition=schedule.definition(time_zone), patterns=[schedule.pattern()],
        extra=store.PolicyExtras(family=VBS, tags=tags, quota_code=codes.POLICY_QUOTA,
                                 family_fields=_stored(schedule, time_zone)),
        policy_id=policy_id)


def ensure_default(project_id: str) -> None:
    """Make the project's default policy unless it exists (rule P1)."""
    policy_id = default_policy_id(project_id)
    with read_scope() as session:
        if session.get(models.Policy, policy_id) is not None:
            return
    with session_scope() as session:
        if session.get(models.Policy, policy_id) is not None:
            return
        try:
            with session.begin_nested():
                _new(session, project_id, DEFAULT_NAME,
                     Schedule.model_validate(DEFAULT_SCHEDULE), None, [], policy_id)
        except IntegrityError:  # another request made it first
            pass


def get(session: Session, project_id: str, policy_id: str, *, lock: bool = False,
        field_name: str = 'policy_id') -> models.Policy:
    """The project's VBS policy, or a 404 with AutoBackup.0205."""
    return store.get(session, project_id, policy_id, lock=lock, field_name=field_name,
                     family=VBS, code=codes.POLICY_NOT_FOUND)


def create(session: Session, project_id: str, spec: PolicyCreateBody) -> models.Policy:
    """A new policy (rules P1, P2; the name was checked by the schema)."""
    return _new(session, project_id, spec.backup_policy_name, spec.scheduled_policy,
                spec.time_zone, [tag.model_dump() for tag in spec.tags])


def stored_schedule(policy: models.Policy) -> dict[str, Any]:
    """The policy's schedule as it was given."""
    return dict((policy.family_fields or {}).get('scheduled_policy') or {})


def update(session: Session, policy: models.Policy, *, name: str | None,
           schedule: Schedule | None, time_zone: str | None) -> list[models.Operation]:
    """Rename the policy or change its schedule; returns the deletions a new retention rule
    makes now (P11a)."""
    changes: dict[str, Any] = {}
    if name is not None and name != policy.name:
        if is_default(policy):
            raise InvalidInput('the default policy cannot be renamed',
                               field='backup_policy_name', code=codes.DEFAULT_POLICY)
        if name.startswith(RESERVED_PREFIX):
            raise InvalidInput('invalid value for backup_policy_name: only the default policy '
                               'has a name starting with "%s"' % RESERVED_PREFIX,
                               field='backup_policy_name', code=codes.NAME)
        changes['name'] = name
    if schedule is not None or time_zone is not None:
        schedule = schedule or Schedule.model_validate(stored_schedule(policy))
        time_zone = time_zone or (policy.family_fields or {}).get('time_zone')
        changes.update(enabled=schedule.enabled, patterns=[schedule.pattern()],
                       operation_definition=schedule.definition(time_zone),
                       family_fields=_stored(schedule, time_zone))
    return store.update_policy(session, policy, changes)


def delete(session: Session, policy: models.Policy) -> None:
    """Delete the policy; its disks are unbound and its backups stay (rule P13).  The
    default policy stays (P1)."""
    if is_default(policy):
        raise InvalidInput('the default policy cannot be deleted', field='policy_id',
                           code=codes.DEFAULT_POLICY)
    bindings.delete_policy(session, policy)


def volumes_of(session: Session, project_id: str,
               resource_ids: Sequence[str]) -> dict[str, models.Volume]:
    """The project's disks among ``resource_ids``, by id."""
    return {volume.id: volume for volume in session.execute(
        select(models.Volume).where(models.Volume.id.in_(list(resource_ids)),
                                    models.Volume.project_id == project_id)).scalars()}


def _candidate(resource_id: str, resource_type: str,
               volume: models.Volume | None) -> bindings.Candidate:
    """The disk to bind, or why it cannot join a policy (rule D1)."""
    if resource_type != 'volume':
        return bindings.Candidate(resource_id, problem=(
            codes.RESOURCE_TYPE, 'resource_type must be volume, not %r' % resource_type))
    if volume is None:
        return bindings.Candidate(resource_id, problem=(
            codes.RESOURCE_INVALID, 'disk %s does not exist' % resource_id))
    if volume.status not in JOINABLE:
        return bindings.Candidate(resource_id, problem=(
            codes.DISK_STATE, 'disk %s is %s; only available or in-use disks can join a '
            'policy' % (resource_id, volume.status)))
    return bindings.Candidate(resource_id, volume.name)


def associate(session: Session, policy: models.Policy,
              resources: Sequence[tuple[str, str]]) -> bindings.Outcome:
    """Bind the ``(resource_id, resource_type)`` disks that may join (D1) to the policy."""
    volumes = volumes_of(session, policy.project_id, [resource_id for resource_id, _ in resources])
    return bindings.bind(session, policy, [
        _candidate(resource_id, resource_type, volumes.get(resource_id))
        for resource_id, resource_type in resources], RULES)


def disassociate(session: Session, policy: models.Policy,
                 resource_ids: Sequence[str]) -> bindings.Outcome:
    """Unbind the disks from the policy; their backups stay."""
    return bindings.unbind(session, policy, resource_ids, codes.RESOURCE_INVALID)


def execute(session: Session, policy: models.Policy) -> list[models.Operation]:
    """Back up the policy's disks now (rules P15, P7); the operations to publish."""
    bound = bindings.bound_ids(session, policy)
    if not bound:
        raise InvalidInput('policy %s has no disks associated' % policy.id, field='policy_id',
                           code=codes.EXECUTE_FAILED)
    running = requests.running_backups(session, bound)
    if running:
        raise WrongState('policy %s is being executed: disk %s is being backed up' % (
            policy.id, ', '.join(sorted(running))), field='policy_id',
            code=codes.POLICY_RUNNING)
    _, operations = checkpoints.create(session, policy.project_id, checkpoints.CheckpointRequest(
        vault_id=families.policy_vault(session, policy).id, resource_ids=bound, family=VBS,
        prefix=AUTO_PREFIX, tags=policy.tags or ()))
    return operations


TASK_STATUSES = {'INIT': 'WAITING', 'RUNNING': 'RUNNING', 'SUCCESS': 'EXECUTE_SUCCESS',
                 'FAIL': 'EXECUTE_FAIL', 'SKIPPED': 'SKIP'}
TIMED_OUT = 'EXECUTE_TIMEOUT'


def task_status(operation: models.Operation) -> str:
    """The VBS status of a backup task; a job whose worker was lost timed out."""
    if operation.status == 'FAIL' and (operation.fail_reason or '').startswith('worker lost'):
        return TIMED_OUT
    return TASK_STATUSES[operation.status]


@dataclass(frozen=True)
class TaskQuery:
    """The filters and page of a policy's backup task list."""

    status: str | None = None
    job_id: str | None = None
    marker: str | None = None
    descending: bool = True
    limit: int = 20
    offset: int = 0


def tasks(session: Session, policy: models.Policy,
          query: TaskQuery) -> tuple[list[models.Operation], int]:
    """A page of the policy's backup tasks of the last 30 days (D4), and how many match."""
    since = clock.now() - dt.timedelta(days=TASK_DAYS)
    where = [models.Operation.project_id == policy.project_id,
             models.Operation.vault_id == families.policy_vault(session, policy).id,
             models.Operation.job_type == 'backupDevice',
             models.Operation.parent_id.is_(None), models.Operation.created_at >= since]
    if query.job_id:
        where.append(models.Operation.id == query.job_id)
    rows = [row for row in session.execute(
        select(models.Operation).where(*where)
        .order_by(models.Operation.created_at, models.Operation.id)).scalars()
        if query.status in (None, task_status(row))]
    if query.descending:
        rows.reverse()
    count = len(rows)
    if query.marker:
        marked = [index for index, row in enumerate(rows) if row.id == query.marker]
        if not marked:
            raise InvalidInput('marker %s is not a task of this list' % query.marker,
                               field='marker', code=codes.OBJECT_EMPTY)
        rows = rows[marked[0] + 1:]
    return rows[query.offset:query.offset + query.limit], count
