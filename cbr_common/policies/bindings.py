"""Binding resources to CSBS and VBS policies, which have no vaults of their own to show.

A CSBS or VBS policy is bound to servers or disks directly.  Here each such policy has a
service vault (:func:`cbr_common.backups.families.policy_vault`) whose resources are the
bound ones and to which the policy is applied, so the scheduler, retention and the data
plane treat it as any vault.  A resource is in at most one vault (``vault_resources`` is
keyed by resource id): binding one that another policy of the family holds moves it when
the family allows that (CSBS, rule C1), and is refused otherwise, as is binding one that
a CBR vault holds.  Deleting a policy unbinds everything and keeps its backups (P13).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.backups import families
from cbr_common.db import models
from cbr_common.policies import schedule, store


@dataclass(frozen=True)
class Candidate:
    """A resource to bind: its id and name, or why the family refuses it."""

    resource_id: str
    name: str = ''
    problem: tuple[str, str] | None = None  # (error code, message)


@dataclass
class Outcome:
    """What a bind or unbind request did, resource by resource."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # id, code, message


@dataclass(frozen=True)
class BindingRules:
    """How a family binds: the resource type it stores, whether binding a resource that
    another policy holds moves it, at most how many per policy, and its error codes."""

    resource_type: str
    moves: bool
    limit: int | None
    held_code: str
    limit_code: str


def bound_ids(session: Session, policy: models.Policy) -> list[str]:
    """The ids of the resources bound to ``policy``, in binding order."""
    vault = families.policy_vault(session, policy)
    return list(session.execute(select(models.VaultResource.resource_id)
                                .where(models.VaultResource.vault_id == vault.id)
                                .order_by(models.VaultResource.created_at)).scalars())


def bound_to(session: Session, policy_ids: Sequence[str]) -> dict[str, list[models.VaultResource]]:
    """The resources bound to each of ``policy_ids``, in one query."""
    found: dict[str, list[models.VaultResource]] = {policy_id: [] for policy_id in policy_ids}
    if policy_ids:
        rows = session.execute(
            select(models.Vault.policy_id, models.VaultResource)
            .join(models.VaultResource, models.VaultResource.vault_id == models.Vault.id)
            .where(models.Vault.policy_id.in_(list(policy_ids)),
                   models.Vault.family != families.CBR)
            .order_by(models.VaultResource.created_at))
        for policy_id, resource in rows:
            found[policy_id].append(resource)
    return found


def bind(session: Session, policy: models.Policy, candidates: Sequence[Candidate],
         rules: BindingRules) -> Outcome:
    """Bind the candidates the family accepts to ``policy``; the policy runs on them."""
    vault = families.policy_vault(session, policy)
    outcome = Outcome()
    count = session.execute(select(func.count()).select_from(models.VaultResource).where(
        models.VaultResource.vault_id == vault.id)).scalar_one()
    now = clock.now()
    for candidate in candidates:
        if candidate.problem is not None:
            outcome.refused.append((candidate.resource_id, *candidate.problem))
            continue
        held = session.get(models.VaultResource, candidate.resource_id)
        if held is not None and held.vault_id == vault.id:
            outcome.done.append(candidate.resource_id)
            continue
        if held is not None and not _may_move(session, held, policy.family, rules):
            outcome.refused.append((candidate.resource_id, rules.held_code,
                                    'resource %s is already bound to another policy or '
                                    'vault' % candidate.resource_id))
            continue
        if rules.limit is not None and count >= rules.limit:
            outcome.refused.append((candidate.resource_id, rules.limit_code,
                                    'a policy has at most %d resources' % rules.limit))
            continue
        if held is not None:
            session.delete(held)
            session.flush()
        session.add(models.VaultResource(
            resource_id=candidate.resource_id, vault_id=vault.id, project_id=policy.project_id,
            resource_type=rules.resource_type, name=candidate.name, extra_info={},
            auto_protect=True, created_at=now))
        count += 1
        outcome.done.append(candidate.resource_id)
    schedule.reschedule(session, vault)
    return outcome


def _may_move(session: Session, held: models.VaultResource, family: str,
              rules: BindingRules) -> bool:
    holder = session.get(models.Vault, held.vault_id)
    return rules.moves and holder is not None and holder.family == family


def unbind(session: Session, policy: models.Policy, resource_ids: Sequence[str],
           not_bound_code: str) -> Outcome:
    """Unbind the given resources from ``policy``; their backups stay."""
    vault = families.policy_vault(session, policy)
    outcome = Outcome()
    for resource_id in resource_ids:
        held = session.get(models.VaultResource, resource_id)
        if held is None or held.vault_id != vault.id:
            outcome.refused.append((resource_id, not_bound_code,
                                    'resource %s is not bound to policy %s'
                                    % (resource_id, policy.id)))
            continue
        session.delete(held)
        outcome.done.append(resource_id)
    return outcome


def delete_policy(session: Session, policy: models.Policy) -> None:
    """Delete a CSBS or VBS policy: unbind its resources, keep its backups (P13)."""
    vault = families.policy_vault(session, policy)
    session.execute(delete(models.VaultResource)
                    .where(models.VaultResource.vault_id == vault.id))
    store.delete(session, policy)
