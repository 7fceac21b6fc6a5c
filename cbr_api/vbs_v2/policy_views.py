"""Response bodies of the VBS v2 backup policy APIs: policies, the disks an associate or
disassociate request did or did not bind, and a policy's backup tasks."""
from __future__ import annotations

from typing import Any

from cbr_api import tag_routes, timefmt
from cbr_common.db import models
from cbr_common.policies.bindings import Outcome
from cbr_common.vbs import policies


def policy(row: models.Policy, resource_count: int) -> dict[str, Any]:
    """A ``backup_policies[]`` entry: the schedule as given, with the current status."""
    scheduled = policies.stored_schedule(row)
    scheduled['status'] = 'ON' if row.enabled else 'OFF'
    body: dict[str, Any] = {'backup_policy_id': row.id, 'backup_policy_name': row.name,
                            'scheduled_policy': scheduled,
                            'policy_resource_count': resource_count,
                            'tags': tag_routes.tag_list(row)}
    time_zone = (row.family_fields or {}).get('time_zone')
    if time_zone:
        body['time_zone'] = time_zone
    return body


def _disk(resource_id: str, volume: models.Volume | None) -> dict[str, Any]:
    zone = volume.availability_zone if volume is not None else ''
    return {'resource_id': resource_id, 'resource_type': 'volume', 'availability_zone': zone,
            'os_vol_host_attr': 'pod01.%s' % zone if zone else ''}


def outcome(result: Outcome, volumes: dict[str, models.Volume]) -> dict[str, list[dict]]:
    """``success_resources`` and ``fail_resources`` (each with its ``code`` and
    ``message``: otcextensions takes an entry with a code for a failure)."""
    return {'success_resources': [_disk(resource_id, volumes.get(resource_id))
                                  for resource_id in result.done],
            'fail_resources': [{**_disk(resource_id, volumes.get(resource_id)),
                                'code': code, 'message': message}
                               for resource_id, code, message in result.refused]}


def task(operation: models.Operation) -> dict[str, Any]:
    """A ``tasks[]`` entry: one disk's backup job of a policy run."""
    entities = operation.entities or {}
    return {'job_id': operation.id, 'status': policies.task_status(operation),
            'created_at': timefmt.milliseconds(operation.created_at),
            'finished_at': timefmt.milliseconds(operation.end_time),
            'backup_name': entities.get('backup_name', ''),
            'resource_id': operation.resource_id or '', 'resource_type': 'volume',
            'vbs_job_id': operation.id}
