"""CBR v3 vaults: list, create, show, update, delete, summary, resources and policies."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import false, func, select
from sqlalchemy.orm import Session, selectinload

from cbr_api import errors, render_cache
from cbr_api.cbr_v3 import schemas, views
from cbr_api.intent import intent
from cbr_api.validation import parse_body, query_choice, query_page
from cbr_common.backups import (OBJECT_TYPES, families, migration, vault_resources,
                                vault_stats, vaults)
from cbr_common.db import changes, models
from cbr_common.db.engine import read_scope
from cbr_common.policies import store as policies

blueprint = Blueprint('cbr_vaults', __name__, url_prefix='/v3/<project_id>')
errors.use_style(blueprint, 'cbr')

_WITH_RESOURCES = selectinload(models.Vault.resources)


def _render(session: Session, rows: list[models.Vault], **kwargs) -> list[dict]:
    facts = vault_stats.facts(session, rows)
    return [views.vault(v, facts[v.id], **kwargs) for v in rows]


def _shown(session: Session, project_id: str, vault_id: str, **kwargs) -> dict:
    session.expire_all()
    row = vaults.get(session, project_id, vault_id)
    return _render(session, [row], **kwargs)[0]


def _refs(resources: list[schemas.ResourceCreate]) -> list[vault_resources.ResourceRef]:
    return [vault_resources.ResourceRef(
        id=r.id, type=r.type,
        extra_info=r.extra_info.model_dump(exclude_none=True) if r.extra_info else {})
        for r in resources]


def _tags(tags: list | None) -> list[dict[str, str]]:
    return [tag.model_dump() for tag in tags or []]


def _list_query(project_id: str):
    query = select(models.Vault).where(families.vaults_of(project_id))
    args = request.args
    if args.get('name'):
        query = query.where(models.Vault.name == args['name'])
    object_type = query_choice('object_type', OBJECT_TYPES)
    if object_type is not None:
        query = query.where(models.Vault.resource_type == OBJECT_TYPES[object_type])
    if args.get('protect_type') not in (None, '', 'backup'):
        query = query.where(false())
    if args.get('cloud_type') not in (None, '', 'public'):
        query = query.where(false())
    if args.getlist('id'):
        query = query.where(models.Vault.id.in_(args.getlist('id')))
    if args.get('policy_id'):
        query = query.where(models.Vault.policy_id == args['policy_id'])
    if args.get('status'):
        query = query.where(models.Vault.status == args['status'])
    if args.get('resource_ids'):
        wanted = [part for part in args['resource_ids'].split(',') if part]
        query = query.where(models.Vault.id.in_(
            select(models.VaultResource.vault_id)
            .where(models.VaultResource.resource_id.in_(wanted))))
    return query


@blueprint.get('/vaults')
def list_vaults(project_id: str):
    limit, offset = query_page()
    query = _list_query(project_id)

    def render() -> dict:
        with read_scope() as session:
            count = session.execute(select(func.count())
                                    .select_from(query.subquery())).scalar_one()
            rows = list(session.execute(query.options(_WITH_RESOURCES)
                                        .order_by(models.Vault.created_at.desc(),
                                                  models.Vault.id)
                                        .limit(limit).offset(offset)).scalars())
            return {'vaults': _render(session, rows), 'count': count, 'limit': limit,
                    'offset': offset}
    return render_cache.rendered(changes.vaults_scope(project_id), render)


@blueprint.post('/vaults')
def create_vault(project_id: str):
    spec = parse_body(schemas.VaultCreateBody).vault
    settings = vaults.VaultSettings(
        description=spec.description, consistent_level=spec.billing.consistent_level,
        charging_mode=spec.billing.charging_mode, auto_bind=spec.auto_bind,
        auto_expand=spec.auto_expand, smn_notify=spec.smn_notify, threshold=spec.threshold,
        bind_rules=_tags(spec.bind_rules.tags if spec.bind_rules else None),
        tags=_tags(spec.tags))
    resource_type = OBJECT_TYPES[spec.billing.object_type]
    with intent() as it:
        vault = vaults.create(it.session, project_id, name=spec.name,
                              resource_type=resource_type, size=spec.billing.size,
                              settings=settings)
        it.session.flush()
        if spec.resources:
            vault_resources.add(it.session, vault, _refs(spec.resources))
        if spec.backup_policy_id:
            policy = policies.get(it.session, project_id, spec.backup_policy_id,
                                  field_name='vault.backup_policy_id')
            policies.associate(it.session, vault, policy)
        it.session.flush()
        body = {'vault': _shown(it.session, project_id, vault.id, created=True)}
    return jsonify(body)


@blueprint.get('/vaults/summary')
def show_summary(project_id: str):
    with read_scope() as session:
        rows = session.execute(select(models.Vault.id, models.Vault.size)
                               .where(families.vaults_of(project_id))).all()
        used = vaults.used_bytes_of(session, [row.id for row in rows])
    return jsonify(views.summary(sum(row.size for row in rows), sum(used.values())))


@blueprint.put('/vaults/batch-update')
def batch_update_vaults(project_id: str):
    changes = parse_body(schemas.VaultBatchUpdateBody).vault.model_dump(exclude_none=True)
    with intent() as it:
        rows = list(it.session.execute(select(models.Vault).where(
            families.vaults_of(project_id)).with_for_update()).scalars())
        for vault in rows:
            vaults.update(it.session, vault, changes)
    return jsonify({'updated_vaults_id': [vault.id for vault in rows]})


@blueprint.get('/vaults/<vault_id>')
def show_vault(project_id: str, vault_id: str):
    with read_scope() as session:
        return jsonify({'vault': _shown(session, project_id, vault_id)})


@blueprint.put('/vaults/<vault_id>')
def update_vault(project_id: str, vault_id: str):
    spec = parse_body(schemas.VaultUpdateBody).vault
    changes = spec.model_dump(exclude_none=True, exclude={'billing', 'bind_rules'})
    if spec.billing is not None:
        changes.update({key: value for key, value in spec.billing.model_dump().items()
                        if value is not None})
    if spec.bind_rules is not None:
        changes['bind_rules'] = _tags(spec.bind_rules.tags)
    with intent() as it:
        vault = vaults.get(it.session, project_id, vault_id, lock=True)
        vaults.update(it.session, vault, changes)
        it.session.flush()
        body = {'vault': _shown(it.session, project_id, vault_id)}
    return jsonify(body)


@blueprint.delete('/vaults/<vault_id>')
def delete_vault(project_id: str, vault_id: str):
    with intent() as it:
        it.publish(vaults.request_delete(it.session, project_id, vault_id))
    return Response(status=204)


@blueprint.post('/vaults/<vault_id>/addresources')
def add_resources(project_id: str, vault_id: str):
    spec = parse_body(schemas.AddResourcesBody)
    with intent() as it:
        vault = vaults.get(it.session, project_id, vault_id, lock=True)
        added = vault_resources.add(it.session, vault, _refs(spec.resources))
    return jsonify({'add_resource_ids': added})


@blueprint.post('/vaults/<vault_id>/removeresources')
def remove_resources(project_id: str, vault_id: str):
    spec = parse_body(schemas.RemoveResourcesBody)
    with intent() as it:
        vault = vaults.get(it.session, project_id, vault_id, lock=True)
        removed, operations = vault_resources.remove(it.session, vault, spec.resource_ids)
        it.publish_all(operations)
    return jsonify({'remove_resource_ids': removed})


@blueprint.post('/vaults/<vault_id>/associatepolicy')
def associate_policy(project_id: str, vault_id: str):
    spec = parse_body(schemas.AssociatePolicyBody)
    with intent() as it:
        vault = vaults.get(it.session, project_id, vault_id, lock=True)
        policy = policies.get(it.session, project_id, spec.chosen)
        policies.associate(it.session, vault, policy)
    return jsonify({'associate_policy': {'vault_id': vault_id, 'policy_id': spec.chosen}})


@blueprint.post('/vaults/<vault_id>/dissociatepolicy')
def dissociate_policy(project_id: str, vault_id: str):
    spec = parse_body(schemas.DissociatePolicyBody)
    with intent() as it:
        vault = vaults.get(it.session, project_id, vault_id, lock=True)
        policies.dissociate(vault, spec.policy_id)
    return jsonify({'dissociate_policy': {'vault_id': vault_id, 'policy_id': spec.policy_id}})


@blueprint.post('/vaults/<vault_id>/migrateresources')
def migrate_resources(project_id: str, vault_id: str):
    spec = parse_body(schemas.MigrateResourcesBody)
    with intent() as it:
        it.publish(migration.request_migrate(it.session, project_id, vault_id,
                                             spec.destination_vault_id, spec.resource_ids))
    return jsonify({'migrated_resources': spec.resource_ids})


@blueprint.put('/vaults/<vault_id>/set-resources')
def set_resources(project_id: str, vault_id: str):
    spec = parse_body(schemas.SetResourcesBody)
    with intent() as it:
        vault = vaults.get(it.session, project_id, vault_id, lock=True)
        changed = vault_resources.set_auto_protect(vault, spec.resource_ids,
                                                   spec.action == 'unsuspend')
    return jsonify({'set_resource_ids': changed})


@blueprint.put('/vaults/<vault_id>/update-backup-expiration-time')
def update_expiration(project_id: str, vault_id: str):
    spec = parse_body(schemas.ExpirationBody)
    with intent() as it:
        operation, count = migration.request_expiry_change(
            it.session, project_id, vault_id, spec.expect_expiration_date, spec.time_zone)
        it.publish(operation)
    return jsonify({'affected_backups_count': count,
                    'new_expiration_day': spec.expect_expiration_date,
                    'operation_log_id': operation.id})
