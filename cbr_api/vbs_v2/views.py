"""Response bodies of the VBS v2 backup APIs: Cinder-style backups, shares and the quota.

The Cinder-native API is mounted twice (:data:`V2` and :data:`V3`); the two differ only
in their path and in the name of the owning-project attribute.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_api import timefmt
from cbr_api.identity.keystone import base_url
from cbr_common.db import models
from cbr_common.vbs import backups as vbs_backups
from cbr_common.vbs.rules import UNLIMITED, Usage

MIB = 1024 * 1024
SOURCE_TYPE = {'VBS': 0, 'CSBS': 1}  # service_metadata "ST": 0 a disk, 1 a server (VM)


@dataclass(frozen=True)
class CinderApi:
    """One mount of the Cinder-native backup API: the path before the project id, the
    one its bookmark links use, and the attribute naming the owning project."""

    name: str
    root: str
    bookmark_root: str
    project_attr: str

    def url(self, project_id: str, *parts: str) -> str:
        """The absolute URL of ``parts`` below the project on this mount."""
        return '/'.join((base_url() + self.root, project_id, *parts))


V2 = CinderApi('vbs_cinder_v2', '/v2', '', 'os-bak-tenant-attr:tenant_id')
V3 = CinderApi('vbs_cinder_v3', '/block-storage/v3', '/block-storage',
               'os-backup-project-attr:project_id')


@dataclass(frozen=True)
class Facts:
    """What a page of backups shows besides its rows: the ids of the backups others are
    incremental to, and of the bootable disks among the backed-up ones."""

    dependents: set[str]
    bootable: set[str]


def facts(session: Session, rows: Sequence[models.Backup]) -> Facts:
    """The :class:`Facts` of a page of backups (two queries)."""
    disks = list({row.resource_id for row in rows})
    bootable = set(session.execute(select(models.Volume.id).where(
        models.Volume.id.in_(disks), models.Volume.bootable.is_(True))).scalars())
    return Facts(vbs_backups.with_dependents(session, [row.id for row in rows]), bootable)


def summary(api: CinderApi, b: models.Backup) -> dict[str, Any]:
    """A backup in the summary list, and as ``POST /backups`` answers."""
    return {'id': b.id, 'name': b.name, 'links': [
        {'href': api.url(b.project_id, 'backups', b.id), 'rel': 'self'},
        {'href': '/'.join((base_url() + api.bookmark_root, b.project_id, 'backups', b.id)),
         'rel': 'bookmark'}]}


def _service_metadata(b: models.Backup, source: str, bootable: bool) -> str:
    return json.dumps({'bootable': bootable, 'backupurl': b.id,
                       'BackupSize': -(-b.added_bytes // MIB),
                       'progress': '100' if b.status == 'available' else '0',
                       'snap_id': vbs_backups.snapshot_id(b), 'Type': int(b.incremental),
                       'ST': SOURCE_TYPE[source]})


def detail(api: CinderApi, b: models.Backup, known: Facts) -> dict[str, Any]:
    """A backup in the detail list and ``GET /backups/{id}``, with its ``source``."""
    source = vbs_backups.source(b)
    return {
        **summary(api, b), 'description': b.description or None,
        'status': vbs_backups.status(b), 'volume_id': b.resource_id,
        'snapshot_id': vbs_backups.snapshot_id(b),
        'availability_zone': b.resource_az or None, 'size': b.resource_size,
        'object_count': None, 'container': None, 'fail_reason': b.fail_reason,
        'created_at': timefmt.evs(b.created_at), 'updated_at': timefmt.evs(b.updated_at),
        'data_timestamp': timefmt.evs(b.created_at), api.project_attr: b.project_id,
        'has_dependent_backups': b.id in known.dependents, 'is_incremental': b.incremental,
        'service_metadata': _service_metadata(b, source, b.resource_id in known.bootable),
        'source': source,
    }


def share(m: models.BackupMember) -> dict[str, Any]:
    """A share of a backup with one project, as ``POST …/os-vendor-backup-sharing``
    answers it (a cancelled share is gone, so ``deleted`` is always false)."""
    return {'id': m.id, 'backup_id': m.backup_id, 'from_project_id': m.project_id,
            'to_project_id': m.dest_project_id, 'created_at': timefmt.evs(m.created_at),
            'updated_at': timefmt.evs(m.updated_at), 'deleted': False, 'deleted_at': None}


def shares(session: Session,
           rows: Sequence[tuple[models.BackupMember, models.Backup]]) -> list[dict[str, Any]]:
    """Shares as the sharing list and show give them: each with its backup's detail."""
    known = facts(session, [backup for _, backup in rows])
    return [{**share(member), 'backup': detail(V2, backup, known)} for member, backup in rows]


def quota(usage: Usage) -> dict[str, Any]:
    """``GET /v2/{project_id}/cloudbackups/quota``."""
    return {'quotas': {'resources': [
        {'type': 'backups', 'used': usage.backups, 'reserved': 0, 'quota': usage.quota},
        {'type': 'backup_gigabytes', 'used': usage.gigabytes, 'reserved': 0,
         'quota': UNLIMITED}]}}
