"""Worker-side handlers of the backup jobs, and what each does when it fails for good.

* ``backupDevice`` backs up one disk or file system: snapshot (unless its consistency
  group took it; outside any transaction), pin the base backup's chunks, move the
  changed blocks, and commit the manifest with its references in one transaction.
* ``backupServer`` snapshots every disk of a server at one instant (rule C3), then hands
  off to one ``backupDevice`` job per disk; the last disk to commit commits the server
  backup, and any disk failing fails the whole group and releases what it stored.
* ``restoreBackup`` writes a backup's exact bytes onto target devices (rule R7).
* ``deleteBackup`` drops a backup's references and frees the chunks nobody else uses.

Every handler is idempotent: run again after a crash it releases what the earlier
attempt pinned and starts over, or finds the work done.

``backupDevice`` and ``deleteBackup`` also have a batch form
(:mod:`cbr_common.operations.batches`) made of the same steps: a batch of disk backups
snapshots its disks, records the snapshots and pins in one transaction, claims the
chunks of its small disks in one more, stores them, and commits in one; a batch of
deletions deletes in one transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common import clock, faults
from cbr_common.backups import codes, vaults
from cbr_common.dataplane import chunk_index, gc
from cbr_common.dataplane.chunk_store import from_config as chunk_store
from cbr_common.dataplane.manifest import Manifest
from cbr_common.dataplane.transfer import (BATCH_BLOCKS, BackupResult, BackupTransfer,
                                            StagedBatch, restore)
from cbr_common.dataplane.volume_store import Snapshot, VolumeStore
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.errors import JobFailed
from cbr_common.inventory import GIB, shares
from cbr_common.operations import FINAL_STATES, outbox
from cbr_common.operations.batches import JobBatch
from cbr_common.operations.registry import job
from cbr_common.operations.runner import JobContext, complete_operation, fail_operation
from cbr_common.policies import retention
from cbr_common.statemachine import transition

PROGRESS_INTERVAL = 0.5  # seconds between two progress writes of one job


class _ProgressReporter:
    """Writes a job's progress (whole percent) at most every PROGRESS_INTERVAL seconds,
    never for the last batch (the job's next transaction follows at once).

    After the first batch it passes ``fault_point``, once, so tests can hold a job that
    has moved some of its blocks.
    """

    def __init__(self, ctx: JobContext, start: int = 0, end: int = 99, *,
                 fault_point: str) -> None:
        self.ctx = ctx
        self.start, self.end = start, end
        self.fault_point: str | None = fault_point
        self.written = -1
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        percent = self.start + (self.end - self.start) * done // max(total, 1)
        now = clock.monotonic()
        if percent != self.written and done < total and now - self.last >= PROGRESS_INTERVAL:
            self.ctx.set_progress(percent)
            self.written, self.last = percent, now
        if self.fault_point is not None:
            point, self.fault_point = self.fault_point, None
            faults.hit(point)


def _fail_backup(session: Session, backup: models.Backup, reason: str,
                 operation_id: str) -> None:
    """Put a backup in ``error``; a committed one gives its chunk references back first."""
    if backup.status == 'available' and backup.manifest is not None:
        manifest = Manifest.decode(backup.manifest)
        chunk_index.drop_references(session, backup.vault_id, manifest.distinct_digests())
        backup.manifest = None
    if backup.status in ('protecting', 'available'):
        transition(session, backup, 'error', entity_type='backup', reason=reason,
                   operation_id=operation_id)
        backup.fail_reason = reason


# -- one device ------------------------------------------------------------------------------
def _group_operation(session: Session, params: dict) -> models.Operation | None:
    """The consistency group's operation of a disk backup job, locked; None if alone."""
    group_id = params.get('group_operation_id')
    if group_id is None:
        return None
    return session.execute(select(models.Operation).where(models.Operation.id == group_id)
                           .with_for_update()).scalar_one()


def _fail_device_backup(session: Session, operation: models.Operation, reason: str) -> None:
    chunk_index.release_pins(session, operation.id)
    group = _group_operation(session, operation.params)
    backup = session.get(models.Backup, operation.params['backup_id'])
    if backup is not None:
        _fail_backup(session, backup, reason, operation.id)
    if group is not None and group.status not in FINAL_STATES:
        what = backup.resource_id if backup is not None else 'a disk'
        fail_operation(session, group, 'backup of disk %s failed: %s' % (what, reason),
                       operation.error_code or codes.GROUP_FAILED)


def _base_backup(session: Session, backup: models.Backup,
                 snapshot: Snapshot) -> models.Backup | None:
    """The backup to be incremental to: the resource's latest one in the vault (B4)."""
    if backup.full_requested:
        return None
    return session.execute(
        select(models.Backup)
        .where(models.Backup.vault_id == backup.vault_id,
               models.Backup.resource_id == backup.resource_id,
               models.Backup.status.in_(('available', 'restoring')),
               models.Backup.manifest.is_not(None),
               models.Backup.device_size == snapshot.size,
               models.Backup.generation <= snapshot.generation)
        .order_by(models.Backup.generation.desc()).limit(1)).scalar_one_or_none()


def _take_snapshot(ctx: JobContext, volumes: VolumeStore) -> Snapshot:
    """The disk's snapshot for this backup: the one its consistency group took, or a new
    one.  Taken before the job's first transaction, so that no file work holds the
    database's writer; the transaction records its token."""
    with read_scope() as session:
        resource_id, token = session.execute(
            select(models.Backup.resource_id, models.Backup.snapshot_token)
            .where(models.Backup.id == ctx.params['backup_id'])).one()
    if token is None:
        return volumes.snapshot([resource_id])[resource_id]
    snapshot = volumes.snapshot_of(resource_id)
    if snapshot is None or snapshot.token != token:
        raise JobFailed('the snapshot of %s taken for this backup was replaced'
                        % resource_id, codes.SNAPSHOT_GONE)
    return snapshot


def _check_group(session: Session, params: dict) -> None:
    group = _group_operation(session, params)
    if group is not None and group.status == 'FAIL':
        raise JobFailed('the server backup failed: %s' % group.fail_reason, codes.GROUP_FAILED)


@dataclass
class _DeviceBackup:
    """One disk backup job between its phases: what it backs up and on top of what."""

    snapshot: Snapshot
    base: Manifest | None
    since: int
    vault_id: str
    key_id: str | None
    transfer: BackupTransfer | None = None
    staged: StagedBatch | None = None
    result: BackupResult | None = None


UsedUp = Callable[[Session, models.Vault], bool]


def _prepare_device(session: Session, ctx: JobContext, snapshot: Snapshot,
                    used_up: UsedUp = vaults.capacity_used_up) -> _DeviceBackup:
    """The job's first transaction: record the snapshot, find the base backup (B4) and
    pin its chunks."""
    _check_group(session, ctx.params)
    chunk_index.release_pins(session, ctx.operation_id)
    backup = session.get(models.Backup, ctx.params['backup_id'])
    vault = session.get(models.Vault, backup.vault_id)
    if backup.parent_id is None and used_up(session, vault):
        raise JobFailed('vault capacity used up', codes.CAPACITY_USED_UP)  # rule B6
    base = _base_backup(session, backup, snapshot)
    base_manifest = Manifest.decode(base.manifest) if base is not None else None
    if base_manifest is not None:
        chunk_index.pin_existing(session, backup.vault_id, ctx.operation_id,
                                 base_manifest.distinct_digests())
    backup.snapshot_token, backup.generation = snapshot.token, snapshot.generation
    backup.device_size = snapshot.size
    backup.base_backup_id = base.id if base is not None else None
    backup.incremental = base is not None
    return _DeviceBackup(snapshot, base_manifest, base.generation if base is not None else 0,
                         backup.vault_id, backup.key_id)


def _start_transfer(ctx: JobContext, volumes: VolumeStore, work: _DeviceBackup) -> list[int]:
    """The blocks changed since the base, and the transfer that will store them."""
    faults.hit('backup.transfer')
    work.transfer = BackupTransfer(volumes, chunk_store(), vault_id=work.vault_id,
                                   operation_id=ctx.operation_id, key_id=work.key_id,
                                   transaction=ctx.transaction)
    return volumes.snapshot_changed_blocks(work.snapshot, work.since)


def _run_transfer(ctx: JobContext, work: _DeviceBackup, blocks: list[int]) -> None:
    work.result = work.transfer.run(work.snapshot, work.base, blocks,
                                    _ProgressReporter(ctx, fault_point='backup.batch'),
                                    ctx.check)


def _move_blocks(ctx: JobContext, volumes: VolumeStore, work: _DeviceBackup) -> None:
    """Store the blocks changed since the base in the vault's chunk store."""
    _run_transfer(ctx, work, _start_transfer(ctx, volumes, work))
    faults.hit('backup.commit')


def _stage_blocks(ctx: JobContext, volumes: VolumeStore, work: _DeviceBackup) -> None:
    """A batch's first step of a transfer: a disk whose changes fit in one transfer batch
    is read and hashed, for the batch to claim its chunks with the others' in one
    transaction; a larger one is moved at once, as a single job moves it."""
    blocks = _start_transfer(ctx, volumes, work)
    if len(blocks) > BATCH_BLOCKS:
        _run_transfer(ctx, work, blocks)
    else:
        work.staged = work.transfer.stage(work.snapshot, blocks)


def _store_staged(ctx: JobContext, work: _DeviceBackup) -> None:
    """A batch's last step of a transfer: store what was claimed."""
    if work.staged is not None:
        work.result = work.transfer.finish_staged(work.snapshot, work.base, work.staged)
        _ProgressReporter(ctx, fault_point='backup.batch')(1, 1)
    faults.hit('backup.commit')


def _commit_device(session: Session, ctx: JobContext, work: _DeviceBackup
                   ) -> tuple[list[str], set[bytes]]:
    """The job's last transaction: the manifest, its chunk references and ``available``;
    returns the deletions the resource's retention rule asks for now (P8) and the chunks
    no backup uses any more."""
    group = _group_operation(session, ctx.params)
    if group is not None and group.status == 'FAIL':
        raise JobFailed('the server backup failed: %s' % group.fail_reason,
                        codes.GROUP_FAILED)
    backup = session.get(models.Backup, ctx.params['backup_id'])
    freed = chunk_index.settle(session, work.vault_id, ctx.operation_id,
                               work.result.manifest.distinct_digests(),
                               work.transfer.take_written())
    backup.manifest = work.result.manifest.encode()
    backup.added_bytes = work.result.added_bytes
    backup.protected_at = clock.now()
    transition(session, backup, 'available', entity_type='backup',
               operation_id=ctx.operation_id)
    completed = _advance_group(session, group) if group is not None else backup
    deletions = ([operation.id for operation in retention.after_backup(session, completed)]
                 if completed is not None else [])
    return deletions, freed


def _after_commits(committed: Iterable[tuple[str, tuple[list[str], set[bytes]]]]) -> None:
    """Send the deletions the commits asked for and free the packs they left empty."""
    deletions: list[str] = []
    freed: dict[str, set[bytes]] = {}
    for vault_id, (asked, unused) in committed:
        deletions += asked
        if unused:
            freed.setdefault(vault_id, set()).update(unused)
    outbox.dispatch(deletions)  # rule P8: what the resources' retention rules delete now
    collect_released(freed)  # packs a job left empty otherwise wait for the scheduler's sweep


def _claim_staged(session: Session, work: _DeviceBackup) -> None:
    if work.staged is not None:
        work.transfer.claim_staged(session, work.staged)


def _incremental(work: _DeviceBackup) -> dict[str, bool]:
    return {'incremental': work.base is not None}


def backup_devices(batch: JobBatch) -> None:
    """The batch form of ``backupDevice``: each phase for all of the batch's disks."""
    volumes = VolumeStore.from_config()
    used_up: dict[str, bool] = {}  # rule B6, asked once per vault for the whole batch

    def vault_used_up(session: Session, vault: models.Vault) -> bool:
        if vault.id not in used_up:
            used_up[vault.id] = vaults.capacity_used_up(session, vault)
        return used_up[vault.id]
    batch.each(lambda ctx: faults.hit('backup.start'))
    snapshots = batch.each(lambda ctx: _take_snapshot(ctx, volumes))
    works = batch.each_in_transaction(lambda session, ctx: _prepare_device(
        session, ctx, snapshots[ctx.operation_id], vault_used_up))
    batch.each(lambda ctx: _stage_blocks(ctx, volumes, works[ctx.operation_id]))
    batch.each_in_transaction(lambda session, ctx: _claim_staged(session, works[ctx.operation_id]))
    batch.each(lambda ctx: _store_staged(ctx, works[ctx.operation_id]))
    committed = batch.finish_each(
        lambda session, ctx: _commit_device(session, ctx, works[ctx.operation_id]),
        lambda ctx: _incremental(works[ctx.operation_id]))
    _after_commits((works[operation_id].vault_id, done)
                   for operation_id, done in committed.items())


@job('backupDevice', on_failure=_fail_device_backup, batch=backup_devices)
def backup_device(ctx: JobContext) -> None:
    faults.hit('backup.start')
    volumes = VolumeStore.from_config()
    snapshot = _take_snapshot(ctx, volumes)
    with ctx.transaction() as session:
        work = _prepare_device(session, ctx, snapshot)
    _move_blocks(ctx, volumes, work)
    with ctx.finishing(**_incremental(work)) as session:
        done = _commit_device(session, ctx, work)
    _after_commits([(work.vault_id, done)])


def _advance_group(session: Session, group: models.Operation) -> models.Backup | None:
    """After one disk committed: update the group's progress, commit it when all are in;
    returns the server backup once it is committed."""
    server_backup = session.get(models.Backup, group.params['backup_id'])
    children = server_backup.children
    done = sum(1 for child in children if child.status == 'available')
    group.progress = 100 * done // len(children)
    if done < len(children):
        return None
    server_backup.added_bytes = sum(child.added_bytes for child in children)
    server_backup.incremental = all(child.incremental for child in children)
    server_backup.protected_at = clock.now()
    group.entities = {**(group.entities or {}), 'incremental': server_backup.incremental}
    transition(session, server_backup, 'available', entity_type='backup',
               operation_id=group.id)
    complete_operation(session, group)
    return server_backup


# -- a server's consistency group --------------------------------------------------------
def _fail_server_backup(session: Session, operation: models.Operation, reason: str) -> None:
    server_backup = session.get(models.Backup, operation.params['backup_id'])
    if server_backup is None:
        return
    for child in server_backup.children:
        if child.status == 'available' or child.operation_id is None:
            _fail_backup(session, child, reason, operation.id)
    _fail_backup(session, server_backup, reason, operation.id)


@job('backupServer', on_failure=_fail_server_backup)
def backup_server(ctx: JobContext) -> None:
    faults.hit('backup.group_start')
    volumes = VolumeStore.from_config()
    with ctx.transaction() as session:
        server_backup = session.get(models.Backup, ctx.params['backup_id'])
        if vaults.capacity_used_up(session, session.get(models.Vault, server_backup.vault_id)):
            raise JobFailed('vault capacity used up', codes.CAPACITY_USED_UP)  # rule B6
        disks = [child.resource_id for child in server_backup.children]
    snapshots = volumes.snapshot(disks)  # one instant for every disk (rule C3)
    faults.hit('backup.group_handoff')
    with ctx.transaction() as session:
        children = []
        for child in session.get(models.Backup, ctx.params['backup_id']).children:
            child.snapshot_token = snapshots[child.resource_id].token
            operation = outbox.create(session, project_id=ctx.project_id,
                                      job_type='backupDevice',
                                      params={'backup_id': child.id,
                                              'group_operation_id': ctx.operation_id},
                                      entities={'backup_id': child.id,
                                                'resource_id': child.resource_id},
                                      vault_id=child.vault_id, resource_id=child.resource_id,
                                      parent_id=ctx.operation_id, finishes_at=ctx.finishes_at)
            child.operation_id = operation.id
            children.append(operation.id)
        ctx.hand_off(session)
    outbox.dispatch(children)


# -- restore -----------------------------------------------------------------------------------
def _settle_targets(session: Session, operation: models.Operation, *, failed: str | None) -> None:
    backup = session.get(models.Backup, operation.params['backup_id'])
    if backup is not None and backup.status == 'restoring':
        transition(session, backup, 'available', entity_type='backup',
                   operation_id=operation.id)
    for target_id, previous in operation.params['target_states'].items():
        volume = session.get(models.Volume, target_id)
        if volume is None:
            _settle_new_share(session, operation, target_id, failed)
            continue
        if volume.status == 'restoring-backup':
            transition(session, volume, 'error_restoring' if failed else previous,
                       entity_type='volume', operation_id=operation.id, reason=failed)
        elif volume.status == 'creating' and failed:
            transition(session, volume, 'error', entity_type='volume',
                       operation_id=operation.id, reason=failed)


def _settle_new_share(session: Session, operation: models.Operation, share_id: str,
                      failed: str | None) -> None:
    """A file system made from a backup (rule R5) is available once it holds the data."""
    share = session.get(models.Share, share_id)
    if share is not None and share.status == shares.CREATING:
        transition(session, share, shares.CREATE_FAILED if failed else shares.AVAILABLE,
                   entity_type='share', operation_id=operation.id, reason=failed)


def _fail_restore(session: Session, operation: models.Operation, reason: str) -> None:
    _settle_targets(session, operation, failed=reason)


def _create_targets(ctx: JobContext, volumes: VolumeStore) -> None:
    """Create-from-backup: make the new disks' (or file system's) storage; a disk then goes
    ``available`` and ``restoring-backup`` (rule R4) before the restore writes it."""
    with ctx.transaction() as session:
        targets = ctx.params['targets'].values()
        created = [row for row in (session.get(models.Volume, target_id) for target_id in targets)
                   if row is not None and row.status == 'creating']
        new_shares = [row for row in (session.get(models.Share, target_id) for target_id in targets)
                      if row is not None and row.status == shares.CREATING]
        sizes = {row.id: row.size for row in [*created, *new_shares]}
    for device_id, size in sizes.items():
        volumes.create(device_id, size * GIB)
    with ctx.transaction() as session:
        for volume_id in (row.id for row in created):
            volume = session.get(models.Volume, volume_id)
            for status in ('available', 'restoring-backup'):
                transition(session, volume, status, entity_type='volume',
                           operation_id=ctx.operation_id)


@job('restoreBackup', on_failure=_fail_restore)
def restore_backup(ctx: JobContext) -> None:
    faults.hit('restore.start')
    volumes, chunks = VolumeStore.from_config(), chunk_store()
    if ctx.params.get('create_targets'):
        _create_targets(ctx, volumes)
    with ctx.transaction() as session:
        backup = session.get(models.Backup, ctx.params['backup_id'])
        plans = []
        for device in backup.children or [backup]:
            target_id = ctx.params['targets'].get(device.resource_id)
            if target_id is None:
                continue  # rule R2: a disk deleted since the backup is not restored
            manifest = Manifest.decode(device.manifest)
            places = chunk_index.locations(session, device.vault_id,
                                           manifest.distinct_digests())
            plans.append((manifest, places, device.key_id, target_id))
        _power_server(session, ctx, 'SHUTOFF')  # rule R1: stopped while its disks restore
    for index, (manifest, places, key_id, target_id) in enumerate(plans):
        reporter = _ProgressReporter(ctx, 99 * index // len(plans),
                                     99 * (index + 1) // len(plans), fault_point='restore.batch')
        restore(volumes, chunks, manifest, places, key_id, target_id, reporter, ctx.check)
    with ctx.finishing() as session:
        _settle_targets(session, session.get(models.Operation, ctx.operation_id), failed=None)
        if ctx.params.get('power_on'):
            _power_server(session, ctx, 'ACTIVE')


def _power_server(session: Session, ctx: JobContext, status: str) -> None:
    """Stop or start the server a whole-server restore writes to, if it is not already."""
    server_id = ctx.params.get('server_id')
    server = session.get(models.Server, server_id) if server_id else None
    if server is not None and server.status in ('ACTIVE', 'SHUTOFF') and server.status != status:
        transition(session, server, status, entity_type='server', operation_id=ctx.operation_id)


# -- delete ------------------------------------------------------------------------------------
def _fail_delete(session: Session, operation: models.Operation, reason: str) -> None:
    backup = session.get(models.Backup, operation.params['backup_id'])
    if backup is not None and backup.status == 'deleting':
        transition(session, backup, 'error', entity_type='backup', reason=reason,
                   operation_id=operation.id)
        backup.fail_reason = reason


def _discard_backup(session: Session, ctx: JobContext) -> dict[str, set[bytes]]:
    """The deletion's one transaction: the backup (and its disks) and their references
    go; returns the chunks released, per vault."""
    released: dict[str, set[bytes]] = {}
    backup = session.get(models.Backup, ctx.params['backup_id'])
    if backup is not None:
        for device in [*backup.children, backup]:
            discard(session, device, ctx.operation_id, released)
    return released


def delete_backups(batch: JobBatch) -> None:
    """The batch form of ``deleteBackup``: the batch's deletions in one transaction, then
    one collection of the chunks they released."""
    batch.each(lambda ctx: faults.hit('backup.delete'))
    done = batch.finish_each(_discard_backup, lambda ctx: {})
    collected = batch.each(lambda ctx: faults.hit('backup.gc'))
    released: dict[str, set[bytes]] = {}
    for operation_id in collected:
        for vault_id, digests in done[operation_id].items():
            released.setdefault(vault_id, set()).update(digests)
    collect_released(released)


@job('deleteBackup', on_failure=_fail_delete, batch=delete_backups)
def delete_backup(ctx: JobContext) -> None:
    faults.hit('backup.delete')
    with ctx.finishing() as session:
        released = _discard_backup(session, ctx)
    faults.hit('backup.gc')
    collect_released(released)


def discard(session: Session, device: models.Backup, operation_id: str,
            released: dict[str, set[bytes]]) -> None:
    """Drop a backup row's chunk references (adding them to ``released``, per vault) and
    delete the row through ``deleting`` and ``deleted``."""
    if device.manifest is not None:
        digests = Manifest.decode(device.manifest).distinct_digests()
        chunk_index.drop_references(session, device.vault_id, digests)
        released.setdefault(device.vault_id, set()).update(digests)
    for member in session.execute(select(models.BackupMember).where(
            models.BackupMember.backup_id == device.id)).scalars():  # rule S3
        transition(session, member, 'deleted', entity_type='member', operation_id=operation_id)
        session.delete(member)
    if device.status != 'deleting':
        transition(session, device, 'deleting', entity_type='backup', operation_id=operation_id)
    transition(session, device, 'deleted', entity_type='backup', operation_id=operation_id)
    session.delete(device)
    session.flush()


def collect_released(released: dict[str, set[bytes]]) -> None:
    """Free the released chunks that nothing references any more, vault by vault."""
    for vault_id, digests in released.items():
        gc.collect(vault_id, digests)
