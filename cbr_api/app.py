"""The Flask application factory of cbr-api."""
from __future__ import annotations

from flask import Flask, jsonify

from cbr_api import cbr_v3, csbs_v1, errors, vbs_v2
from cbr_api.identity import keystone
from cbr_api.inventory import ecs, evs, ims, jobs, sfs
from cbr_api.middleware import auth, request_id
from cbr_api.sim import admin, data
from cbr_api.vbs_v2 import policies as vbs_policies
from cbr_api.vbs_v2 import policy_tags as vbs_policy_tags
from cbr_common.config import CONF


def create_app() -> Flask:
    """Build the app; configuration must already be loaded."""
    app = Flask('cbr_api')
    app.config['MAX_CONTENT_LENGTH'] = CONF.api.max_request_bytes
    app.json.sort_keys = False
    request_id.install(app)
    auth.install(app)
    errors.install(app)
    for blueprint in (keystone.blueprint, evs.blueprint, ecs.blueprint, sfs.blueprint,
                      ims.blueprint, jobs.blueprint, admin.blueprint, data.blueprint,
                      *cbr_v3.BLUEPRINTS, *csbs_v1.BLUEPRINTS,
                      *vbs_v2.BLUEPRINTS,
                      vbs_policies.blueprint, vbs_policy_tags.blueprint):
        app.register_blueprint(blueprint)

    @app.get('/')
    def _root():
        return jsonify({'name': 'cbr-sim', 'apis': ['cbr/v3', 'csbs/v1', 'vbs/v2', 'evs/v2',
                                                    'ecs/v1', 'sfs-turbo/v1', 'ims/v1',
                                                    'identity/v3', 'sim/v1']})
    return app
