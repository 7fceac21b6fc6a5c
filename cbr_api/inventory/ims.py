"""A minimal IMS: full-server images from CBR server backups (rules R6, B7).

``POST /v1/cloudimages/wholeimages/action`` with ``backup_id`` answers a job id (the job
API at ``/v1/{project_id}/jobs/{job_id}``); ``GET``/``DELETE /v2/images/{image_id}`` show
and delete the image.  The paths carry no project id: the caller's project is used.
"""
from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, Response, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from cbr_api import errors, timefmt
from cbr_api.intent import intent
from cbr_api.validation import parse_body
from cbr_common.backups import images
from cbr_common.db import models
from cbr_common.db.engine import read_scope

blueprint = Blueprint('ims', __name__)
errors.use_style(blueprint, 'ims')


class WholeImageBody(BaseModel):
    """The body of a full-server image request made from a backup."""

    model_config = ConfigDict(extra='ignore')
    name: Annotated[str, Field(min_length=1, max_length=128, pattern=r'^[\w.\- ]+$')]
    backup_id: Annotated[str, Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(max_length=1024)] = ''


def _image(image: models.Image) -> dict[str, Any]:
    return {'id': image.id, 'name': image.name, 'status': image.status,
            'visibility': 'private', 'owner': image.project_id, 'protected': False,
            '__imagetype': 'private', '__whole_image': 'true', '__backup_id': image.backup_id,
            '__description': image.description, 'disk_format': 'zvhd2',
            'created_at': timefmt.zulu(image.created_at),
            'updated_at': timefmt.zulu(image.updated_at),
            'self': '/v2/images/%s' % image.id, 'schema': '/v2/schemas/image'}


@blueprint.post('/v1/cloudimages/wholeimages/action')
def create_whole_image():
    spec = parse_body(WholeImageBody)
    with intent() as it:
        operation, _ = images.request_image(it.session, g.caller.project_id, spec.backup_id,
                                            name=spec.name, description=spec.description)
        it.publish(operation)
    return jsonify({'job_id': operation.id})


@blueprint.get('/v2/images/<image_id>')
def show_image(image_id: str):
    with read_scope() as session:
        return jsonify(_image(images.get(session, g.caller.project_id, image_id)))


@blueprint.delete('/v2/images/<image_id>')
def delete_image(image_id: str):
    with intent() as it:
        images.delete(it.session, g.caller.project_id, image_id)
    return Response(status=204)
