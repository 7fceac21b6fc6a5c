"""VBS v2 backup policy tags (``/v2/{project_id}/backuppolicy/…tags``): add, remove, batch
create/update/delete, a policy's tags, the project's tags, and the search of policies by
tags (``resource_instances``), as :mod:`cbr_api.tag_routes` serves them for every older
API.  At most 10 tags per policy, unique keys (P16); the policy's tags are copied to the
backups its runs make.
"""
from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint
from sqlalchemy.orm import Session

from cbr_api import tag_routes
from cbr_api.vbs_v2 import policies as api
from cbr_api.vbs_v2 import policy_views as views
from cbr_common.db import models
from cbr_common.policies import bindings, store
from cbr_common.vbs import policies, policy_codes

blueprint = Blueprint('vbs_policy_tags', __name__, url_prefix='/v2/<project_id>/backuppolicy')
api.install(blueprint)


def _details(session: Session, rows: Sequence[models.Policy]) -> list[dict]:
    bound = bindings.bound_to(session, [row.id for row in rows])
    return [views.policy(row, len(bound[row.id])) for row in rows]


tag_routes.install(blueprint, tag_routes.TaggedKind(
    get=lambda session, project_id, policy_id, lock: policies.get(session, project_id,
                                                                  policy_id, lock=lock),
    listing=lambda session, project_id: store.listing(session, project_id, family='vbs'),
    detail=_details, limit_code=policy_codes.TAG_LIMIT,
    not_found_code=policy_codes.TAG_NOT_FOUND,
    batch_actions=('create', 'update', 'delete')))
