"""The baseline of benchmarks/api_throughput.py: a bare Flask app with two JSON routes.

``GET /volumes`` returns ``{"volumes": [...], "count": N}`` where every item has the keys
and value shapes of an EVS disk as cbr-api's ``GET /v2/{project_id}/cloudvolumes/detail``
returns it; ``GET /vaults`` returns ``{"vaults": [...], "count", "limit", "offset"}`` with
items shaped as cbr-api's ``GET /v3/{project_id}/vaults`` vaults. So each pair of
response bodies is about the same size (N comes from ``CBR_BENCH_BASELINE_ITEMS``,
default 7: the disks of the seeded ``demo`` project). The items are built once at import;
each request serialises them with ``jsonify`` (key order kept, as cbr-api does), so JSON
encoding is part of the baseline's cost, but there is no authentication, no database and
no other middleware.

Served by gunicorn with the worker class, workers, threads and keep-alive of cbr-api::

    gunicorn -k gthread -w 2 --threads 4 --keep-alive 30 -b 127.0.0.1:PORT \\
        --chdir benchmarks baseline_app:app
"""
from __future__ import annotations

import os
import uuid

from flask import Flask, jsonify

PROJECT_ID = '0' * 32
BASE_URL = 'http://127.0.0.1:8799'


def _volume(index: int) -> dict:
    volume_id = str(uuid.UUID(int=index + 1))
    href = '%s/v2/%s/volumes/%s' % (BASE_URL, PROJECT_ID, volume_id)
    attached = index < 4
    return {
        'id': volume_id, 'name': 'disk-%d' % index, 'description': '',
        'status': 'in-use' if attached else 'available', 'size': 40, 'volume_type': 'SAS',
        'availability_zone': 'sim-az-1',
        'attachments': [{'server_id': str(uuid.UUID(int=1000 + index)),
                         'attachment_id': str(uuid.UUID(int=2000 + index)),
                         'attached_at': '2026-01-01T00:00:00.000000', 'host_name': None,
                         'volume_id': volume_id, 'device': '/dev/vdb', 'id': volume_id}]
        if attached else [],
        'bootable': 'false', 'multiattach': False, 'shareable': 'false', 'encrypted': False,
        'metadata': {}, 'tags': {}, 'volume_image_metadata': {},
        'snapshot_id': None, 'source_volid': None,
        'created_at': '2026-01-01T00:00:00.000000', 'updated_at': '2026-01-01T00:00:00.000000',
        'os-vol-tenant-attr:tenant_id': PROJECT_ID,
        'os-vol-host-attr:host': 'pod01.sim-az-1#SAS',
        'service_type': 'EVS', 'replication_status': 'disabled', 'user_id': '',
        'wwn': '6888603000%022x' % (index + 1), 'enterprise_project_id': '0',
        'consistencygroup_id': None, 'os-vol-mig-status-attr:migstat': None,
        'os-vol-mig-status-attr:name_id': None, 'os-volume-replication:extended_status': None,
        'links': [{'href': href, 'rel': 'self'}, {'href': href, 'rel': 'bookmark'}],
    }


def _vault(index: int) -> dict:
    vault_id = str(uuid.UUID(int=5000 + index))
    return {
        'billing': {'allocated': 0, 'charging_mode': 'post_paid', 'cloud_type': 'public',
                    'consistent_level': 'crash_consistent', 'object_type': 'disk',
                    'order_id': '', 'product_id': '', 'protect_type': 'backup', 'size': 100,
                    'spec_code': 'vault.backup.volume.normal', 'status': 'available',
                    'storage_unit': '', 'used': 0, 'frozen_scene': '', 'is_multi_az': False},
        'description': '', 'id': vault_id, 'name': 'bench-%03d' % index,
        'project_id': PROJECT_ID, 'provider_id': 'd1603440-187d-4516-af25-121250c7cc97',
        'resources': [], 'tags': [], 'enterprise_project_id': '0', 'auto_bind': False,
        'bind_rules': {'tags': []}, 'user_id': '', 'created_at': '2026-01-01T00:00:00.000000',
        'auto_expand': False, 'smn_notify': True, 'threshold': 80,
        'sys_lock_source_service': '', 'locked': False, 'availability_zone': '',
    }


COUNT = int(os.environ.get('CBR_BENCH_BASELINE_ITEMS', '7'))
ITEMS = [_volume(i) for i in range(COUNT)]
VAULTS = [_vault(i) for i in range(COUNT)]

app = Flask('baseline')
app.json.sort_keys = False


@app.get('/volumes')
def volumes():
    return jsonify({'volumes': ITEMS, 'count': len(ITEMS)})


@app.get('/vaults')
def vaults():
    return jsonify({'vaults': VAULTS, 'count': len(VAULTS), 'limit': 1000, 'offset': 0})
