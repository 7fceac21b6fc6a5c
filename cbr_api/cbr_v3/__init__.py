"""The CBR v3 API (``/v3/{project_id}/...``): one blueprint per resource family."""
from __future__ import annotations

from flask import Blueprint

from cbr_api.cbr_v3 import backups, members, policies, protectables, tags, tasks, vaults

BLUEPRINTS: tuple[Blueprint, ...] = (vaults.blueprint, policies.blueprint, backups.blueprint,
                                     members.blueprint, tasks.blueprint, tags.blueprint,
                                     protectables.blueprint)
