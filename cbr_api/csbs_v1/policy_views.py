"""JSON shapes of CSBS v1 policies and of a policy's manual run (``checkpoint_resp``)."""
from __future__ import annotations

from typing import Any

from cbr_api import timefmt
from cbr_common.backups import SERVER
from cbr_common.csbs import PROVIDER_ID
from cbr_common.db import models

CREATE_FORMAT = '%Y-%m-%d %H:%M:%S'


def _text(value: Any) -> str:
    """Retention values come back as strings: ``"20"``, ``"-1"``, ``"False"``."""
    return str(value)


def _definition(policy: models.Policy) -> dict[str, str]:
    rule = dict(policy.operation_definition or {})
    shown = {'max_backups': _text(rule.pop('max_backups', -1)),
             'retention_duration_days': _text(rule.pop('retention_duration_days', -1)),
             'permanent': _text(bool(rule.pop('permanent', False))),
             'plan_id': policy.id, 'provider_id': PROVIDER_ID}
    shown.update({name: _text(value) for name, value in rule.items()})
    return shown


def resource(resource_row: models.VaultResource) -> dict[str, Any]:
    """One server of a policy."""
    return {'id': resource_row.resource_id, 'type': SERVER, 'name': resource_row.name,
            'extra_info': {}}


def policy(row: models.Policy, resources: list[models.VaultResource]) -> dict[str, Any]:
    """The ``policy_resp`` shape."""
    fields = row.family_fields or {}
    return {
        'id': row.id, 'name': row.name, 'description': row.description,
        'created_at': timefmt.evs(row.created_at), 'project_id': row.project_id,
        'provider_id': PROVIDER_ID, 'parameters': fields.get('parameters', {'common': {}}),
        'resources': [resource(each) for each in resources],
        'scheduled_operations': [{
            'id': fields.get('operation_id'), 'name': fields.get('operation_name', ''),
            'description': fields.get('operation_description', ''), 'enabled': row.enabled,
            'operation_type': 'backup', 'operation_definition': _definition(row),
            'trigger_id': row.trigger_id,
            'trigger': {'id': row.trigger_id, 'name': 'default', 'type': 'time',
                        'properties': {'pattern': fields.get('pattern', ''), 'format': 'ical',
                                       'start_time': row.created_at.strftime(CREATE_FORMAT)}},
        }],
        'status': 'enabled' if row.enabled else 'disabled',
        'tags': list(row.tags or []),
    }


def manual_run(checkpoint: models.Checkpoint, row: models.Policy,
               resources: list[models.VaultResource]) -> dict[str, Any]:
    """The ``checkpoint_resp`` shape of a policy's manual run."""
    return {
        'id': checkpoint.id, 'status': 'protecting', 'project_id': checkpoint.project_id,
        'created_at': timefmt.evs(checkpoint.created_at), 'resource_graph': None,
        'protection_plan': {'id': row.id, 'name': row.name,
                            'resources': [resource(each) for each in resources]},
        'extra_info': {'created_by': 'manual'},
    }
