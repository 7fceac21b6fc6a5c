"""Version discovery of the Cinder v3 mount (``/block-storage``), answered without a token.

openstacksdk's ``block_storage`` proxy (through keystoneauth) reads the version document
below the catalog URL before its first call; it shows one version, v3.0, without
microversions beyond 3.0.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from cbr_api import errors
from cbr_api.identity.keystone import base_url

ROOT = '/block-storage'
PATHS = (ROOT, ROOT + '/', ROOT + '/v3', ROOT + '/v3/')
VERSION_UPDATED = '2017-09-01T00:00:00Z'
MEDIA_TYPE = 'application/vnd.openstack.volume+json;version=3'

blueprint = Blueprint('vbs_discovery', __name__)
errors.use_style(blueprint, 'cinder')


def _versions() -> dict[str, Any]:
    return {'versions': [{
        'id': 'v3.0', 'status': 'CURRENT', 'version': '3.0', 'min_version': '3.0',
        'updated': VERSION_UPDATED,
        'links': [{'rel': 'self', 'href': base_url() + ROOT + '/v3/'}],
        'media-types': [{'base': 'application/json', 'type': MEDIA_TYPE}]}]}


@blueprint.get(ROOT)
@blueprint.get(ROOT + '/')
def list_versions():
    """The unversioned root: Cinder answers 300 Multiple Choices with every version."""
    return jsonify(_versions()), 300


@blueprint.get(ROOT + '/v3')
@blueprint.get(ROOT + '/v3/')
def show_version():
    return jsonify(_versions())
