"""CSBS restores (#15): a server backup onto a server's disks, each disk backup onto the
disk the request maps it to (rules R1, R2, R7, C4).

The restore record is the core's ``restoreBackup`` operation of the CSBS service vault;
the request's parameters ride in its ``entities`` under ``csbs_restore``, so the record
shows them as they were asked even after the backup is deleted.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cbr_common.backups import restores
from cbr_common.backups.families import CSBS
from cbr_common.csbs import checks, codes, items
from cbr_common.csbs.codes import CsbsError
from cbr_common.db import models

PARAMETERS = 'csbs_restore'  # the key of the request's parameters in the job's entities


@dataclass(frozen=True)
class RestoreSpec:
    """``restore`` of ``POST /restores``."""

    provider_id: str
    checkpoint_id: str
    item_id: str
    server_id: str
    volumes: Mapping[str, str]  # disk backup id -> target disk id
    power_on: bool
    restore_target: str | None = None


def request_restore(session: Session, project_id: str, spec: RestoreSpec) -> models.Operation:
    """Check the restore as CSBS does (:mod:`.checks`) and start it: the server is stopped
    while its disks are written and started afterwards when ``power_on`` (rule R1)."""
    checks.require_provider(spec.provider_id, field='restore.provider_id')
    item = items.get(session, project_id, spec.item_id,
                     field='restore.parameters.checkpoint_item_id')
    if item.checkpoint_id != spec.checkpoint_id:
        raise CsbsError(codes.ITEM_NOT_FOUND, 'Checkpoint_item (%s) is not found in checkpoint '
                        '%s.' % (item.id, spec.checkpoint_id), field='restore.checkpoint_id')
    refusal = checks.restore_refusal(session, project_id, checks.RestoreRequest(
        item=item, server_id=spec.server_id, volumes=spec.volumes))
    if refusal is not None:
        raise refusal
    operation = restores.request_server_restore(session, project_id, item.id, spec.server_id,
                                                dict(spec.volumes), power_on=spec.power_on,
                                                family=CSBS)
    operation.entities = {**operation.entities, PARAMETERS: _parameters(spec)}
    return operation


def _parameters(spec: RestoreSpec) -> dict[str, Any]:
    return {'checkpoint_item_id': spec.item_id, 'power_on': spec.power_on,
            'targets': {'server_id': spec.server_id,
                        'volumes': [{'backup_id': backup_id, 'volume_id': volume_id}
                                    for backup_id, volume_id in spec.volumes.items()]},
            'restore_target': spec.restore_target}
