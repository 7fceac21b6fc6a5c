"""The tag operations the older APIs share, installed on a blueprint per tagged kind.

VBS policies (``/v2/{project_id}/backuppolicy``), CSBS policies
(``/v1/{project_id}/csbs_backup_policy``) and CSBS backups (``/v1/{project_id}/csbs_backup``)
offer the same six calls under their prefix: add a tag, batch add/remove, remove one key,
one row's tags, the project's tags and the ``resource_instances`` search.  Tags follow the
CBR vault tag rules and search language (:mod:`cbr_common.backups.vault_tags`, request
models of :mod:`cbr_api.cbr_v3.tags`): at most 10 per row, unique keys.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy.orm import Session

from cbr_api.cbr_v3.tags import CreateTagBody, CreateTags, DeleteTags, InstancesQuery
from cbr_api.intent import intent
from cbr_api.validation import json_body, parse, parse_body
from cbr_common.backups import vault_tags
from cbr_common.db.engine import read_scope
from cbr_common.errors import InvalidInput
from cbr_common.naming import Tag
from cbr_common.policies.schema import Body


class BatchAction(Body):
    """What ``POST …/{id}/tags/action`` does with its ``tags``."""

    action: str


@dataclass(frozen=True)
class TaggedKind:
    """How one API finds its tagged rows and shows them, and its tag error codes."""

    get: Callable[[Session, str, str, bool], vault_tags.Tagged]  # session, project, id, lock
    listing: Callable[[Session, str], Sequence[vault_tags.Tagged]]  # session, project
    detail: Callable[[Session, Sequence[vault_tags.Tagged]], list[dict[str, Any]]]
    limit_code: str
    not_found_code: str
    batch_actions: tuple[str, ...] = ('create', 'delete')


def tag_list(row: vault_tags.Tagged) -> list[dict[str, str]]:
    """A row's tags as ``[{"key", "value"}]``."""
    return [{'key': key, 'value': value} for key, value in vault_tags.tags_of(row).items()]


def install(blueprint: Blueprint, kind: TaggedKind) -> None:
    """Add the six tag routes of ``kind`` to ``blueprint`` (whose prefix ends with the
    kind's collection, e.g. ``…/csbs_backup_policy``)."""

    def changed(project_id: str, row_id: str, change: Callable[[Any], None]) -> Response:
        with intent() as it:
            change(kind.get(it.session, project_id, row_id, True))
        return Response(status=204)

    def adder(tags: Sequence[Tag], field: str) -> Callable[[Any], None]:
        pairs = [(tag.key, tag.value) for tag in tags]
        return lambda row: vault_tags.put(row, pairs, field=field, code=kind.limit_code)

    @blueprint.get('/tags')
    def list_project_tags(project_id: str):
        with read_scope() as session:
            body = {'tags': vault_tags.project_tags(kind.listing(session, project_id))}
        return jsonify(body)

    @blueprint.get('/<row_id>/tags')
    def list_tags(project_id: str, row_id: str):
        with read_scope() as session:
            body = {'tags': tag_list(kind.get(session, project_id, row_id, False))}
        return jsonify(body)

    @blueprint.post('/<row_id>/tags')
    def create_tag(project_id: str, row_id: str):
        return changed(project_id, row_id, adder([parse_body(CreateTagBody).tag], 'tag'))

    @blueprint.post('/<row_id>/tags/action')
    def batch_tags(project_id: str, row_id: str):
        action = parse_body(BatchAction).action
        if action not in kind.batch_actions:
            raise InvalidInput('action must be one of %s' % ', '.join(kind.batch_actions),
                               field='action')
        if action == 'delete':
            return changed(project_id, row_id, parse(DeleteTags, json_body()).apply)
        return changed(project_id, row_id, adder(parse(CreateTags, json_body()).tags, 'tags'))

    @blueprint.delete('/<row_id>/tags/<key>')
    def delete_tag(project_id: str, row_id: str, key: str):
        return changed(project_id, row_id, lambda row: vault_tags.delete_key(
            row, key, code=kind.not_found_code))

    @blueprint.post('/resource_instances/action')
    def search(project_id: str):
        spec = parse_body(InstancesQuery)
        conditions = dataclasses.replace(spec.instance_filter(), object_type=None,
                                         cloud_type=None)
        with read_scope() as session:
            found = vault_tags.search(kind.listing(session, project_id), conditions)
            body: dict[str, Any] = {'total_count': len(found)}
            if spec.action == 'filter':
                page = found[spec.offset:spec.offset + spec.limit]
                body['resources'] = [
                    {'resource_id': row.id, 'resource_name': row.name,
                     'resource_detail': detail, 'tags': tag_list(row)}
                    for row, detail in zip(page, kind.detail(session, page))]
        return jsonify(body)
