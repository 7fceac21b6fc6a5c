"""Request bodies of the VBS v2 backup API: ``cloudbackups`` and the Cinder-native one.

Shapes only (types, required fields, tags); the VBS rules on names and descriptions (D2)
are the domain's (:mod:`cbr_common.vbs.rules`).  Unknown fields are ignored (Cinder's
``container``, ``force`` and ``project_id`` among them); every failure is a 400 naming
the field.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cbr_common.naming import Tag, unique_keys

Identifier = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(max_length=255)]
Tags = Annotated[list[Tag], Field(max_length=10), AfterValidator(unique_keys)]


class _Body(BaseModel):
    model_config = ConfigDict(extra='ignore')


class ExtendParam(_Body):
    """``backup.extend_param``: ``FullBackup`` "true" forces a full backup."""

    FullBackup: Literal['true', 'false', True, False] = 'false'


class _DiskBackup(_Body):
    """What both APIs' ``backup`` bodies have: the disk, a snapshot, a description."""

    volume_id: Identifier
    snapshot_id: Identifier | None = None
    description: Text | None = None


class CloudBackup(_DiskBackup):
    """``backup`` of ``POST /v2/{project_id}/cloudbackups``; its ``tags`` are checked but
    kept nowhere (no VBS call shows a backup's tags)."""

    name: Text
    tags: Tags | None = None
    extend_param: ExtendParam | None = None


class CloudBackupBody(_Body):
    """The body of ``POST /v2/{project_id}/cloudbackups``."""

    backup: CloudBackup


class CinderBackup(_DiskBackup):
    """``backup`` of ``POST /v2|v3/{project_id}/backups``; ``incremental`` false asks for
    a full backup, absent leaves it to the service (full first, incremental after)."""

    name: Text | None = None
    incremental: bool | None = None


class CinderBackupBody(_Body):
    """The body of a Cinder-style backup create (v2, and v3 under ``/block-storage``)."""

    backup: CinderBackup


class Restore(_Body):
    """``restore``: the disk to write, which must be the backed-up disk itself."""

    volume_id: Identifier


class RestoreBody(_Body):
    """The body of a restore, VBS-native or Cinder-style."""

    restore: Restore


class Shared(_Body):
    """``shared`` of ``POST /v2/{project_id}/os-vendor-backup-sharing``: the backup and the
    projects to share it with (their form, rule S4, and their number, rule S1, are the
    domain's)."""

    backup_id: Identifier
    to_project_ids: Annotated[list[Identifier], Field(min_length=1)]


class SharedBody(_Body):
    """The body of ``POST /v2/{project_id}/os-vendor-backup-sharing``."""

    shared: Shared
