"""VBS v2 backup policy tags (``/v2/{project_id}/backuppolicy/…tags``): add, remove, batch
create/update/delete, a policy's tags, the project's tags, and the search of policies by
tags (``resource_instances``).

Tags follow the CBR vault tag rules and search language (:mod:`cbr_common.backups.vault_tags`,
the request models of :mod:`cbr_api.cbr_v3.tags`): at most 10 per policy, unique keys
(P16).  Backups have no tags in the simulator, so the policy's tags are not copied to the
backups it makes (docs/vbs-policies.md).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Literal

from flask import Blueprint, Response, jsonify

from cbr_api.cbr_v3.tags import CreateTagBody, CreateTags, DeleteTags, InstancesQuery
from cbr_api.intent import intent
from cbr_api.validation import json_body, parse, parse_body
from cbr_api.vbs_v2 import policies as api
from cbr_api.vbs_v2 import policy_views as views
from cbr_common.backups import vault_tags
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.policies import bindings, store
from cbr_common.naming import Tag
from cbr_common.vbs import policies, policy_codes
from cbr_common.policies.schema import Body

blueprint = Blueprint('vbs_policy_tags', __name__, url_prefix='/v2/<project_id>/backuppolicy')
api.install(blueprint)


class BatchAction(Body):
    """What ``POST /backuppolicy/{policy_id}/tags/action`` does with its ``tags``."""

    action: Literal['create', 'update', 'delete']


@blueprint.get('/tags')
def list_project_tags(project_id: str):
    with read_scope() as session:
        body = {'tags': vault_tags.project_tags(store.listing(session, project_id,
                                                              family='vbs'))}
    return jsonify(body)


@blueprint.get('/<policy_id>/tags')
def list_policy_tags(project_id: str, policy_id: str):
    with read_scope() as session:
        body = {'tags': views.tag_list(policies.get(session, project_id, policy_id))}
    return jsonify(body)


def _changed(project_id: str, policy_id: str,
             change: Callable[[models.Policy], None]) -> Response:
    """Apply ``change`` to the policy in one transaction; 204."""
    with intent() as it:
        change(policies.get(it.session, project_id, policy_id, lock=True))
    return Response(status=204)


def _adder(tags: Sequence[Tag], field: str) -> Callable[[models.Policy], None]:
    """A change adding ``tags`` (new values for keys the policy has); at most 10 in all."""
    pairs = [(tag.key, tag.value) for tag in tags]
    return lambda policy: vault_tags.put(policy, pairs, field=field,
                                         code=policy_codes.TAG_LIMIT)


@blueprint.post('/<policy_id>/tags')
def create_policy_tag(project_id: str, policy_id: str):
    return _changed(project_id, policy_id, _adder([parse_body(CreateTagBody).tag], 'tag'))


@blueprint.post('/<policy_id>/tags/action')
def batch_policy_tags(project_id: str, policy_id: str):
    if parse_body(BatchAction).action == 'delete':
        return _changed(project_id, policy_id, parse(DeleteTags, json_body()).apply)
    return _changed(project_id, policy_id, _adder(parse(CreateTags, json_body()).tags, 'tags'))


@blueprint.delete('/<policy_id>/tags/<key>')
def delete_policy_tag(project_id: str, policy_id: str, key: str):
    return _changed(project_id, policy_id, lambda policy: vault_tags.delete_key(
        policy, key, code=policy_codes.TAG_NOT_FOUND))


@blueprint.post('/resource_instances/action')
def search_policies(project_id: str):
    spec = parse_body(InstancesQuery)
    conditions = dataclasses.replace(spec.instance_filter(), object_type=None, cloud_type=None)
    with read_scope() as session:
        found = vault_tags.search(store.listing(session, project_id, family='vbs'), conditions)
        body: dict = {'total_count': len(found)}
        if spec.action == 'filter':
            page = found[spec.offset:spec.offset + spec.limit]
            bound = bindings.bound_to(session, [row.id for row in page])
            body['resources'] = [{'resource_id': row.id, 'resource_name': row.name,
                                  'resource_detail': views.policy(row, len(bound[row.id])),
                                  'tags': views.tag_list(row)} for row in page]
    return jsonify(body)
