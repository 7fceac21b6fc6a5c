"""Checkpoints: one backup request on a vault, backing up some or all of its resources.

Rule B1: backups are named ``manualbk_`` and four characters unless named; several
resources in one request get the suffixes ``-0001``, ``-0002`` …  A policy's scheduled run
is a checkpoint too, of the resources whose automatic backups are not suspended, each
backup named ``autobk_`` and four characters (B2).  A resource whose backup is still
running is skipped and listed with the reason, as the real service does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cbr_common import clock, ids
from cbr_common.backups import SERVER, codes, requests, vault_resources, vaults
from cbr_common.backups.families import CBR
from cbr_common.db import models
from cbr_common.errors import InvalidInput, NotFound
from cbr_common.inventory import lookup
from cbr_common.operations import outbox


@dataclass(frozen=True)
class CheckpointRequest:
    """The parameters of ``POST /v3/{project_id}/checkpoints``."""

    vault_id: str
    resource_ids: Sequence[str] | None = None
    name: str | None = None
    description: str = ''
    incremental: bool = True
    retention_duration_days: int = -1
    policy_id: str | None = None  # set for a policy's scheduled run
    scheduled_at: dt.datetime | None = None  # that run's instant, which its backups carry
    full_backup_interval: int | None = None  # that run's policy: a full after so many
    family: str = CBR  # the API family whose vault it is
    prefix: str | None = None  # each backup named prefix + 4 characters (rule C7)
    tags: Sequence[dict[str, str]] = ()  # given to every backup (a policy's, rule P16)


def new(session: Session, project_id: str, vault_id: str, *, name: str = '',
        description: str = '', retention_duration_days: int = -1,
        created_at: dt.datetime | None = None) -> models.Checkpoint:
    """Add an empty checkpoint (restore point) of the vault to the session; the caller adds
    its backups with ``checkpoint_id`` set to its id."""
    checkpoint = models.Checkpoint(id=ids.new_uuid(), project_id=project_id, vault_id=vault_id,
                                   name=name, description=description,
                                   retention_duration_days=retention_duration_days,
                                   skipped=[], created_at=created_at or clock.now())
    session.add(checkpoint)
    return checkpoint


def _names(request: CheckpointRequest, count: int) -> list[str]:
    if request.policy_id is not None or request.prefix is not None:  # rules B2, C7
        return [vaults.default_name(request.prefix or 'autobk_') for _ in range(count)]
    base = request.name or vaults.default_name('manualbk_')
    if count == 1:
        return [base]
    return ['%s-%04d' % (base, index) for index in range(1, count + 1)]


def create(session: Session, project_id: str, request: CheckpointRequest
           ) -> tuple[models.Checkpoint, list[models.Operation]]:
    """Back up the named (default: every) resource of the vault; returns the checkpoint
    and the backup operations to publish."""
    vault = vaults.get(session, project_id, request.vault_id, field_name='checkpoint.vault_id',
                       family=request.family)
    vaults.require_available(vault, 'back up into it')
    associated = {resource.resource_id: resource for resource in vault.resources}
    wanted = list(request.resource_ids) if request.resource_ids else [
        resource_id for resource_id, association in associated.items()
        if request.policy_id is None or association.auto_protect]
    if not wanted and request.policy_id is None:
        raise InvalidInput('vault %s has no resources to back up' % vault.id,
                           field='checkpoint.parameters.resources',
                           code=codes.RESOURCE_NOT_IN_VAULT)
    for resource_id in wanted:
        if resource_id not in associated:
            raise InvalidInput('resource %s is not in vault %s' % (resource_id, vault.id),
                               field='checkpoint.parameters.resources',
                               code=codes.RESOURCE_NOT_IN_VAULT)
    now = request.scheduled_at or clock.now()
    checkpoint = new(session, project_id, vault.id, name=request.name or '',
                     description=request.description, created_at=now,
                     retention_duration_days=request.retention_duration_days)
    expires = (now + dt.timedelta(days=request.retention_duration_days)
               if request.retention_duration_days > 0 else None)
    operations, skipped = [], []
    running_now = requests.running_backups(session, wanted, request.scheduled_at)
    for resource_id, name in zip(wanted, _names(request, len(wanted))):
        association = associated[resource_id]
        running = running_now.get(resource_id)
        if running is not None:
            reason = 'a backup of the resource is in progress (%s)' % running
            skipped.append({'id': resource_id, 'type': association.resource_type,
                            'name': association.name, 'code': codes.BACKUP_IN_PROGRESS,
                            'reason': reason})
            if request.policy_id is not None:  # rule P10: the run's task says it skipped
                _skipped_task(session, vault, checkpoint, association, request, reason)
            continue
        full = not request.incremental or requests.full_backup_due(
            session, vault.id, resource_id, request.full_backup_interval, now)
        options = requests.BackupOptions(
            name=name, description=request.description, full=full,
            checkpoint_id=checkpoint.id, expired_at=expires,
            include_volumes=vault_resources.include_volumes(association),
            policy_id=request.policy_id, created_at=request.scheduled_at, tags=request.tags)
        with session.no_autoflush:  # the rows of all the backups go in one flush
            operation = requests.request_backup(session, project_id, vault.id, resource_id,
                                                options=options, family=request.family)
        running_now[resource_id] = operation.params['backup_id']
        operations.append(operation)
    checkpoint.skipped = skipped
    return checkpoint, operations


def _skipped_task(session: Session, vault: models.Vault, checkpoint: models.Checkpoint,
                  association: models.VaultResource, request: CheckpointRequest,
                  reason: str) -> None:
    job_type = 'backupServer' if association.resource_type == SERVER else 'backupDevice'
    outbox.skipped(session, project_id=checkpoint.project_id, job_type=job_type,
                   reason=reason, code=codes.BACKUP_IN_PROGRESS, at=checkpoint.created_at,
                   entities={'resource_id': association.resource_id,
                             'resource_name': association.name,
                             'resource_type': association.resource_type,
                             'vault_id': vault.id, 'vault_name': vault.name,
                             'checkpoint_id': checkpoint.id, 'policy_id': request.policy_id},
                   vault_id=vault.id, resource_id=association.resource_id)


def get(session: Session, project_id: str, checkpoint_id: str) -> models.Checkpoint:
    """The project's checkpoint of a CBR vault, or a 404 (also for a CSBS backup record)."""
    checkpoint = lookup.owned(session, models.Checkpoint, project_id, checkpoint_id,
                              what='checkpoint', field='checkpoint_id',
                              code=codes.CHECKPOINT_NOT_FOUND)
    vault = session.get(models.Vault, checkpoint.vault_id)
    if vault is None or vault.family != CBR:
        raise NotFound('checkpoint %s does not exist' % checkpoint_id, field='checkpoint_id',
                       code=codes.CHECKPOINT_NOT_FOUND)
    return checkpoint
