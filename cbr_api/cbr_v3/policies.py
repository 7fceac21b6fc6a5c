"""CBR v3 backup policies: create, list, show, update, delete (rules P1–P6, P13)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from cbr_api import errors
from cbr_api.cbr_v3 import views
from cbr_api.intent import intent
from cbr_api.validation import parse_body
from cbr_common.db.engine import read_scope
from cbr_common.errors import InvalidInput
from cbr_common.policies import store
from cbr_common.policies.schema import (OperationDefinition, PolicyCreateBody,
                                        PolicyUpdateBody, destination_problem)

blueprint = Blueprint('cbr_policies', __name__, url_prefix='/v3/<project_id>')
errors.use_style(blueprint, 'cbr')


def _definition(definition: OperationDefinition) -> dict:
    return definition.model_dump(exclude_none=True)


def _shown(session, policy) -> dict:
    return {'policy': views.policy(policy, store.vaults_of(session, [policy.id])[policy.id])}


@blueprint.post('/policies')
def create_policy(project_id: str):
    spec = parse_body(PolicyCreateBody).policy
    with intent() as it:
        policy = store.create(it.session, project_id, name=spec.name, enabled=spec.enabled,
                              operation_type=spec.operation_type,
                              operation_definition=_definition(spec.operation_definition),
                              patterns=spec.trigger.properties.pattern,
                              start_window_minutes=spec.trigger.properties.start_window_minutes)
        it.session.flush()
        body = _shown(it.session, policy)
    return jsonify(body)


@blueprint.get('/policies')
def list_policies(project_id: str):
    operation_type = request.args.get('operation_type') or None
    if operation_type not in (None, 'backup', 'replication'):
        raise InvalidInput('operation_type must be backup or replication',
                           field='operation_type')
    with read_scope() as session:
        rows = store.listing(session, project_id, operation_type=operation_type,
                             vault_id=request.args.get('vault_id') or None)
        applied = store.vaults_of(session, [p.id for p in rows])
        body = {'policies': [views.policy(p, applied[p.id]) for p in rows],
                'count': len(rows)}
    return jsonify(body)


@blueprint.get('/policies/<policy_id>')
def show_policy(project_id: str, policy_id: str):
    with read_scope() as session:
        return jsonify(_shown(session, store.get(session, project_id, policy_id)))


@blueprint.put('/policies/<policy_id>')
def update_policy(project_id: str, policy_id: str):
    spec = parse_body(PolicyUpdateBody).policy
    with intent() as it:
        policy = store.get(it.session, project_id, policy_id, lock=True)
        changes: dict = {}
        if spec.name is not None:
            changes['name'] = spec.name
        if spec.enabled is not None:
            changes['enabled'] = spec.enabled
        if spec.operation_definition is not None:
            problem = destination_problem(spec.operation_definition, policy.operation_type)
            if problem:
                raise InvalidInput(problem[1], field='policy.operation_definition.%s'
                                   % problem[0])
            changes['operation_definition'] = _definition(spec.operation_definition)
        if spec.trigger is not None:
            changes['patterns'] = spec.trigger.properties.pattern
            changes['start_window_minutes'] = spec.trigger.properties.start_window_minutes
        it.publish_all(store.update_policy(it.session, policy, changes))
        it.session.flush()
        body = _shown(it.session, policy)
    return jsonify(body)


@blueprint.delete('/policies/<policy_id>')
def delete_policy(project_id: str, policy_id: str):
    with intent() as it:
        store.delete(it.session, store.get(it.session, project_id, policy_id, lock=True))
    return Response(status=204)
