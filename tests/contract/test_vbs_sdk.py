"""openstacksdk's block_storage proxy, unmodified, on the Cinder v3 backup API that the
Keystone catalog names ``block-storage`` (served under ``/block-storage/v3``)."""
from __future__ import annotations

import os

import openstack
import pytest
import requests

from tests.support.vbs import Vbs

BLOCK = 65536


def _connection(stack) -> openstack.connection.Connection:
    entry, domain = stack.project('demo'), stack.credentials['domain']
    return openstack.connect(auth_url=stack.credentials['identity_url'],
                             username=entry['user'], password=entry['password'],
                             project_name=entry['name'], user_domain_name=domain,
                             project_domain_name=domain, region_name=stack.credentials['region'],
                             load_yaml_config=False, load_envvars=False)


@pytest.fixture
def conn(stack) -> openstack.connection.Connection:
    return _connection(stack)


def test_version_discovery_needs_no_token(stack):
    for path in ('/block-storage/', '/block-storage/v3', '/block-storage/v3/'):
        response = requests.get(stack.endpoint + path, timeout=10)
        assert response.status_code in (200, 300), (path, response.status_code)
        version, = response.json()['versions']
        assert (version['id'], version['min_version']) == ('v3.0', '3.0')
    url = '%s/block-storage/v3/%s/backups' % (stack.endpoint, stack.project('alt_demo')['id'])
    assert requests.get(url, timeout=10).status_code == 401
    token = _connection(stack).auth_token  # demo's
    assert requests.get(url, headers={'X-Auth-Token': token}, timeout=10).status_code == 403


def test_backups_through_the_block_storage_proxy(stack, conn):
    # rule: R7, C5
    vbs = Vbs(stack)
    assert conn.endpoint_for('block-storage') == \
        '%s/block-storage/v3/%s' % (stack.endpoint, vbs.project_id)
    disk = vbs.cbr.disk(10)
    vbs.cbr.write(disk, 0, os.urandom(4 * BLOCK))
    backed_up = vbs.cbr.checksum(disk)
    created = conn.block_storage.create_backup(volume_id=disk, name='sdk-first')
    first = conn.block_storage.wait_for_status(created, 'available', interval=0.2, wait=60)
    second = conn.block_storage.wait_for_status(
        conn.block_storage.create_backup(volume_id=disk, name='sdk-second'), 'available',
        interval=0.2, wait=60)

    fetched = conn.block_storage.get_backup(first.id)
    assert (fetched.name, fetched.volume_id, fetched.size, fetched.is_incremental,
            fetched.has_dependent_backups, fetched.project_id) == \
        ('sdk-first', disk, 10, False, True, vbs.project_id)
    assert conn.block_storage.get_backup(second.id).is_incremental is True
    listed = list(conn.block_storage.backups(details=True, volume_id=disk, limit=1))
    assert [b.id for b in listed] == [second.id, first.id]  # followed backups_links
    assert all(b.status == 'available' for b in listed)

    vbs.cbr.write(disk, BLOCK, os.urandom(BLOCK))
    conn.block_storage.restore_backup(first, volume=disk)
    conn.block_storage.wait_for_status(conn.block_storage.get_backup(first.id), 'available',
                                       interval=0.2, wait=60)
    assert vbs.cbr.disk_status(disk) == 'available'
    assert vbs.cbr.checksum(disk) == backed_up

    for backup in (second, first):
        conn.block_storage.delete_backup(backup)
        conn.block_storage.wait_for_delete(backup, interval=0.2, wait=60)
    assert list(conn.block_storage.backups(details=True, volume_id=disk)) == []
