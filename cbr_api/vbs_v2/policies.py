"""VBS v2 backup policies (``/v2/{project_id}/backuppolicy…``): create, list, modify
(enable and disable too), delete, associate and disassociate disks, execute now, and a
policy's backup tasks.

Rules P1–P7, P15, D1, D4; the domain is :mod:`cbr_common.vbs.policies`.  Errors are VBS
bodies with ``AutoBackup`` codes; a bad field gets that field's code
(:mod:`cbr_common.vbs.policy_codes`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel

from cbr_api import errors
from cbr_api.intent import intent
from cbr_api.validation import json_body, parse, query_choice, query_int
from cbr_api.vbs_v2 import policy_views as views
from cbr_common.db.engine import read_scope
from cbr_common.errors import InvalidInput
from cbr_common.policies import bindings, store
from cbr_common.vbs import policies, policy_codes
from cbr_common.vbs import policy_schema as schema

blueprint = Blueprint('vbs_policies', __name__, url_prefix='/v2/<project_id>')
STYLE = 'vbs_policies'
MAX_TASKS = 1000


def install(target: Blueprint) -> None:
    """Give ``target`` the VBS policy error style, field codes, and the default policy of
    the project before its first call (rule P1)."""
    errors.use_style(target, STYLE)

    @target.errorhandler(InvalidInput)
    def _field_code(error: InvalidInput):
        error.code = error.code or policy_codes.for_field(error.field)
        return errors.error_response(error.kind, errors.describe(error), error.status,
                                     error.code)

    @target.before_request
    def _default_policy() -> None:
        policies.ensure_default((request.view_args or {})['project_id'])


install(blueprint)


def body_as(model: type[BaseModel], data: Any = None, prefix: str = '') -> Any:
    """The request body (or ``data``) validated as ``model``."""
    return parse(model, json_body() if data is None else data, prefix=prefix)


@blueprint.post('/backuppolicy')
def create_policy(project_id: str):
    spec: schema.PolicyCreateBody = body_as(schema.PolicyCreateBody)
    with intent() as it:
        policy_id = policies.create(it.session, project_id, spec).id
    return jsonify({'backup_policy_id': policy_id})


@blueprint.get('/backuppolicy')
def list_policies(project_id: str):
    with read_scope() as session:
        rows = store.listing(session, project_id, family='vbs')
        bound = bindings.bound_to(session, [row.id for row in rows])
        body = {'backup_policies': [views.policy(row, len(bound[row.id])) for row in rows]}
    return jsonify(body)


@blueprint.put('/backuppolicy/<policy_id>')
def update_policy(project_id: str, policy_id: str):
    spec: schema.PolicyUpdateBody = body_as(schema.PolicyUpdateBody)
    with intent() as it:
        policy = policies.get(it.session, project_id, policy_id, lock=True)
        schedule = None
        if spec.scheduled_policy is not None:
            schedule = body_as(schema.Schedule, schema.merged(
                policies.stored_schedule(policy), spec.scheduled_policy),
                prefix='scheduled_policy')
        for operation in policies.update(it.session, policy, name=spec.backup_policy_name,
                                         schedule=schedule, time_zone=spec.time_zone):
            it.publish(operation)
    return jsonify({'backup_policy_id': policy_id})


@blueprint.delete('/backuppolicy/<policy_id>')
def delete_policy(project_id: str, policy_id: str):
    with intent() as it:
        policies.delete(it.session, policies.get(it.session, project_id, policy_id, lock=True))
    return Response(status=204)


def _resources_outcome(project_id: str, policy_id: str,
                       refs: Sequence[schema.ResourceRef], bind: bool):
    """Bind or unbind the request's disks; the body naming each success and failure."""
    resources = [(ref.resource_id, ref.resource_type) for ref in refs]
    with intent() as it:
        policy = policies.get(it.session, project_id, policy_id, lock=True,
                              field_name='backup_policy_id' if bind else 'policy_id')
        if bind:
            result = policies.associate(it.session, policy, resources)
        else:
            result = policies.disassociate(it.session, policy, [ref[0] for ref in resources])
        volumes = policies.volumes_of(it.session, project_id, [ref[0] for ref in resources])
        body = views.outcome(result, volumes)
    return jsonify(body)


@blueprint.post('/backuppolicyresources')
def associate_resources(project_id: str):
    spec: schema.AssociateBody = body_as(schema.AssociateBody)
    return _resources_outcome(project_id, spec.backup_policy_id, spec.resources, bind=True)


@blueprint.post('/backuppolicyresources/<policy_id>/deleted_resources')
def disassociate_resources(project_id: str, policy_id: str):
    spec: schema.DisassociateBody = body_as(schema.DisassociateBody)
    return _resources_outcome(project_id, policy_id, spec.resources, bind=False)


@blueprint.post('/backuppolicy/<policy_id>/action')
def execute_policy(project_id: str, policy_id: str):
    with intent() as it:
        policy = policies.get(it.session, project_id, policy_id, lock=True)
        it.publish_all(policies.execute(it.session, policy))
    return Response(status=204)


def _task_query() -> policies.TaskQuery:
    query_choice('sort_key', ('created_at',))
    statuses = (*policies.TASK_STATUSES.values(), policies.TIMED_OUT)
    return policies.TaskQuery(
        status=query_choice('status', statuses), job_id=request.args.get('job_id') or None,
        marker=request.args.get('marker') or None,
        descending=query_choice('sort_dir', ('asc', 'desc'), 'desc') == 'desc',
        limit=query_int('limit', 20, minimum=1, maximum=MAX_TASKS) or 20,
        offset=query_int('offset', 0) or 0)


@blueprint.get('/backuppolicy/<policy_id>/backuptasks')
def list_tasks(project_id: str, policy_id: str):
    query = _task_query()
    with read_scope() as session:
        rows, count = policies.tasks(session, policies.get(session, project_id, policy_id),
                                     query)
        body = {'tasks': [views.task(row) for row in rows], 'count': count}
    return jsonify(body)
