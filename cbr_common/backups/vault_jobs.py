"""Worker-side handler of ``deleteVault``: every backup in the vault goes, then the vault.

Rule V8.  The backups' references are dropped and their rows, the vault's resource
associations, checkpoints and the vault itself are deleted in one transaction; the chunks
nobody references any more are freed afterwards (a crash in between leaves them at
``refs = 0`` for the next sweep).
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cbr_common import faults
from cbr_common.backups.jobs import collect_released, discard
from cbr_common.db import models
from cbr_common.operations.registry import job
from cbr_common.operations.runner import JobContext
from cbr_common.statemachine import transition


def _fail_vault_delete(session: Session, operation: models.Operation, reason: str) -> None:
    vault = session.get(models.Vault, operation.params['vault_id'])
    if vault is not None and vault.status == 'deleting':
        transition(session, vault, 'error', entity_type='vault', reason=reason,
                   operation_id=operation.id)


@job('deleteVault', on_failure=_fail_vault_delete)
def delete_vault(ctx: JobContext) -> None:
    faults.hit('vault.delete')
    vault_id = ctx.params['vault_id']
    released: dict[str, set[bytes]] = {}
    with ctx.transaction() as session:
        total = len(session.execute(select(models.Backup.id).where(
            models.Backup.vault_id == vault_id, models.Backup.parent_id.is_(None))).all())
    with ctx.finishing(total_count=total, fail_count=0) as session:
        vault = session.get(models.Vault, vault_id)
        if vault is None:
            return
        # disk backups of a server backup first, so no row is deleted under its children
        backups = session.execute(select(models.Backup).where(models.Backup.vault_id == vault_id)
                                  .order_by(models.Backup.parent_id.is_(None))).scalars().all()
        for backup in backups:
            discard(session, backup, ctx.operation_id, released)
        session.execute(delete(models.VaultResource).where(
            models.VaultResource.vault_id == vault_id))
        session.execute(delete(models.Checkpoint).where(models.Checkpoint.vault_id == vault_id))
        transition(session, vault, 'deleted', entity_type='vault', operation_id=ctx.operation_id)
        session.delete(vault)
    collect_released(released)
