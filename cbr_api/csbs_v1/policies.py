"""CSBS v1 backup policies: create, list, show, update, delete, and run one now.

Rules P1–P6, P13 (CSBS variants), C1, C7, P15; the domain is :mod:`cbr_common.csbs.policies`.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from cbr_api import errors
from cbr_api.csbs_v1 import policy_views as views
from cbr_api.intent import intent
from cbr_api.validation import parse_body, query_page
from cbr_common.csbs import PROVIDER_ID, policies
from cbr_common.csbs import policy_schema as schema
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.errors import InvalidInput, NotFound
from cbr_common.policies import bindings, store

blueprint = Blueprint('csbs_policies', __name__, url_prefix='/v1/<project_id>')
errors.use_style(blueprint, 'csbs')


def _shown(session, policy: models.Policy) -> dict:
    return {'policy': views.policy(policy, bindings.bound_to(session, [policy.id])[policy.id])}


@blueprint.post('/policies')
def create_policy(project_id: str):
    spec = parse_body(schema.PolicyCreateBody).policy
    with intent() as it:
        policy = policies.create(it.session, project_id, spec)
        it.session.flush()
        body = _shown(it.session, policy)
    return jsonify(body)


@blueprint.get('/policies')
def list_policies(project_id: str):
    limit, offset = query_page()
    with read_scope() as session:
        rows = store.listing(session, project_id, family='csbs')
        if request.args.get('name'):
            rows = [row for row in rows if row.name == request.args['name']]
        marker = request.args.get('marker')
        if marker:
            ids = [row.id for row in rows]
            if marker not in ids:
                raise InvalidInput('marker %s is not a policy of this list' % marker,
                                   field='marker')
            rows = rows[ids.index(marker) + 1:]
        rows = rows[offset:offset + limit]
        bound = bindings.bound_to(session, [row.id for row in rows])
        return jsonify({'policies': [views.policy(row, bound[row.id]) for row in rows]})


@blueprint.get('/policies/<policy_id>')
def show_policy(project_id: str, policy_id: str):
    with read_scope() as session:
        return jsonify(_shown(session, policies.get(session, project_id, policy_id)))


@blueprint.put('/policies/<policy_id>')
def update_policy(project_id: str, policy_id: str):
    spec = parse_body(schema.PolicyUpdateBody).policy
    with intent() as it:
        policy = policies.get(it.session, project_id, policy_id, lock=True)
        it.publish_all(policies.update(it.session, policy, spec))
        it.session.flush()
        body = _shown(it.session, policy)
    return jsonify(body)


@blueprint.delete('/policies/<policy_id>')
def delete_policy(project_id: str, policy_id: str):
    with intent() as it:
        policies.delete(it.session, policies.get(it.session, project_id, policy_id, lock=True))
    return jsonify({})


@blueprint.post('/providers/<provider_id>/checkpoints')
def execute_policy(project_id: str, provider_id: str):
    if provider_id != PROVIDER_ID:
        raise NotFound('provider %s does not exist' % provider_id, field='provider_id')
    spec = parse_body(schema.ExecuteBody).checkpoint
    with intent() as it:
        checkpoint, operations = policies.execute(it.session, project_id, spec)
        it.publish_all(operations)
        policy = policies.get(it.session, project_id, spec.plan_id)
        it.session.flush()
        body = {'checkpoint': views.manual_run(
            checkpoint, policy, bindings.bound_to(it.session, [policy.id])[policy.id])}
    return jsonify(body)
