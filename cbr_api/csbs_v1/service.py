"""CSBS v1 service-wide reads: the provider (Karbor), quotas (#11) and operation logs
(Karbor's: the protect, restore and delete jobs of the project's CSBS backups, rule C6)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import and_, or_, select

from cbr_api import errors
from cbr_api.csbs_v1 import item_views, task_views
from cbr_api.csbs_v1.restores import job
from cbr_api.validation import query_choice, query_page
from cbr_common.csbs import checks, items
from cbr_common.db import models
from cbr_common.db.engine import read_scope

blueprint = Blueprint('csbs_service', __name__, url_prefix='/v1/<project_id>')
errors.use_style(blueprint, 'csbs')

LOG_STATES = sorted({state for states in task_views.STATUSES.values()
                     for state in states.values()})


@blueprint.get('/providers')
def list_providers(project_id: str):
    return jsonify({'providers': [item_views.PROVIDER]})


@blueprint.get('/providers/<provider_id>')
def show_provider(project_id: str, provider_id: str):
    checks.require_provider(provider_id)
    return jsonify({'provider': item_views.PROVIDER})


@blueprint.get('/quotas')
def show_quotas(project_id: str):
    with read_scope() as session:
        return jsonify(item_views.quotas(items.quota_use(session, project_id)))


def _of_project(project_id: str) -> list:
    return [models.Operation.project_id == project_id,
            models.Operation.vault_id.in_(items.vaults(project_id)),
            models.Operation.job_type.in_(list(task_views.OPERATION_TYPES)),
            models.Operation.parent_id.is_(None)]


def _filters(project_id: str) -> list:
    """``operation_type`` (protect, restore, delete) and ``status`` (as the logs show it)."""
    where = _of_project(project_id)
    kind = query_choice('operation_type', sorted(task_views.STATUSES))
    if kind is not None:
        where.append(models.Operation.job_type.in_(
            [job_type for job_type, name in task_views.OPERATION_TYPES.items() if name == kind]))
    status = query_choice('status', LOG_STATES)
    if status is not None:
        where.append(or_(*[
            and_(models.Operation.job_type == job_type, models.Operation.status == job_status)
            for job_type, name in task_views.OPERATION_TYPES.items()
            for job_status, shown in task_views.STATUSES[name].items() if shown == status]))
    return where


@blueprint.get('/operation_logs')
def list_operation_logs(project_id: str):
    limit, offset = query_page()
    where = _filters(project_id)
    with read_scope() as session:
        rows = session.execute(select(models.Operation).where(*where)
                               .order_by(models.Operation.created_at.desc(),
                                         models.Operation.id)
                               .limit(limit).offset(offset)).scalars()
        body = {'operation_logs': [task_views.operation_log(op) for op in rows]}
    return jsonify(body)


@blueprint.get('/operation_logs/<operation_log_id>')
def show_operation_log(project_id: str, operation_log_id: str):
    with read_scope() as session:
        operation = job(session, _of_project(project_id), operation_log_id, 'operation_log')
        return jsonify({'operation_log': task_views.operation_log(operation)})
