"""The CSBS v1 API (``/v1/{project_id}/...``, catalog type ``data-protect``): one blueprint
per resource family, every error in the CSBS style (``CSBS.NNNN``)."""
from __future__ import annotations

from flask import Blueprint

from cbr_api.csbs_v1 import backups, policies, restores, service, tags

BLUEPRINTS: tuple[Blueprint, ...] = (backups.blueprint, restores.blueprint, service.blueprint,
                                     policies.blueprint, tags.policy_blueprint,
                                     tags.backup_blueprint)
