"""VBS-native backup calls (``/v2/{project_id}/cloudbackups``): create, restore and delete
answer a job id (rule D3) that the job API (:mod:`cbr_api.inventory.jobs`) reports on;
the quota call shows rule D5's figures."""
from __future__ import annotations

from flask import Blueprint, jsonify

from cbr_api import errors
from cbr_api.intent import intent
from cbr_api.validation import parse_body
from cbr_api.vbs_v2 import schemas, views
from cbr_common.db.engine import read_scope
from cbr_common.vbs import backups, rules

blueprint = Blueprint('vbs_cloudbackups', __name__,
                      url_prefix='/v2/<project_id>/cloudbackups')
errors.use_style(blueprint, 'vbs')


@blueprint.post('')
def create_backup(project_id: str):
    spec = parse_body(schemas.CloudBackupBody).backup
    full = (spec.extend_param or schemas.ExtendParam()).FullBackup in ('true', True)
    request_ = backups.BackupRequest(volume_id=spec.volume_id, name=spec.name,
                                     description=spec.description or '', full=full,
                                     snapshot_id=spec.snapshot_id)
    with intent() as it:
        job_id = it.publish(backups.request_backup(it.session, project_id, request_)).id
    return jsonify({'job_id': job_id})


@blueprint.post('/<backup_id>/restore')
def restore_backup(project_id: str, backup_id: str):
    volume_id = parse_body(schemas.RestoreBody).restore.volume_id
    with intent() as it:
        job_id = it.publish(backups.request_restore(it.session, project_id, backup_id,
                                                    volume_id)).id
    return jsonify({'job_id': job_id})


@blueprint.post('/<backup_id>')
def delete_backup(project_id: str, backup_id: str):
    with intent() as it:
        job_id = it.publish(backups.request_delete(it.session, project_id, backup_id)).id
    return jsonify({'job_id': job_id})


@blueprint.get('/quota')
def show_quota(project_id: str):
    with read_scope() as session:
        return jsonify(views.quota(rules.usage(session, project_id)))
