"""JSON shapes of CBR v3 vaults, policies, checkpoints, backups and tasks.

Every key is one the official SDK's models know (``attribute_map``), so a client parses
each field; the contract tests check it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cbr_api import timefmt
from cbr_common.backups import OBJECT_TYPE_OF, PROVIDER_IDS, SPEC_CODES, images
from cbr_common.backups.vault_stats import ResourceFacts, VaultFacts
from cbr_common.db import models
from cbr_common.inventory import GIB

MIB = 1 << 20
TASK_TYPES = {'backupDevice': 'backup', 'backupServer': 'backup', 'restoreBackup': 'restore',
              'deleteBackup': 'delete', 'deleteVault': 'vault_delete',
              'migrateResources': 'migrate', 'updateExpiration': 'update_expiration_time'}
TASK_STATES = {'INIT': 'waiting', 'RUNNING': 'running', 'SUCCESS': 'success', 'FAIL': 'failed',
               'SKIPPED': 'skipped'}
PROTECT_STATES = {'protecting': 'protecting', 'restoring': 'restoring', 'deleting': 'removing',
                  'error': 'error'}


def _billing(v: models.Vault, facts: VaultFacts) -> dict[str, Any]:
    return {'allocated': sum(f.size for f in facts.resources.values()),
            'charging_mode': v.charging_mode, 'cloud_type': 'public',
            'consistent_level': v.consistent_level,
            'object_type': OBJECT_TYPE_OF[v.resource_type], 'order_id': '', 'product_id': '',
            'protect_type': 'backup', 'size': v.size, 'spec_code': SPEC_CODES[v.resource_type],
            'status': v.status, 'storage_unit': '', 'used': round(facts.used_bytes / MIB),
            'frozen_scene': '', 'is_multi_az': False}


def vault_resource(r: models.VaultResource, facts: ResourceFacts) -> dict[str, Any]:
    return {'extra_info': dict(r.extra_info or {}), 'id': r.resource_id, 'name': r.name,
            'protect_status': facts.busy_status or 'available', 'size': facts.size,
            'type': r.resource_type, 'backup_size': round(facts.backup_bytes / MIB),
            'backup_count': facts.backup_count, 'auto_protect': r.auto_protect}


def vault(v: models.Vault, facts: VaultFacts, *, created: bool = False) -> dict[str, Any]:
    """The ``Vault`` shape; ``created`` adds the keys of the create response."""
    body = {
        'billing': _billing(v, facts), 'description': v.description, 'id': v.id,
        'name': v.name, 'project_id': v.project_id,
        'provider_id': PROVIDER_IDS[v.resource_type],
        'resources': [vault_resource(r, facts.resources.get(r.resource_id, ResourceFacts()))
                      for r in v.resources],
        'tags': list(v.tags or []), 'enterprise_project_id': '0', 'auto_bind': v.auto_bind,
        'bind_rules': {'tags': list(v.bind_rules or [])}, 'user_id': v.user_id,
        'created_at': timefmt.evs(v.created_at), 'auto_expand': v.auto_expand,
        'smn_notify': v.smn_notify, 'threshold': v.threshold, 'sys_lock_source_service': '',
        'locked': False, 'availability_zone': '',
    }
    if created:
        body.update(backup_name_prefix='', demand_billing=False, cbc_delete_count=0,
                    frozen=False)
    return body


def policy(p: models.Policy, vault_ids: list[str]) -> dict[str, Any]:
    return {
        'enabled': p.enabled, 'id': p.id, 'name': p.name,
        'operation_definition': dict(p.operation_definition),
        'operation_type': p.operation_type,
        'trigger': {'id': p.trigger_id, 'name': 'default', 'type': 'time',
                    'properties': {'pattern': list(p.patterns),
                                   'start_time': p.created_at.strftime('%Y-%m-%d %H:%M:%S'),
                                   'start_window_minutes': p.start_window_minutes}},
        'associated_vaults': [{'vault_id': vault_id} for vault_id in vault_ids],
        'policy_type': 'custom_policy',
    }


def backup(b: models.Backup, images: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``BackupResp`` shape, with a server backup's disk backups as ``children``;
    ``images`` maps backup ids to the image each made (rule R6)."""
    image_id = (images or {}).get(b.id)
    return {
        'checkpoint_id': b.checkpoint_id or '', 'created_at': timefmt.evs(b.created_at),
        'description': b.description, 'expired_at': timefmt.evs(b.expired_at),
        'extend_info': {
            'auto_trigger': b.auto_trigger, 'bootable': False, 'snapshot_id': '',
            'support_lld': False,
            'supported_restore_mode': _restore_mode(b),
            'os_images_data': [{'image_id': image_id}] if image_id else [],
            'contain_system_disk': b.resource_type == 'OS::Nova::Server',
            'encrypted': b.key_id is not None, 'system_disk': False,
            'is_multi_az': False},
        'id': b.id, 'image_type': 'backup', 'name': b.name, 'parent_id': b.parent_id,
        'project_id': b.project_id, 'protected_at': timefmt.evs(b.protected_at),
        'resource_az': b.resource_az, 'resource_id': b.resource_id,
        'resource_name': b.resource_name, 'resource_size': b.resource_size,
        'resource_type': b.resource_type, 'scheduled_operation_id': b.policy_id,
        'status': b.status, 'updated_at': timefmt.evs(b.updated_at), 'vault_id': b.vault_id,
        'replication_records': [], 'enterprise_project_id': '0',
        'provider_id': PROVIDER_IDS[_root_type(b)],
        'children': [backup(child) for child in b.children] if b.parent_id is None else [],
        'incremental': b.incremental, 'version': 1,
    }


def _restore_mode(b: models.Backup) -> str:
    """``backup`` once restorable; ``snapshot`` while a server backup being made can
    already make an image (rule B13); else ``na``."""
    if b.status == 'available':
        return 'backup'
    return 'snapshot' if b.parent_id is None and images.imageable(b) else 'na'


def _root_type(b: models.Backup) -> str:
    return 'OS::Nova::Server' if b.parent_id is not None else b.resource_type


def checkpoint(cp: models.Checkpoint, vault_row: models.Vault | None,
               backups: list[models.Backup]) -> dict[str, Any]:
    """The ``CheckpointCreate`` shape; its status follows its backups."""
    states = {b.status for b in backups}
    status = ('protecting' if 'protecting' in states else
              'error' if states == {'error'} else 'available')
    return {
        'created_at': timefmt.evs(cp.created_at), 'id': cp.id, 'project_id': cp.project_id,
        'status': status,
        'vault': {'id': cp.vault_id, 'name': vault_row.name if vault_row else '',
                  'resources': [_checkpoint_resource(b) for b in backups],
                  'skipped_resources': list(cp.skipped or [])},
        'extra_info': {'name': cp.name, 'description': cp.description,
                       'retention_duration': cp.retention_duration_days},
    }


def _checkpoint_resource(b: models.Backup) -> dict[str, Any]:
    return {'extra_info': '', 'id': b.resource_id, 'name': b.resource_name,
            'protect_status': PROTECT_STATES.get(b.status, 'available'),
            'resource_size': str(b.resource_size), 'type': b.resource_type,
            'backup_size': str(b.added_bytes), 'backup_count': '1'}


def operation_log(op: models.Operation, vault_name: str) -> dict[str, Any]:
    """The ``OperationLog`` shape of one backup, restore or delete task."""
    entities = op.entities or {}
    task_type = TASK_TYPES[op.job_type]
    started = op.begin_time or op.created_at
    extra: dict[str, Any] = {
        'common': {'progress': 100 if op.status == 'SUCCESS' else op.progress,
                   'request_id': 'req-%s' % op.id, 'task_id': op.id},
        'resource': {'id': op.resource_id or op.vault_id or '',
                     'name': entities.get('resource_name') or entities.get('vault_name', ''),
                     'type': entities.get('resource_type', 'OS::CBR::Vault')},
    }
    backup_ref = {'backup_id': entities.get('backup_id', ''),
                  'backup_name': entities.get('backup_name', '')}
    if task_type == 'backup':
        extra['backup'] = {**backup_ref,
                           'incremental': str(bool(entities.get('incremental'))).lower(),
                           'app_consistency_status': '0', 'app_consistency_error_code': '',
                           'app_consistency_error_message': ''}
    elif task_type == 'delete':
        extra['delete'] = backup_ref
    elif task_type == 'restore':
        targets = entities.get('target_ids') or []
        extra['restore'] = {**backup_ref,
                            'target_resource_id': entities.get('server_id') or ','.join(targets),
                            'target_resource_name': ''}
    elif task_type == 'vault_delete':
        extra['vault_delete'] = {'fail_count': entities.get('fail_count', 0),
                                 'total_count': entities.get('total_count', 0)}
    elif task_type == 'update_expiration_time':
        extra['update_expiration_time'] = {
            'affected_backups_count': entities.get('affected_backups_count', 0),
            'expiration_day': entities.get('expiration_day', '')}
    return {
        'checkpoint_id': entities.get('checkpoint_id') or '',
        'created_at': timefmt.zulu(op.created_at), 'ended_at': timefmt.zulu(op.end_time),
        'error_info': {'code': op.error_code or '', 'message': op.fail_reason or ''},
        'extra_info': extra, 'id': op.id, 'operation_type': task_type,
        'policy_id': entities.get('policy_id') or '', 'project_id': op.project_id,
        'provider_id': PROVIDER_IDS.get(_task_resource_type(op), ''),
        'started_at': timefmt.zulu(started), 'status': TASK_STATES[op.status],
        'updated_at': timefmt.zulu(op.end_time or started), 'vault_id': op.vault_id or '',
        'vault_name': vault_name,
    }


def _task_resource_type(op: models.Operation) -> str:
    return (op.entities or {}).get('resource_type', '')


def summary(total_size: int, used_bytes: int) -> dict[str, int]:
    """``GET /vaults/summary``: capacity and use of all the project's vaults, in GB."""
    return {'size': total_size, 'used_size': round(used_bytes / GIB)}


def member(m: models.BackupMember) -> dict[str, Any]:
    """The ``Member`` shape of one share of a backup."""
    return {'status': m.status, 'created_at': timefmt.evs(m.created_at),
            'updated_at': timefmt.evs(m.updated_at), 'backup_id': m.backup_id, 'image_id': '',
            'dest_project_id': m.dest_project_id, 'vault_id': m.vault_id or '', 'id': m.id}
