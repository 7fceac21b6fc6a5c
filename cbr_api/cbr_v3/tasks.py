"""CBR v3 operation logs (tasks): every backup, restore, delete and vault deletion (T1)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import func, select

from cbr_api import errors
from cbr_api.cbr_v3 import views
from cbr_api.validation import query_choice, query_page, query_period
from cbr_common.backups import PROVIDER_IDS, codes, families
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.errors import NotFound

blueprint = Blueprint('cbr_tasks', __name__, url_prefix='/v3/<project_id>')
errors.use_style(blueprint, 'cbr')

JOB_TYPES_OF = {task: [job for job, kind in views.TASK_TYPES.items() if kind == task]
                for task in set(views.TASK_TYPES.values())}
JOB_STATES_OF = {task_state: job_state for job_state, task_state in views.TASK_STATES.items()}
TASK_STATES = ('success', 'skipped', 'failed', 'running', 'timeout', 'waiting')
OPERATION_TYPES = ('backup', 'copy', 'replication', 'restore', 'delete', 'sync',
                   'vault_delete', 'remove_resource', 'migrate', 'update_expiration_time')


def _filters(project_id: str) -> list:
    args = request.args
    where = [models.Operation.project_id == project_id, families.operation_in_cbr(project_id),
             models.Operation.job_type.in_(list(views.TASK_TYPES)),
             models.Operation.parent_id.is_(None)]
    operation_type = query_choice('operation_type', OPERATION_TYPES)
    if operation_type is not None:
        where.append(models.Operation.job_type.in_(JOB_TYPES_OF.get(operation_type, [])))
    status = query_choice('status', TASK_STATES)
    if status is not None:
        where.append(models.Operation.status == JOB_STATES_OF.get(status, '-'))
    if args.get('vault_id'):
        where.append(models.Operation.vault_id == args['vault_id'])
    if args.get('vault_name'):
        where.append(models.Operation.vault_id.in_(
            select(models.Vault.id).where(models.Vault.project_id == project_id,
                                          models.Vault.name == args['vault_name'])))
    if args.get('resource_id'):
        where.append(models.Operation.resource_id == args['resource_id'])
    if args.get('resource_name'):
        where.append(models.Operation.resource_id.in_(
            select(models.Backup.resource_id).where(
                models.Backup.project_id == project_id,
                models.Backup.resource_name == args['resource_name'])))
    if args.get('provider_id'):
        types = [kind for kind, provider in PROVIDER_IDS.items()
                 if provider == args['provider_id']]
        where.append(models.Operation.resource_id.in_(
            select(models.Backup.resource_id).where(models.Backup.project_id == project_id,
                                                    models.Backup.resource_type.in_(types))))
    where += query_period(models.Operation.created_at)
    return where


def _vault_names(session, operations: list[models.Operation]) -> dict[str, str]:
    ids = {op.vault_id for op in operations if op.vault_id}
    if not ids:
        return {}
    return dict(session.execute(select(models.Vault.id, models.Vault.name)
                                .where(models.Vault.id.in_(ids))).all())


def _log(op: models.Operation, names: dict[str, str]) -> dict:
    return views.operation_log(op, names.get(op.vault_id or '',
                                             (op.entities or {}).get('vault_name', '')))


@blueprint.get('/operation-logs')
def list_operation_logs(project_id: str):
    limit, offset = query_page()
    where = _filters(project_id)
    with read_scope() as session:
        count = session.execute(select(func.count()).select_from(models.Operation)
                                .where(*where)).scalar_one()
        rows = list(session.execute(select(models.Operation).where(*where)
                                    .order_by(models.Operation.created_at.desc(),
                                              models.Operation.id)
                                    .limit(limit).offset(offset)).scalars())
        names = _vault_names(session, rows)
        body = {'operation_logs': [_log(op, names) for op in rows], 'count': count,
                'limit': limit, 'offset': offset}
    return jsonify(body)


@blueprint.get('/operation-logs/<operation_log_id>')
def show_operation_log(project_id: str, operation_log_id: str):
    with read_scope() as session:
        op = session.get(models.Operation, operation_log_id)
        if (op is None or op.project_id != project_id or op.job_type not in views.TASK_TYPES
                or op.parent_id is not None):
            raise NotFound('operation log %s does not exist' % operation_log_id,
                           field='operation_log_id', code=codes.TASK_NOT_FOUND)
        return jsonify({'operation_log': _log(op, _vault_names(session, [op]))})
