"""Stored backup policies: create, change, delete, list, and applying one to a vault.

Every family's policies are stored here (``Policy.family``: ``cbr``, ``csbs``, ``vbs``);
each API sees only its own.  Rules: P1 (at most 32 policies per project; VBS 10), P13
(deleting a policy never deletes backups), V11 (a vault has at most one policy applied).
Every change that affects when a vault's policy runs sets the vault's next run
(:mod:`.schedule`).  Request bodies are validated before they reach this module.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.backups import codes, families
from cbr_common.backups.families import CBR, CSBS, VBS
from cbr_common.db import changes, models
from cbr_common.errors import InvalidInput, QuotaExceeded, WrongState
from cbr_common.inventory import lookup
from cbr_common.policies import retention, schedule

MAX_POLICIES = {CBR: 32, CSBS: 32, VBS: 10}  # rule P1; VBS counts its default policy


@dataclass(frozen=True)
class PolicyExtras:
    """What a CSBS or VBS policy has besides the core's fields."""

    family: str = CBR
    description: str = ''
    tags: list[dict[str, str]] = field(default_factory=list)
    family_fields: dict[str, Any] = field(default_factory=dict)
    quota_code: str = codes.POLICY_QUOTA


def create(session: Session, project_id: str, *, name: str, enabled: bool,
           operation_type: str, operation_definition: dict[str, Any], patterns: list[str],
           start_window_minutes: int | None = None,
           extra: PolicyExtras = PolicyExtras(), policy_id: str | None = None) -> models.Policy:
    """A new policy (with ``policy_id``, or a new id), unless the project already has as
    many of its family as :data:`MAX_POLICIES` allows (rule P1)."""
    count = session.execute(select(func.count()).select_from(models.Policy).where(
        models.Policy.project_id == project_id,
        models.Policy.family == extra.family)).scalar_one()
    limit = MAX_POLICIES[extra.family]
    if count >= limit:
        raise QuotaExceeded('a project has at most %d backup policies' % limit,
                            field='policy', code=extra.quota_code)
    now = clock.now()
    policy = models.Policy(id=policy_id or ids.new_uuid(), project_id=project_id, name=name,
                           enabled=enabled, operation_type=operation_type,
                           operation_definition=operation_definition,
                           trigger_id=ids.new_uuid(), patterns=patterns,
                           start_window_minutes=start_window_minutes, created_at=now,
                           updated_at=now, family=extra.family,
                           description=extra.description, tags=list(extra.tags),
                           family_fields=dict(extra.family_fields))
    session.add(policy)
    return policy


def get(session: Session, project_id: str, policy_id: str, *, lock: bool = False,
        field_name: str = 'policy_id', family: str = CBR,
        code: str = codes.POLICY_NOT_FOUND) -> models.Policy:
    """The project's policy of ``family``, or a 404 (also for another project's)."""
    policy = lookup.owned(session, models.Policy, project_id, policy_id, what='policy',
                          field=field_name, lock=lock, code=code)
    return families.shown(policy, (family,), what='policy', field=field_name, code=code)


def update_policy(session: Session, policy: models.Policy,
                  changes: dict[str, Any]) -> list[models.Operation]:
    """Apply the given attribute changes (already validated); its vaults' next runs follow.

    Returns the delete operations a new retention rule makes at once (rule P11a), for the
    caller to publish.
    """
    rule_before, patterns_before = policy.operation_definition, policy.patterns
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.updated_at = clock.now()
    if policy.patterns != patterns_before:  # rule P14: new cycles count from the last run
        policy.cycle_start = session.execute(
            select(func.max(models.PolicyRun.scheduled_at))
            .where(models.PolicyRun.policy_id == policy.id)).scalar_one() or policy.cycle_start
    schedule.reschedule_policy(session, policy)
    if policy.operation_definition == rule_before:
        return []
    return retention.after_rule_change(session, policy)


def delete(session: Session, policy: models.Policy) -> None:
    """Delete the policy and take it off its vaults; backups stay (rule P13)."""
    session.execute(update(models.Vault).where(models.Vault.policy_id == policy.id)
                    .values(policy_id=None, next_run_at=None, updated_at=clock.now()))
    changes.touch_vaults(session, [policy.project_id])  # vault lists filter by policy
    session.delete(policy)


def listing(session: Session, project_id: str, *, operation_type: str | None = None,
            vault_id: str | None = None, family: str = CBR) -> list[models.Policy]:
    """The project's policies of ``family``, oldest first, optionally of one type or one
    vault's."""
    query = select(models.Policy).where(models.Policy.project_id == project_id,
                                        models.Policy.family == family)
    if operation_type:
        query = query.where(models.Policy.operation_type == operation_type)
    if vault_id:
        query = query.where(models.Policy.id.in_(
            select(models.Vault.policy_id).where(models.Vault.id == vault_id,
                                                 models.Vault.project_id == project_id)))
    return list(session.execute(query.order_by(models.Policy.created_at)).scalars())


def vaults_of(session: Session, policy_ids: Collection[str]) -> dict[str, list[str]]:
    """The vaults each policy is applied to, in one query."""
    found: dict[str, list[str]] = {policy_id: [] for policy_id in policy_ids}
    if policy_ids:
        rows = session.execute(select(models.Vault.policy_id, models.Vault.id)
                               .where(models.Vault.policy_id.in_(list(policy_ids)))
                               .order_by(models.Vault.created_at))
        for policy_id, vault_id in rows:
            found[policy_id].append(vault_id)
    return found


def associate(session: Session, vault: models.Vault, policy: models.Policy) -> None:
    """Apply a backup policy to a vault; a vault has at most one (rule V11)."""
    if policy.operation_type != 'backup':
        raise InvalidInput('policy %s is a %s policy; only backup policies can be applied '
                           'here' % (policy.id, policy.operation_type), field='policy_id',
                           code=codes.POLICY_TYPE)
    if vault.status == 'deleting':
        raise WrongState('vault %s is being deleted' % vault.id, field='vault_id',
                         code=codes.VAULT_BUSY)
    if vault.policy_id not in (None, policy.id):
        raise WrongState('vault %s already has policy %s applied; dissociate it first'
                         % (vault.id, vault.policy_id), field='policy_id',
                         code=codes.POLICY_ALREADY_APPLIED)
    vault.policy_id = policy.id
    vault.updated_at = clock.now()
    schedule.reschedule(session, vault)


def dissociate(vault: models.Vault, policy_id: str) -> None:
    """Take the policy off the vault; its backups stay (rule P13)."""
    if vault.policy_id != policy_id:
        raise InvalidInput('policy %s is not applied to vault %s' % (policy_id, vault.id),
                           field='policy_id', code=codes.POLICY_NOT_FOUND)
    vault.policy_id = None
    vault.next_run_at = None
    vault.updated_at = clock.now()
