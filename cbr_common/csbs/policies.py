"""CSBS v1 backup policies on the shared policy core.

A CSBS policy is a :class:`models.Policy` of family ``csbs`` with one scheduled operation:
its trigger's RRULEs are the policy's patterns, its retention settings the operation
definition, and what only CSBS shows (the scheduled operation's id, name, description,
the iCalendar text, ``parameters``) is kept in ``family_fields``.  The servers it protects
are bound to it (:mod:`cbr_common.policies.bindings`): a server is bound to at most one
CSBS policy and binding it to another moves it (rule C1).  Executing a policy backs up its
servers now, each backup named ``backup_`` and four characters (rule C7), refused while
one of them is being backed up (rule P15); such backups are manual ones, which retention
never deletes (rule P7).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common import ids
from cbr_common.backups import SERVER, checkpoints, families, requests
from cbr_common.csbs import checks, codes
from cbr_common.csbs import policy_schema as schema
from cbr_common.db import models
from cbr_common.errors import InvalidInput
from cbr_common.policies import bindings, store

POLICY_BUSY = 'CSBS.2004'  # the policy is executing a backup (rule P15)
SERVER_LIMIT = 'CSBS.6005'  # rule C1: 64 servers per policy
MANUAL_RUN_PREFIX = 'backup_'  # rule C7
RULES = bindings.BindingRules(resource_type=SERVER, moves=True, limit=schema.MAX_SERVERS,
                              held_code=codes.SERVER_IN_POLICY,
                              limit_code=SERVER_LIMIT)


def get(session: Session, project_id: str, policy_id: str, *,
        lock: bool = False) -> models.Policy:
    """The project's CSBS policy, or a 404 with CSBS.3000."""
    return store.get(session, project_id, policy_id, lock=lock, family=families.CSBS,
                     code=codes.POLICY_NOT_FOUND)


def _operation_fields(operation: schema.ScheduledOperation | schema.ScheduledOperationUpdate,
                      before: dict[str, Any]) -> dict[str, Any]:
    """The scheduled operation's fields the core does not read, updated by ``operation``."""
    fields = dict(before)
    for name in ('name', 'description'):
        if getattr(operation, name) is not None:
            fields['operation_' + name] = getattr(operation, name)
    if operation.trigger is not None:
        fields['pattern'] = operation.trigger.properties.pattern
    return fields


def _refuse_duplicate_name(session: Session, project_id: str, name: str,
                           policy_id: str | None = None) -> None:
    taken = session.execute(select(models.Policy.id).where(
        models.Policy.project_id == project_id, models.Policy.family == families.CSBS,
        models.Policy.name == name, models.Policy.id != (policy_id or ''))).first()
    if taken is not None:
        raise InvalidInput('a policy named %s already exists' % name, field='policy.name',
                           code=codes.DUPLICATE_POLICY_NAME)


def create(session: Session, project_id: str, spec: schema.PolicyCreate) -> models.Policy:
    """A new CSBS policy with its servers bound (rules P1, C1)."""
    _refuse_duplicate_name(session, project_id, spec.name)
    operation = spec.scheduled_operations[0]
    policy = store.create(
        session, project_id, name=spec.name, enabled=operation.enabled,
        operation_type='backup', operation_definition=operation.operation_definition.core(),
        patterns=operation.trigger.properties.rules,
        extra=store.PolicyExtras(
            family=families.CSBS, description=spec.description,
            tags=[tag.model_dump() for tag in spec.tags], quota_code=codes.POLICY_QUOTA,
            family_fields=_operation_fields(operation, {
                'operation_id': ids.new_uuid(), 'parameters': spec.parameters})))
    session.flush()
    _bind_exactly(session, policy, spec.resources)
    return policy


def update(session: Session, policy: models.Policy,
           spec: schema.PolicyUpdate) -> list[models.Operation]:
    """Apply the given changes; returns the deletions a new retention rule makes now."""
    changes: dict[str, Any] = {}
    fields = dict(policy.family_fields or {})
    if spec.name is not None and spec.name != policy.name:
        _refuse_duplicate_name(session, policy.project_id, spec.name, policy.id)
        changes['name'] = spec.name
    if spec.description is not None:
        changes['description'] = spec.description
    if spec.parameters is not None:
        fields['parameters'] = spec.parameters
    if spec.scheduled_operations is not None:
        operation = spec.scheduled_operations[0]
        if operation.id != fields.get('operation_id'):
            raise InvalidInput('scheduled operation %s is not this policy\'s' % operation.id,
                               field='policy.scheduled_operations.0.id',
                               code=codes.POLICY_NOT_FOUND)
        fields = _operation_fields(operation, fields)
        if operation.enabled is not None:
            changes['enabled'] = operation.enabled
        if operation.operation_definition is not None:
            changes['operation_definition'] = operation.operation_definition.core()
        if operation.trigger is not None:
            changes['patterns'] = operation.trigger.properties.rules
    changes['family_fields'] = fields
    if spec.resources is not None:
        _bind_exactly(session, policy, spec.resources)
    return store.update_policy(session, policy, changes)


def _bind_exactly(session: Session, policy: models.Policy,
                  resources: Sequence[schema.Resource]) -> None:
    """Make ``resources`` the policy's servers: bind the new ones, unbind the others."""
    wanted = [resource.id for resource in resources]
    unwanted = [resource_id for resource_id in bindings.bound_ids(session, policy)
                if resource_id not in wanted]
    bindings.unbind(session, policy, unwanted, codes.POLICY_NOT_FOUND)
    candidates = []
    for index, resource in enumerate(resources):
        refusal = checks.server_refusal(session, policy.project_id, resource.id,
                                        field='policy.resources.%d.id' % index)
        if refusal is not None:  # rules C2, and the server's state
            raise refusal
        server = session.get(models.Server, resource.id)
        candidates.append(bindings.Candidate(resource.id, resource.name or server.name))
    outcome = bindings.bind(session, policy, candidates, RULES)
    if outcome.refused:
        resource_id, code, message = outcome.refused[0]
        raise InvalidInput(message, field='policy.resources.%d.id' % wanted.index(resource_id),
                           code=code)


def delete(session: Session, policy: models.Policy) -> None:
    """Delete the policy; its servers are unbound and its backups stay (rule P13)."""
    bindings.delete_policy(session, policy)


def execute(session: Session, project_id: str, spec: schema.Execute
            ) -> tuple[models.Checkpoint, list[models.Operation]]:
    """Back up the policy's servers (or the named ones of them) now (rules C7, P15)."""
    policy = get(session, project_id, spec.plan_id, lock=True)
    bound = bindings.bound_ids(session, policy)
    wanted = spec.parameters.resources or bound
    for index, resource_id in enumerate(wanted):
        if resource_id not in bound:
            raise InvalidInput('server %s is not bound to policy %s' % (resource_id, policy.id),
                               field='checkpoint.parameters.resources.%d' % index,
                               code=codes.SERVER_NOT_FOUND)
    if not wanted:
        raise InvalidInput('policy %s protects no server' % policy.id,
                           field='checkpoint.plan_id', code=codes.SERVER_NOT_FOUND)
    running = requests.running_backups(session, wanted)
    if running:  # rule P15
        raise codes.CsbsError(POLICY_BUSY, 'policy %s is executing a backup of %s' % (
            policy.id, ', '.join(sorted(running))), field='checkpoint.plan_id')
    return checkpoints.create(session, project_id, checkpoints.CheckpointRequest(
        vault_id=families.policy_vault(session, policy).id, resource_ids=wanted,
        family=families.CSBS, prefix=MANUAL_RUN_PREFIX, tags=policy.tags or ()))
