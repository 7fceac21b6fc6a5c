"""CSBS v1 tags of policies (``/v1/{project_id}/csbs_backup_policy/…``, #16, #18, #20, #21,
#24, #26) and of backups (``/v1/{project_id}/csbs_backup/…``, #17, #19, #22, #23, #25, #27),
as :mod:`cbr_api.tag_routes` serves them: at most 10 per policy or backup (CSBS.7000), a
missing key is CSBS.7001, batch actions ``create`` and ``delete``."""
from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_api import errors, tag_routes
from cbr_api.csbs_v1 import backups, policy_views
from cbr_common.csbs import codes, items, policies
from cbr_common.db import models
from cbr_common.policies import bindings, store

policy_blueprint = Blueprint('csbs_policy_tags', __name__,
                             url_prefix='/v1/<project_id>/csbs_backup_policy')
backup_blueprint = Blueprint('csbs_backup_tags', __name__,
                             url_prefix='/v1/<project_id>/csbs_backup')
for _blueprint in (policy_blueprint, backup_blueprint):
    errors.use_style(_blueprint, 'csbs')


def _policy_details(session: Session, rows: Sequence[models.Policy]) -> list[dict]:
    bound = bindings.bound_to(session, [row.id for row in rows])
    return [policy_views.policy(row, bound[row.id]) for row in rows]


def _project_items(session: Session, project_id: str) -> list[models.Backup]:
    return list(session.execute(select(models.Backup).where(*items.of_project(project_id))
                                .order_by(models.Backup.created_at.desc())).scalars())


tag_routes.install(policy_blueprint, tag_routes.TaggedKind(
    get=lambda session, project_id, policy_id, lock: policies.get(session, project_id,
                                                                  policy_id, lock=lock),
    listing=lambda session, project_id: store.listing(session, project_id, family='csbs'),
    detail=_policy_details, limit_code=codes.TAG_QUOTA, not_found_code=codes.TAG_NOT_FOUND))

tag_routes.install(backup_blueprint, tag_routes.TaggedKind(
    get=lambda session, project_id, item_id, lock: items.get(session, project_id, item_id,
                                                             field='resource_id'),
    listing=_project_items,
    detail=lambda session, rows: backups.items_body(session, list(rows)),
    limit_code=codes.TAG_QUOTA, not_found_code=codes.TAG_NOT_FOUND))
