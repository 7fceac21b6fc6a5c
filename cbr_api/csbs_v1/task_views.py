"""JSON shapes of CSBS v1 restores and operation logs (Karbor's), from the core's jobs.

A restore is a ``restoreBackup`` job: ``in_progress`` while it waits or runs, then
``success`` or ``failed`` (the OTC example shows ``in_progress``, Karbor ends in
``success``/``failed``); its server's entry in ``resources_status`` is ``restoring``,
then ``available`` or ``error``.  An operation log is a ``backupServer`` (``protect``),
``restoreBackup`` (``restore``) or ``deleteBackup`` (``delete``) job; its status is the
one its backup, restore or deletion shows at that point (:data:`STATUSES`).
"""
from __future__ import annotations

from typing import Any

from cbr_api import timefmt
from cbr_api.csbs_v1.item_views import task_id
from cbr_common.backups import SERVER
from cbr_common.csbs import PROVIDER_ID
from cbr_common.csbs.restores import PARAMETERS
from cbr_common.db import models

OPERATION_TYPES = {'backupServer': 'protect', 'restoreBackup': 'restore',
                   'deleteBackup': 'delete'}
RESTORE_STATES = {'INIT': 'in_progress', 'RUNNING': 'in_progress', 'SUCCESS': 'success',
                  'FAIL': 'failed'}
STATUSES = {
    'protect': {'INIT': 'protecting', 'RUNNING': 'protecting', 'SUCCESS': 'available',
                'FAIL': 'error', 'SKIPPED': 'error'},  # a policy run skips a busy server
    'restore': RESTORE_STATES,
    'delete': {'INIT': 'deleting', 'RUNNING': 'deleting', 'SUCCESS': 'deleted',
               'FAIL': 'error'},
}
_SERVER_STATES = {'INIT': 'restoring', 'RUNNING': 'restoring', 'SUCCESS': 'available',
                  'FAIL': 'error'}


def restore(op: models.Operation) -> dict[str, Any]:
    """The ``restore`` shape of a restore job."""
    entities = op.entities or {}
    parameters = dict(entities[PARAMETERS])
    restore_target = parameters.pop('restore_target', None)
    server = '%s#%s' % (SERVER, parameters['targets']['server_id'])
    return {
        'id': task_id(op.id), 'project_id': op.project_id, 'provider_id': PROVIDER_ID,
        'checkpoint_id': entities.get('checkpoint_id') or '', 'parameters': parameters,
        'restore_target': restore_target, 'status': RESTORE_STATES[op.status],
        'resources_status': {server: _SERVER_STATES[op.status]},
        'resources_reason': {server: op.fail_reason} if op.status == 'FAIL' else {},
    }


def operation_log(op: models.Operation) -> dict[str, Any]:
    """The Karbor ``operation_log`` shape of a backup, restore or deletion job."""
    entities = op.entities or {}
    kind = OPERATION_TYPES[op.job_type]
    return {
        'id': task_id(op.id), 'project_id': op.project_id, 'operation_type': kind,
        'checkpoint_id': entities.get('checkpoint_id'), 'plan_id': entities.get('policy_id'),
        'provider_id': PROVIDER_ID, 'restore_id': task_id(op.id) if kind == 'restore' else None,
        'scheduled_operation_id': None, 'status': STATUSES[kind][op.status],
        'started_at': timefmt.evs(op.begin_time or op.created_at),
        'ended_at': timefmt.evs(op.end_time), 'error_info': op.fail_reason,
        'extra_info': {'checkpoint_item_id': entities.get('backup_id'),
                       'resource_id': op.resource_id,
                       'resource_name': entities.get('resource_name'),
                       'error_code': op.error_code},
    }
