"""The job API: ``/v1/{project_id}/jobs/{job_id}``, also answered under ``/v2``."""
from __future__ import annotations

from flask import Blueprint, jsonify

from cbr_api import errors
from cbr_api.inventory import views
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.errors import NotFound
from cbr_common.vbs import backups as vbs_backups

blueprint = Blueprint('jobs', __name__)
errors.use_style(blueprint, 'jobs')


@blueprint.get('/v1/<project_id>/jobs/<job_id>')
@blueprint.get('/v2/<project_id>/jobs/<job_id>')
def show_job(project_id: str, job_id: str):
    with read_scope() as session:
        operation = session.get(models.Operation, job_id)
        if operation is None or operation.project_id != project_id:
            raise NotFound('job %s does not exist' % job_id, field='job_id')
        return jsonify(views.job(operation, vbs_backups.shown_job(session, operation)))
