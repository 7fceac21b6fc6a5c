"""CSBS v1 capability checks (#13, #14) and restores (#15, and Karbor's restore list/show)."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_api import errors
from cbr_api.csbs_v1 import backup_schemas, item_views, task_views
from cbr_api.intent import intent
from cbr_api.validation import parse_body, query_page
from cbr_common.csbs import checks, codes, items, restores
from cbr_common.csbs.codes import CsbsError
from cbr_common.db import models
from cbr_common.db.engine import read_scope

blueprint = Blueprint('csbs_restores', __name__, url_prefix='/v1/<project_id>')
errors.use_style(blueprint, 'csbs')


def _restorable(session: Session, project_id: str,
                ref: backup_schemas.RestorableRef) -> CsbsError | None:
    try:
        item = items.get(session, project_id, ref.checkpoint_item_id)
    except CsbsError as refusal:
        return refusal
    return checks.restore_refusal(session, project_id, checks.RestoreRequest(
        item=item, server_id=ref.target.resource_id,
        volumes=backup_schemas.mapping(ref.target.volumes), field='target'))


@blueprint.post('/providers/<provider_id>/resources/action')
def check_resources(project_id: str, provider_id: str):
    """``check_protectable`` or ``check_restorable``: one result per resource."""
    checks.require_provider(provider_id)
    body = parse_body(backup_schemas.ResourceActionBody)
    with read_scope() as session:
        if body.check_protectable is not None:
            return jsonify({'protectable': [item_views.check_result(
                ref.resource_id, ref.resource_type, checks.protect_refusal(
                    session, project_id, ref.resource_id, ref.resource_type))
                for ref in body.check_protectable]})
        return jsonify({'restorable': [item_views.check_result(
            ref.target.resource_id, ref.target.resource_type,
            _restorable(session, project_id, ref)) for ref in body.check_restorable or []]})


@blueprint.post('/restores')
def create_restore(project_id: str):
    spec = parse_body(backup_schemas.RestoreBody).restore
    parameters = spec.parameters
    request = restores.RestoreSpec(
        provider_id=spec.provider_id, checkpoint_id=spec.checkpoint_id,
        item_id=parameters.checkpoint_item_id, server_id=parameters.targets.server_id,
        volumes=backup_schemas.mapping(parameters.targets.volumes),
        power_on=parameters.power_on, restore_target=spec.restore_target)
    with intent() as it:
        operation = it.publish(restores.request_restore(it.session, project_id, request))
        body = {'restore': task_views.restore(operation)}
    return jsonify(body)


def _of_project(project_id: str) -> list:
    """The project's restore jobs on its CSBS backups (a VBS restore of one of their disk
    backups is one too, but it is not a CSBS restore: :func:`_is_csbs` tells)."""
    return [models.Operation.project_id == project_id,
            models.Operation.vault_id.in_(items.vaults(project_id)),
            models.Operation.job_type == 'restoreBackup']


def _is_csbs(operation: models.Operation) -> bool:
    return restores.PARAMETERS in (operation.entities or {})


@blueprint.get('/restores')
def list_restores(project_id: str):
    limit, offset = query_page()
    with read_scope() as session:
        rows = session.execute(select(models.Operation).where(*_of_project(project_id))
                               .order_by(models.Operation.created_at.desc(),
                                         models.Operation.id)).scalars()
        chosen = [op for op in rows if _is_csbs(op)][offset:offset + limit]
        body = {'restores': [task_views.restore(op) for op in chosen]}
    return jsonify(body)


def job(session: Session, conditions: list, job_id: str, what: str,
        shown: Callable[[models.Operation], bool] = bool) -> models.Operation:
    """The job among ``conditions`` whose id (dashed or not) is ``job_id`` and that
    ``shown`` accepts, else CSBS.6040."""
    operation = session.execute(select(models.Operation).where(
        *conditions, models.Operation.id == job_id.replace('-', ''))).scalar_one_or_none()
    if operation is None or not shown(operation):
        raise CsbsError(codes.TASK_NOT_FOUND, '%s %s is not found' % (what, job_id),
                        field='%s_id' % what)
    return operation


@blueprint.get('/restores/<restore_id>')
def show_restore(project_id: str, restore_id: str):
    with read_scope() as session:
        operation = job(session, _of_project(project_id), restore_id, 'restore', _is_csbs)
        return jsonify({'restore': task_views.restore(operation)})
