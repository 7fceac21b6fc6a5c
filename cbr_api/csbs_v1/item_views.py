"""JSON shapes of CSBS v1 backup records (checkpoints), checkpoint items, capability
checks, quotas and the provider, as the OTC CSBS API reference shows them.

Times are ``2017-04-15T04:20:37.277880`` (UTC, no zone); sizes of backup data are in MB
(what the backup added to the store); an item's status is its server backup's status.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cbr_api import timefmt
from cbr_common.config import CONF
from cbr_common.csbs import PROVIDER_ID
from cbr_common.csbs.codes import CsbsError
from cbr_common.csbs.items import QuotaUse
from cbr_common.db import models
from cbr_common.inventory import flavors

MIB = 1 << 20
_PLAN_NAMESPACE = uuid.UUID('0b5e3f5c-8a41-4c57-9a43-5b0e7d6f2c11')


def task_id(operation_id: str | None) -> str:
    """An operation's id as CSBS shows task ids: a dashed UUID ('' for none)."""
    return str(uuid.UUID(operation_id)) if operation_id else ''


@dataclass(frozen=True)
class ItemFacts:
    """What the items of one response need besides their rows: their jobs (by id), the
    images made from them (backup id -> image id), their servers and disks (by id)."""

    operations: Mapping[str, models.Operation] = field(default_factory=dict)
    images: Mapping[str, str] = field(default_factory=dict)
    servers: Mapping[str, models.Server] = field(default_factory=dict)
    volumes: Mapping[str, models.Volume] = field(default_factory=dict)


def _mb(size: int) -> int:
    return round(size / MIB)


def _backup_data(server: models.Server | None) -> dict[str, Any]:
    """The server's metadata (``backup_data``); zeros once the server is deleted."""
    flavor = flavors.of(server.flavor_id) if server is not None else flavors.Flavor(0, 0)
    return {'__openstack_region_name': CONF.region, 'cloudservicetype': 'server',
            'disk': flavor.disk_gb, 'imagetype': 'gold', 'ram': flavor.ram_mb,
            'vcpus': flavor.vcpus, 'eip': '', 'private_ip': ''}


def _volume_backup(child: models.Backup, facts: ItemFacts) -> dict[str, Any]:
    volume = facts.volumes.get(child.resource_id)
    return {'id': child.id, 'name': child.name, 'status': child.status,
            'bootable': volume is not None and volume.bootable,
            'source_volume_id': child.resource_id, 'source_volume_name': child.resource_name,
            'source_volume_size': child.resource_size,
            'snapshot_id': child.snapshot_token or '', 'incremental': child.incremental,
            'image_type': 'backup', 'size': _mb(child.added_bytes), 'average_speed': 0,
            'space_saving_ratio': 0}


def _failure(b: models.Backup, operation: models.Operation | None) -> dict[str, Any]:
    """``fail_reason``, ``fail_op`` and ``fail_code`` (rule C6): a backup in error failed
    while it was made (``backup``) or, made already, while it was deleted (``delete``)."""
    if b.status != 'error':
        return {'fail_reason': '', 'fail_op': '', 'fail_code': {}}
    reason = b.fail_reason or (operation.fail_reason if operation is not None else '') or ''
    code = (operation.error_code if operation is not None else None) or ''
    number = int(''.join(char for char in code if char.isdigit()) or 0)
    return {'fail_reason': reason, 'fail_op': 'backup' if b.protected_at is None else 'delete',
            'fail_code': {'Code': number, 'Description': reason}}


def _progress(b: models.Backup, operation: models.Operation | None) -> int:
    if b.status in ('available', 'restoring', 'deleting'):
        return 100
    return operation.progress if operation is not None else 0


def _finished_at(b: models.Backup, operation: models.Operation | None) -> str:
    ended = b.protected_at or (operation.end_time if operation is not None else None)
    return timefmt.evs(ended) or ''


def item(b: models.Backup, facts: ItemFacts) -> dict[str, Any]:
    """The ``checkpoint_item`` shape of a server backup."""
    operation = facts.operations.get(b.operation_id or '')
    image_id = facts.images.get(b.id)
    extend_info = {
        'auto_trigger': b.auto_trigger, 'average_speed': 0, 'copy_from': '',
        'copy_status': 'na', **_failure(b, operation), 'image_type': 'backup',
        'incremental': b.incremental, 'progress': _progress(b, operation),
        'resource_az': b.resource_az, 'resource_name': b.resource_name,
        'resource_type': b.resource_type, 'size': _mb(b.added_bytes),
        'space_saving_ratio': 0,
        'volume_backups': [_volume_backup(child, facts) for child in b.children],
        'finished_at': _finished_at(b, operation),
        'supported_restore_mode': 'backup' if b.status == 'available' else 'na',
        'os_images_data': [{'image_id': image_id}] if image_id else [],
        'support_lld': False, 'taskid': task_id(b.operation_id), 'hypervisor_type': 'QEMU',
    }
    return {
        'id': b.id, 'checkpoint_id': b.checkpoint_id or '', 'name': b.name,
        'description': b.description, 'resource_id': b.resource_id,
        'resource_type': b.resource_type, 'status': b.status,
        'created_at': timefmt.evs(b.created_at), 'updated_at': timefmt.evs(b.updated_at),
        'protected_at': timefmt.evs(b.protected_at) or '',
        'backup_data': _backup_data(facts.servers.get(b.resource_id)),
        'extend_info': extend_info, 'tags': list(b.tags or []),
    }


def _checkpoint_status(items: list[models.Backup]) -> str:
    states = {b.status for b in items}
    for busy in ('protecting', 'deleting'):
        if busy in states:
            return busy
    return 'error' if states == {'error'} else 'available'


def checkpoint(cp: models.Checkpoint, items: list[models.Backup]) -> dict[str, Any]:
    """The ``checkpoint`` shape (protect_resp) of a backup record and its items."""
    first = items[0]
    plan_id = first.policy_id or 'fake_%s' % uuid.uuid5(_PLAN_NAMESPACE, cp.id)
    return {
        'id': cp.id, 'status': _checkpoint_status(items),
        'created_at': timefmt.evs(cp.created_at), 'resource_graph': None,
        'project_id': cp.project_id, 'extra_info': None,
        'protection_plan': {
            'id': plan_id, 'name': 'server protect plan for %s' % first.resource_id,
            'resources': [{'id': b.resource_id, 'type': b.resource_type,
                           'name': b.resource_name, 'extra_info': {}} for b in items]},
    }


def check_result(resource_id: str, resource_type: str,
                 refusal: CsbsError | None) -> dict[str, Any]:
    """One ``check_resp``: ``result`` true, or false with the refusal's code and message."""
    body: dict[str, Any] = {'resource_id': resource_id, 'resource_type': resource_type,
                            'result': refusal is None}
    if refusal is not None:
        body.update(error_code=refusal.code, error_msg=refusal.message)
    return body


def quotas(use: QuotaUse) -> dict[str, Any]:
    """``GET /quotas``: backup capacity (GB) and backup count, used and allowed."""
    return {'quotas': {'resources': [
        {'type': 'backup_capacity', 'unit': 'GB', 'quota': use.capacity_quota_gb,
         'used': use.used_gb},
        {'type': 'backups', 'quota': use.backup_quota, 'used': use.backups}]}}


def _schema(title: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {'OS::Nova::Server': {'title': title, 'type': 'object', 'properties': properties}}


PROVIDER = {
    'id': PROVIDER_ID, 'name': 'CSBS',
    'description': 'Cloud Server Backup Service: crash-consistent backups of whole servers',
    'extended_info_schema': {
        'options_schema': _schema('Server Protection Options', {
            'backup_name': {'type': 'string', 'maxLength': 255},
            'description': {'type': 'string', 'maxLength': 255},
            'incremental': {'type': 'boolean', 'default': True}}),
        'saved_info_schema': _schema('Server Backup Saved Info', {
            'volume_backups': {'type': 'array', 'items': {'type': 'object'}}}),
        'restore_schema': _schema('Server Restore Options', {
            'power_on': {'type': 'boolean'},
            'targets': {'type': 'object'}}),
    },
}
