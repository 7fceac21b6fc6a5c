"""How long backups and restores take in simulated time, under the clock's job-duration model.

Workers do the real work at once; an operation's ``finishes_at`` says when, in domain time,
that work is done.  A worker commits a job's last transaction only once the clock has
reached it (:meth:`cbr_common.operations.runner.JobContext.finishing`), and a backup still
unfinished at a policy's next execution time makes that execution skip (rule P10).

Models (``job_durations`` of the shared clock):

* ``instant`` (the default): work takes no domain time; ``finishes_at`` is its start.
* ``realistic``: the guides' figures.  A full backup reads the whole device, 100 GB in
  30 minutes; an incremental one moves the blocks changed since its base, 15 GB in 6
  minutes; a restore writes the whole device, 100 GB in 30 minutes.  The disks of a
  server are backed up (or restored) side by side, so a server takes as long as its
  slowest disk.

Durations are fixed when the work is accepted, from what the device holds then, so the
outcome of a month of runs does not depend on how fast the workers are.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.dataplane.volume_store import VolumeStore
from cbr_common.db import models
from cbr_common.inventory import GIB

FULL_BACKUP_SECONDS_PER_GB = 30 * 60 / 100
INCREMENTAL_BACKUP_SECONDS_PER_GB = 6 * 60 / 15
RESTORE_SECONDS_PER_GB = 30 * 60 / 100


def _realistic() -> bool:
    return clock.CLOCK.state().job_durations == 'realistic'


def _base_generation(session: Session, device: models.Backup) -> int | None:
    """The generation an incremental backup of ``device`` would start from, or None when
    it would be full (rule B4: the resource's latest backup in the vault)."""
    if device.full_requested:
        return None
    return session.execute(
        select(func.max(models.Backup.generation))
        .where(models.Backup.vault_id == device.vault_id,
               models.Backup.resource_id == device.resource_id,
               models.Backup.status.in_(('available', 'restoring')),
               models.Backup.manifest.is_not(None))).scalar_one_or_none()


def realistic_backup_seconds(size_gb: int, changed_bytes: int | None) -> float:
    """Seconds a backup of a device of ``size_gb`` takes under the guides' figures: full
    (``changed_bytes`` None) reads the whole device, incremental moves the changed bytes."""
    if changed_bytes is None:
        return size_gb * FULL_BACKUP_SECONDS_PER_GB
    return changed_bytes / GIB * INCREMENTAL_BACKUP_SECONDS_PER_GB


def realistic_restore_seconds(size_gb: int) -> float:
    """Seconds a restore writing a device of ``size_gb`` takes under the guides' figures."""
    return size_gb * RESTORE_SECONDS_PER_GB


def _device_backup_seconds(session: Session, volumes: VolumeStore,
                           device: models.Backup) -> float:
    since = _base_generation(session, device)
    if since is None or not volumes.exists(device.resource_id):
        return realistic_backup_seconds(device.resource_size, None)
    changed = len(volumes.changed_blocks(device.resource_id, since)) * volumes.block_size
    return realistic_backup_seconds(device.resource_size, changed)


def backup_finishes_at(session: Session, backup: models.Backup,
                       devices: Sequence[models.Backup]) -> dt.datetime:
    """When a backup accepted now is done: its creation instant plus the duration of its
    slowest device (``devices``: a server backup's disk backups, else the backup itself)."""
    if not _realistic():
        return backup.created_at
    volumes = VolumeStore.from_config()
    seconds = max(_device_backup_seconds(session, volumes, device) for device in devices)
    return backup.created_at + dt.timedelta(seconds=seconds)


def restore_finishes_at(backup: models.Backup, start: dt.datetime) -> dt.datetime:
    """When a restore of ``backup`` accepted at ``start`` is done."""
    if not _realistic():
        return start
    largest = max(device.resource_size for device in (backup.children or [backup]))
    return start + dt.timedelta(seconds=realistic_restore_seconds(largest))
