"""CBR v3 vault tags (rule V13): a vault's tags, the project's tags, and the search of
vaults by tags. The paths say ``/vault/`` (singular), as the SDK calls them.

Field limits are the reference's (``../shared/reference/cbr-v3-api.md``, B2): tags to add
are :class:`cbr_common.naming.Tag`; tags to delete skip the character check; search
conditions allow longer keys and values. ``sys_tags`` belong to the ``op_service`` role,
which no caller of the simulator has, so a request that gives them is refused (403).
"""
from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, Response, jsonify
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cbr_api import errors
from cbr_api.cbr_v3 import views
from cbr_api.intent import intent
from cbr_api.validation import json_body, parse, parse_body
from cbr_common.backups import families, vault_stats, vault_tags, vaults
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.errors import Forbidden
from cbr_common.naming import Tag, rule_error, unique_keys

blueprint = Blueprint('cbr_vault_tags', __name__, url_prefix='/v3/<project_id>')
errors.use_style(blueprint, 'cbr')

MAX_PAGE = 1000


def _stripped(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise rule_error('values must be distinct')
    return values


def _not_bare_fuzzy(value: str) -> str:
    if value == vault_tags.FUZZY:
        raise rule_error('"*" alone is not a value; "*text" matches values containing text')
    return value


DeletedKey = Annotated[str, _stripped(1, 36)]
DeletedValue = Annotated[str, _stripped(0, 43)]
SearchKey = Annotated[str, _stripped(1, 127)]
SearchValue = Annotated[str, _stripped(0, 255), AfterValidator(_not_bare_fuzzy)]


class _Body(BaseModel):
    model_config = ConfigDict(extra='ignore')


class SysTag(_Body):
    """A system tag (``sys_tags``), which only the op_service role may give."""

    key: str
    value: str


class SysTags(_Body):
    """A system tag search condition (``sys_tags``), for the op_service role only."""

    key: str
    values: list[str]


class CreateTagBody(_Body):
    """``POST /vault/{vault_id}/tags``: one tag to add or change."""

    tag: Tag


class BatchAction(_Body):
    """What ``POST /vault/{vault_id}/tags/action`` does; its ``tags`` are parsed by action."""

    action: Literal['create', 'delete']
    sys_tags: Annotated[list[SysTag], Field(min_length=1)] | None = None


class CreateTags(_Body):
    """``tags`` to add: unique keys, at most 10 (V13)."""

    tags: Annotated[list[Tag], Field(min_length=1, max_length=vault_tags.MAX_TAGS),
                    AfterValidator(unique_keys)]

    def apply(self, vault: models.Vault) -> None:
        vault_tags.put(vault, [(tag.key, tag.value) for tag in self.tags], field='tags')


class DeletedTag(_Body):
    """A tag to delete: its key, and its value when only that value should go."""

    key: DeletedKey
    value: DeletedValue | None = None


class DeleteTags(_Body):
    """``tags`` to delete; a key may repeat, with different values."""

    tags: Annotated[list[DeletedTag], Field(min_length=1, max_length=vault_tags.MAX_TAGS)]

    def apply(self, vault: models.Vault) -> None:
        vault_tags.remove(vault, [(tag.key, tag.value) for tag in self.tags])


class TagsReq(_Body):
    """A search condition: ``key`` with one of ``values`` (any value when empty)."""

    key: SearchKey
    values: Annotated[list[SearchValue], Field(max_length=10), AfterValidator(_distinct)]

    def condition(self) -> vault_tags.TagCondition:
        return vault_tags.TagCondition(self.key, tuple(self.values))


Conditions = Annotated[list[TagsReq], Field(min_length=1, max_length=vault_tags.MAX_TAGS),
                       AfterValidator(unique_keys)]


class Match(_Body):
    """A ``matches`` entry: the ``resource_name`` a search must match."""

    key: Literal['resource_name']
    value: Annotated[str, Field(max_length=255)]


class InstancesQuery(_Body):
    """``POST /vault/resource_instances/action``; ``limit`` and ``offset`` may be strings."""

    action: Literal['filter', 'count']
    tags: Conditions | None = None
    tags_any: Conditions | None = None
    not_tags: Conditions | None = None
    not_tags_any: Conditions | None = None
    without_any_tag: bool = False
    sys_tags: Annotated[list[SysTags], Field(min_length=1)] | None = None
    matches: Annotated[list[Match], Field(max_length=1)] | None = None
    object_type: Literal['server', 'disk', 'turbo'] | None = None
    cloud_type: Literal['public', 'hybrid'] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = MAX_PAGE
    offset: Annotated[int, Field(ge=0)] = 0

    def instance_filter(self) -> vault_tags.InstanceFilter:
        def conditions(given: list[TagsReq] | None) -> tuple[vault_tags.TagCondition, ...]:
            return tuple(each.condition() for each in given or ())
        return vault_tags.InstanceFilter(
            tags=conditions(self.tags), tags_any=conditions(self.tags_any),
            not_tags=conditions(self.not_tags), not_tags_any=conditions(self.not_tags_any),
            without_any_tag=self.without_any_tag,
            name_match=self.matches[0].value if self.matches else None,
            object_type=self.object_type, cloud_type=self.cloud_type)


def _refuse_sys_tags(sys_tags: list | None) -> None:
    if sys_tags:
        raise Forbidden('sys_tags are for the op_service role only', field='sys_tags')


def _project_vaults(session: Session, project_id: str, *options) -> list[models.Vault]:
    """The project's vaults, newest first (the order of ``GET /vaults``)."""
    return list(session.execute(
        select(models.Vault).where(families.vaults_of(project_id)).options(*options)
        .order_by(models.Vault.created_at.desc(), models.Vault.id)).scalars())


def _load_resources(session: Session, rows: list[models.Vault]) -> None:
    """Load the resources of ``rows`` (already in the session) in one query."""
    session.execute(select(models.Vault).where(models.Vault.id.in_([v.id for v in rows]))
                    .options(selectinload(models.Vault.resources))).all()


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{'key': key, 'value': value} for key, value in tags.items()]


def _tag_resources(session: Session, rows: list[models.Vault]) -> list[dict]:
    """``TagResource`` bodies: each vault with its tags and its ``Vault`` shape."""
    facts = vault_stats.facts(session, rows)
    return [{'resource_id': v.id, 'resource_name': v.name,
             'resource_detail': {'vault': views.vault(v, facts[v.id])},
             'tags': _tag_list(vault_tags.tags_of(v)), 'sys_tags': []} for v in rows]


@blueprint.get('/vault/tags')
def show_vault_project_tag(project_id: str):
    with read_scope() as session:
        body = {'tags': vault_tags.project_tags(_project_vaults(session, project_id))}
    return jsonify(body)


@blueprint.get('/vault/<vault_id>/tags')
def show_vault_tag(project_id: str, vault_id: str):
    with read_scope() as session:
        vault = vaults.get(session, project_id, vault_id)
        body = {'tags': _tag_list(vault_tags.tags_of(vault)), 'sys_tags': []}
    return jsonify(body)


@blueprint.post('/vault/<vault_id>/tags')
def create_vault_tags(project_id: str, vault_id: str):
    tag = parse_body(CreateTagBody).tag
    with intent() as it:
        vault = vaults.get(it.session, project_id, vault_id, lock=True)
        vault_tags.put(vault, [(tag.key, tag.value)], field='tag')
    return Response(status=204)


@blueprint.post('/vault/<vault_id>/tags/action')
def batch_create_and_delete_vault_tags(project_id: str, vault_id: str):
    spec = parse_body(BatchAction)
    _refuse_sys_tags(spec.sys_tags)
    change = parse(CreateTags if spec.action == 'create' else DeleteTags, json_body())
    with intent() as it:
        change.apply(vaults.get(it.session, project_id, vault_id, lock=True))
    return Response(status=204)


@blueprint.delete('/vault/<vault_id>/tags/<key>')
def delete_vault_tag(project_id: str, vault_id: str, key: str):
    with intent() as it:
        vault = vaults.get(it.session, project_id, vault_id, lock=True)
        vault_tags.delete_key(vault, key)
    return Response(status=204)


@blueprint.post('/vault/resource_instances/action')
def show_vault_resource_instances(project_id: str):
    spec = parse_body(InstancesQuery)
    _refuse_sys_tags(spec.sys_tags)
    with read_scope() as session:
        found = vault_tags.search(_project_vaults(session, project_id), spec.instance_filter())
        body: dict = {'total_count': len(found)}
        if spec.action == 'filter':
            page = found[spec.offset:spec.offset + spec.limit]
            _load_resources(session, page)
            body['resources'] = _tag_resources(session, page)
    return jsonify(body)
