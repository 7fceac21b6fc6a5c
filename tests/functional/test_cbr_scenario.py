"""The worked CBR v3 scenario: a disk vault and a server vault, backups of changing data,
a deleted base backup, restores that give back the exact bytes, a disk backup shared with
another project that makes a disk from it, and vaults deleted with every block freed."""
from __future__ import annotations

import json
import os

from tests.support.cbr import Cbr
from tests.support.client import poll

MIB = 1 << 20


def test_worked_scenario(stack):
    # rule: B4, B5, R1, R3, R4, R7, S2, V8, V14
    cbr = Cbr(stack)
    disk = cbr.disk(10)
    server, server_disks = cbr.server((10, 10))
    disk_vault = cbr.vault('disk', 20, name='scenario-disks')
    server_vault = cbr.vault('server', 40, name='scenario-servers')
    cbr.call('POST', 'vaults/%s/addresources' % disk_vault['id'], json={
        'resources': [{'id': disk, 'type': 'OS::Cinder::Volume'}]})
    cbr.call('POST', 'vaults/%s/addresources' % server_vault['id'], json={
        'resources': [{'id': server, 'type': 'OS::Nova::Server'}]})

    for target in (disk, *server_disks):
        cbr.write(target, 0, os.urandom(2 * MIB))
    first = {vault: cbr.backup(vault, resource) for vault, resource in
             ((disk_vault['id'], disk), (server_vault['id'], server))}
    for target in (disk, *server_disks):
        cbr.write(target, MIB, os.urandom(MIB))
    expected = {target: cbr.checksum(target) for target in (disk, *server_disks)}
    second = {vault: cbr.backup(vault, resource) for vault, resource in
              ((disk_vault['id'], disk), (server_vault['id'], server))}
    assert all(not b['incremental'] for b in first.values())
    assert all(b['incremental'] for b in second.values())
    used = cbr.call('GET', 'vaults/%s' % disk_vault['id'])['vault']['billing']['used']
    assert used == 3  # MB: 2 MiB full, then 1 MiB changed

    for backup in first.values():
        cbr.call('DELETE', 'backups/%s' % backup['id'], expect=204)
        cbr.wait_gone('backups/%s' % backup['id'])
    for target in (disk, *server_disks):
        cbr.write(target, 0, os.urandom(3 * MIB))

    cbr.call('POST', 'backups/%s/restore' % second[disk_vault['id']]['id'], expect=202,
             json={'restore': {'volume_id': disk}})
    server_backup = second[server_vault['id']]
    cbr.call('POST', 'backups/%s/restore' % server_backup['id'], expect=202, json={
        'restore': {'server_id': server, 'mappings': [
            {'backup_id': child['id'], 'volume_id': child['resource_id']}
            for child in server_backup['children']]}})
    poll(lambda: cbr.tasks(operation_type='restore', status='success'),
         lambda done: {t['extra_info']['restore']['backup_id'] for t in done} >=
         {b['id'] for b in second.values()}, 60, 'the restores did not finish')
    assert {target: cbr.checksum(target) for target in expected} == expected
    assert cbr.server_status(server) == 'ACTIVE'

    # share the disk backup with alt_demo, which accepts it and makes a disk from it
    alt = Cbr(stack, 'alt_demo')
    disk_backup = second[disk_vault['id']]
    cbr.call('POST', 'backups/%s/members' % disk_backup['id'],
             json={'members': [alt.project_id]})
    inbox = alt.vault('disk', 20, name='scenario-inbox')
    alt.call('PUT', 'backups/%s/members/%s' % (disk_backup['id'], alt.project_id),
             json={'status': 'accepted', 'vault_id': inbox['id']})
    created = alt.client.post('/v2/%s/cloudvolumes' % alt.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10,
        'backup_id': disk_backup['id']}}).json()
    assert alt.client.wait_job(created['job_id'])['status'] == 'SUCCESS'
    assert alt.checksum(created['volume_ids'][0]) == expected[disk]
    cbr.wait_backup(disk_backup['id'], ('available',))

    for vault in (disk_vault, server_vault):
        assert cbr.stored_objects(vault['id'])
        cbr.call('DELETE', 'vaults/%s' % vault['id'], expect=204)
        cbr.wait_gone('vaults/%s' % vault['id'])
        cbr.wait_freed(vault['id'])
    for backup in second.values():
        cbr.wait_gone('backups/%s' % backup['id'])
    report = json.loads(stack.manage('chunks', 'audit'))
    assert report['consistent'], report
