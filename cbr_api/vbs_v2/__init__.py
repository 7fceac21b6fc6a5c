"""The VBS v2 API: ``cloudbackups`` (VBS-native, answering job ids), the Cinder-native
backup API under ``/v2`` and ``/block-storage/v3``, the latter's version discovery, and
backup sharing (``os-vendor-backup-sharing``)."""
from __future__ import annotations

from flask import Blueprint

from cbr_api.vbs_v2 import cinder, cloudbackups, discovery, sharing
from cbr_api.vbs_v2.views import V2, V3

BLUEPRINTS: tuple[Blueprint, ...] = (cloudbackups.blueprint, cinder.make_blueprint(V2),
                                     cinder.make_blueprint(V3), discovery.blueprint,
                                     sharing.blueprint)
