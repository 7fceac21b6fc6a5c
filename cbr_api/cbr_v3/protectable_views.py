"""JSON shapes of protectable resources, storage usage and backup metadata.

Keys are those of the SDK's ``ProtectablesResp``, ``ProtectableResult``, ``VaultGet``,
``StorageUsage`` and ``ShowMetadataResponse`` models (the contract tests check them).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cbr_api import timefmt
from cbr_api.cbr_v3 import views
from cbr_api.inventory import views as inventory_views
from cbr_common.backups import SERVER, TURBO, VOLUME
from cbr_common.backups.protectables import Metadata, Protectable, Usage, Verdict
from cbr_common.backups.vault_stats import VaultFacts
from cbr_common.db import models


def vault_get(v: models.Vault, facts: VaultFacts) -> dict[str, Any]:
    """The ``VaultGet`` shape: a vault as its list shows it, with its update time."""
    return {**views.vault(v, facts), 'updated_at': timefmt.evs(v.updated_at), 'version': ''}


def _server_detail(s: models.Server) -> dict[str, Any]:
    return {'flavor_id': s.flavor_id, 'image_id': s.image_id,
            'availability_zone': s.availability_zone, 'description': s.description,
            'created_at': timefmt.evs(s.created_at)}


def _disk_detail(v: models.Volume) -> dict[str, Any]:
    return {'volume_type': v.volume_type, 'availability_zone': v.availability_zone,
            'bootable': v.bootable, 'multiattach': v.multiattach,
            'description': v.description, 'created_at': timefmt.evs(v.created_at),
            'attachments': [{'server_id': a.server_id, 'device': a.device}
                            for a in v.attachments]}


def _share_detail(sh: models.Share) -> dict[str, Any]:
    return {'share_proto': sh.share_proto, 'share_type': sh.share_type,
            'availability_zone': sh.availability_zone, 'vpc_id': sh.vpc_id,
            'sub_status': sh.sub_status, 'description': sh.description,
            'created_at': timefmt.evs(sh.created_at)}


DETAILS: dict[str, Callable[[Any], dict[str, Any]]] = {
    SERVER: _server_detail, VOLUME: _disk_detail, TURBO: _share_detail}


def _result(verdict: Verdict, vault_bodies: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {'result': verdict.result, 'code': verdict.code,
                            'reason': verdict.reason, 'message': verdict.message}
    if verdict.vault_id is not None:
        body['vault'] = vault_bodies[verdict.vault_id]
    return body


def protectable(p: Protectable, vault_bodies: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``ProtectablesResp`` shape; a server's disks are its ``children``."""
    return {'id': p.row.id, 'name': p.row.name, 'type': p.resource_type, 'size': p.size,
            'status': p.row.status, 'detail': DETAILS[p.resource_type](p.row),
            'protectable': _result(p.verdict, vault_bodies),
            'children': [protectable(child, vault_bodies) for child in p.children]}


def storage_usage(u: Usage) -> dict[str, Any]:
    """The ``StorageUsage`` shape; ``backup_size`` is MB, as a vault's resources show it."""
    return {'resource_id': u.resource_id, 'resource_name': u.resource_name,
            'resource_type': u.resource_type, 'backup_count': u.backup_count,
            'backup_size': round(u.backup_bytes / views.MIB), 'backup_size_multiaz': 0}


def _disk(device: models.Backup, disks: Mapping[str, models.Volume],
          base_url: str) -> dict[str, Any]:
    """The disk a device backup read, as EVS shows it now, or as the backup recorded it."""
    disk = disks.get(device.resource_id)
    if disk is not None:
        return inventory_views.volume(disk, base_url)
    return {'id': device.resource_id, 'name': device.resource_name,
            'size': device.resource_size, 'availability_zone': device.resource_az}


def metadata(m: Metadata, base_url: str) -> dict[str, Any]:
    """The ``ShowMetadataResponse`` shape; JSON documents travel as JSON text."""
    server = inventory_views.server(m.server) if m.server is not None else {}
    return {
        'backup_id': m.backup.id, 'server': json.dumps(server),
        'flavor': json.dumps(server.get('flavor', {})),
        'volumes': [json.dumps(_disk(device, m.disks, base_url)) for device in m.devices
                    if device.resource_type == VOLUME],
        'backups': json.dumps([device.id for device in m.devices]),
        'interface': '[]', 'ports': [], 'floatingips': [], 'workspace': '',
    }
