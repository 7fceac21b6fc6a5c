"""Worker-side handlers of vault-wide jobs: deleting a vault, migrating resources out of
one, and changing its backups' expiry.

* ``deleteVault`` (rule V8): the backups' references are dropped and their rows, the
  vault's resource associations, checkpoints and the vault itself are deleted in one
  transaction; the chunks nobody references any more are freed afterwards (a crash in
  between leaves them at ``refs = 0`` for the next sweep).
* ``migrateResources`` (rule V10): the moved backups' chunks are pinned in the
  destination vault, stored there when it lacks them, then one transaction turns the
  pins into the backups' references, drops their references in the source and moves the
  backup rows and the associations.  A retry gives back the pins of the earlier attempt.
* ``updateExpiration``: every listed backup gets the new ``expired_at``.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cbr_common import clock, faults
from cbr_common.backups import codes, migration
from cbr_common.backups.jobs import collect_released, discard
from cbr_common.dataplane import chunk_index
from cbr_common.dataplane.chunk_store import from_config as chunk_store
from cbr_common.dataplane.manifest import Manifest
from cbr_common.dataplane.transfer import BATCH_BLOCKS, BackupTransfer, fetch
from cbr_common.dataplane.volume_store import VolumeStore
from cbr_common.db import changes, models
from cbr_common.errors import JobFailed
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


# -- migrating resources (rule V10) -------------------------------------------------------
def _fail_migration(session: Session, operation: models.Operation, reason: str) -> None:
    chunk_index.release_pins(session, operation.id)


def _copy_chunks(ctx: JobContext, source_id: str, destination_id: str,
                 wanted: dict[str | None, set[bytes]]) -> None:
    """Pin every wanted chunk (by KMS key) in the destination, storing those it lacks."""
    volumes, store = VolumeStore.from_config(), chunk_store()
    total, done = sum(len(digests) for digests in wanted.values()), 0
    for key_id, digests in wanted.items():
        transfer = BackupTransfer(volumes, store, vault_id=destination_id,
                                  operation_id=ctx.operation_id, key_id=key_id,
                                  transaction=ctx.transaction)
        for batch in chunk_index.batches(sorted(digests), BATCH_BLOCKS):
            ctx.check()
            with ctx.transaction() as session:
                places = chunk_index.locations(session, source_id, batch)
            transfer.store({digest: fetch(store, places[digest], key_id, digest)
                            for digest in batch})
            done += len(batch)
            ctx.set_progress(99 * done // max(total, 1))
        transfer.finish()


@job('migrateResources', on_failure=_fail_migration)
def migrate_resources(ctx: JobContext) -> None:
    faults.hit('vault.migrate')
    source_id, destination_id = (ctx.params['source_vault_id'],
                                 ctx.params['destination_vault_id'])
    resource_ids = ctx.params['resource_ids']
    wanted: dict[str | None, set[bytes]] = {}
    with ctx.transaction() as session:
        chunk_index.release_pins(session, ctx.operation_id)  # of an earlier attempt
        for device in migration.moved_devices(session, source_id, resource_ids):
            if device.manifest is not None:
                wanted.setdefault(device.key_id, set()).update(
                    Manifest.decode(device.manifest).distinct_digests())
    _copy_chunks(ctx, source_id, destination_id, wanted)
    released: dict[str, set[bytes]] = {}
    with ctx.finishing() as session:
        devices = migration.moved_devices(session, source_id, resource_ids)
        if sorted(device.id for device in devices) != sorted(ctx.params['backup_ids']):
            raise JobFailed('the resources were backed up during the migration; migrate '
                            'them again', codes.BACKUP_IN_PROGRESS)
        references: Counter[bytes] = Counter()
        for device in devices:
            if device.manifest is not None:
                digests = Manifest.decode(device.manifest).distinct_digests()
                references.update(digests)
                chunk_index.drop_references(session, source_id, digests)
            device.vault_id = destination_id
        freed = chunk_index.settle(session, destination_id, ctx.operation_id, set(references))
        chunk_index.add_references(session, destination_id,
                                   {digest: count - 1 for digest, count in references.items()})
        session.execute(update(models.VaultResource)
                        .where(models.VaultResource.resource_id.in_(resource_ids))
                        .values(vault_id=destination_id))
        changes.touch_vaults(session, [ctx.project_id])
        released = {source_id: set(references), destination_id: freed}
    collect_released(released)


# -- changing backups' expiry -----------------------------------------------------------------
def _nothing_to_undo(session: Session, operation: models.Operation, reason: str) -> None:
    """The expiry change commits in one transaction: a failure left nothing changed."""


@job('updateExpiration', on_failure=_nothing_to_undo)
def update_expiration(ctx: JobContext) -> None:
    instant = dt.datetime.fromisoformat(ctx.params['expired_at'])
    with ctx.finishing() as session:
        session.execute(update(models.Backup)
                        .where(models.Backup.id.in_(ctx.params['backup_ids'])
                               | models.Backup.parent_id.in_(ctx.params['backup_ids']))
                        .values(expired_at=instant, updated_at=clock.now()))
