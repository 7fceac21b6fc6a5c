"""CSBS v1 whole-server backups on a running stack: the raw bodies of the OTC CSBS API
reference, Terraform's create and delete sequences, restores with real bytes, refusals."""
from __future__ import annotations

import os
import re
import uuid

import pytest

from cbr_common.csbs import PROVIDER_ID
from tests.support import crashes
from tests.support.client import poll
from tests.support.csbs import Csbs
from tests.support.dataplane import StackBackups, counters, guest_writing

BLOCK = 65536
SERVER = 'OS::Nova::Server'
TIME = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$')
# The keys of the reference's examples (§1.3).
CHECKPOINT_KEYS = {'status', 'created_at', 'id', 'resource_graph', 'project_id', 'extra_info',
                   'protection_plan'}
ITEM_KEYS = {'status', 'name', 'id', 'checkpoint_id', 'resource_id', 'resource_type',
             'created_at', 'updated_at', 'backup_data', 'extend_info'}
BACKUP_DATA_KEYS = {'eip', 'cloudservicetype', 'ram', 'vcpus', '__openstack_region_name',
                    'private_ip', 'disk', 'imagetype'}
EXTEND_INFO_KEYS = {'auto_trigger', 'space_saving_ratio', 'copy_status', 'fail_reason',
                    'resource_az', 'image_type', 'finished_at', 'average_speed', 'copy_from',
                    'supported_restore_mode', 'support_lld', 'os_images_data',
                    'volume_backups', 'fail_code', 'incremental', 'taskid', 'hypervisor_type',
                    'progress', 'fail_op', 'resource_name', 'size'}
VOLUME_BACKUP_KEYS = {'status', 'space_saving_ratio', 'name', 'bootable', 'average_speed',
                      'source_volume_size', 'source_volume_id', 'incremental', 'image_type',
                      'source_volume_name', 'id', 'size', 'snapshot_id'}
RESTORE_KEYS = {'restore_target', 'status', 'provider_id', 'resources_status', 'parameters',
                'checkpoint_id', 'project_id', 'id', 'resources_reason'}


@pytest.fixture
def csbs(stack) -> Csbs:
    return Csbs(stack)


def _action(csbs: Csbs, body: dict, provider: str = PROVIDER_ID) -> dict:
    return csbs.call('POST', 'providers/%s/resources/action' % provider, json=body)


def _hold(csbs: Csbs, point: str, action: str = 'delay', seconds: float = 3) -> None:
    response = csbs.admin.post('/sim/v1/faults', json={'point': point, 'action': action,
                                                       'seconds': seconds, 'times': 1})
    assert response.status_code == 201, response.text


def test_backup_list_restore_and_delete_as_the_reference_and_terraform_do(csbs):
    # rule: C3, C4, R1, R2, R7, B3
    server, disks = csbs.server((10, 10))
    for index, disk in enumerate(disks):
        csbs.fill(disk, seed=40 + index)
    digests = [csbs.checksum(disk) for disk in disks]
    assert _action(csbs, {'check_protectable': [{'resource_id': server, 'resource_type': SERVER}]}
                   ) == {'protectable': [{'resource_id': server, 'resource_type': SERVER,
                                          'result': True}]}
    record = csbs.protect(server, backup_name='backup', description='backup des', extra_info={})
    assert set(record) == CHECKPOINT_KEYS and record['status'] == 'protecting'
    plan = record['protection_plan']
    assert plan['id'].startswith('fake_') and plan['name'] == \
        'server protect plan for %s' % server
    assert [(r['id'], r['type'], r['extra_info']) for r in plan['resources']] == \
        [(server, SERVER, {})]
    assert TIME.match(record['created_at']) and record['resource_graph'] is None
    listed, = csbs.items(checkpoint_id=record['id'])  # Terraform: take [0].id, poll it
    item = csbs.wait_item(listed['id'])
    assert item['status'] == 'available' and ITEM_KEYS <= set(item), item
    assert set(item['backup_data']) == BACKUP_DATA_KEYS
    assert (item['backup_data']['vcpus'], item['backup_data']['ram']) == (1, 1024)  # s3.small.1
    info = item['extend_info']
    assert EXTEND_INFO_KEYS <= set(info) and info['progress'] == 100 and info['fail_op'] == ''
    assert info['size'] == 20 and TIME.match(info['finished_at']) and not info['incremental']
    volume_backups = sorted(info['volume_backups'], key=lambda v: v['source_volume_id'] != disks[0])
    assert all(set(v) == VOLUME_BACKUP_KEYS for v in volume_backups)
    assert [(v['source_volume_id'], v['bootable'], v['size']) for v in volume_backups] == \
        [(disks[0], True, 10), (disks[1], False, 10)]

    # a second, incremental backup for the filters
    csbs.write(disks[1], 0, os.urandom(BLOCK))
    second = csbs.backup(server, backup_name='second')
    assert second['extend_info']['incremental'] and second['extend_info']['size'] == 0

    def ids(**filters) -> list[str]:
        return [found['id'] for found in csbs.items(resource_id=server, **filters)]

    def count(**filters) -> int:
        return csbs.call('GET', 'checkpoint_items/count',
                         params={'resource_id': server, **filters})['count']
    both = [second['id'], item['id']]  # newest first
    assert ids() == both and count() == 2
    assert ids(name='ack') == [item['id']] == ids(checkpoint_id=record['id'])
    assert ids(status='available', sort='name:asc') == [item['id'], second['id']]
    assert ids(limit=1) == [second['id']] and ids(marker=second['id']) == [item['id']]
    assert ids(offset=1) == [item['id']] and count(name='sec') == 1
    assert ids(resource_name='sr', az='sim-az-1', resource_type=SERVER) == both
    assert ids(start_time=second['created_at']) == [second['id']]
    assert ids(end_time=item['created_at']) == [item['id']] and count(status='error') == 0
    assert ids(image_type='replication') == [] and ids(image_type='backup') == both

    # rule: R2 — a disk attached after the backup keeps its data
    extra = csbs.disk(10)
    csbs.ecs_job('POST', '%s/attachvolume' % server, {'volumeAttachment': {'volumeId': extra}})
    csbs.fill(extra, seed=49)
    extra_digest = csbs.checksum(extra)
    for disk in disks:
        csbs.write(disk, 0, os.urandom(4 * BLOCK))
    stopped = csbs.restore(item, server, csbs.volume_map(item), power_on=False)
    assert stopped['status'] == 'success' and csbs.server_status(server) == 'SHUTOFF'
    csbs.ecs_job('POST', 'action', {'os-start': {'servers': [{'id': server}]}})
    _hold(csbs, 'restore.batch')  # rule: R1 — stopped while the disks are written
    started = csbs.call('POST', 'restores', json=csbs.restore_body(
        item, server, csbs.volume_map(item)))['restore']
    assert set(started) == RESTORE_KEYS and started['status'] == 'in_progress'
    assert started['parameters']['targets']['server_id'] == server
    poll(lambda: csbs.server_status(server), lambda status: status == 'SHUTOFF', 30,
         'the server was not stopped for the restore')
    done = poll(lambda: csbs.call('GET', 'restores/%s' % started['id'])['restore'],
                lambda restore: restore['status'] != 'in_progress', 60, 'no restore end')
    assert done['resources_status'] == {'%s#%s' % (SERVER, server): 'available'}
    assert csbs.server_status(server) == 'ACTIVE'
    assert [csbs.checksum(disk) for disk in disks] == digests
    assert csbs.checksum(extra) == extra_digest
    logs = csbs.call('GET', 'operation_logs', params={'operation_type': 'restore'})
    assert started['id'] in {log['restore_id'] for log in logs['operation_logs']}
    protect_log, = [log for log in csbs.call('GET', 'operation_logs', params={
        'operation_type': 'protect', 'status': 'available'})['operation_logs']
        if log['checkpoint_id'] == record['id']]
    assert protect_log['extra_info']['checkpoint_item_id'] == item['id']

    used = csbs.call('GET', 'quotas')['quotas']['resources']
    backups, = [r for r in used if r['type'] == 'backups']
    for backup in (item, second):
        answered = csbs.delete_like_terraform(backup)
        assert answered[0] == 200 and set(answered[1:]) <= {400, 404}, answered
    gone = csbs.error('GET', 'checkpoint_items/%s' % item['id'], 404)
    assert gone['error_code'] == 'CSBS.3001'
    assert csbs.error('GET', 'providers/%s/checkpoints/%s' % (PROVIDER_ID, record['id']),
                      404)['error_code'] == 'CSBS.3001'
    after, = [r for r in csbs.call('GET', 'quotas')['quotas']['resources']
              if r['type'] == 'backups']
    assert after['used'] == backups['used'] - 2 and after['quota'] == 600


def test_a_record_deletes_while_busy_answer_csbs_2003_and_the_body_is_empty(csbs):
    # rule: B3
    server, _ = csbs.server((10,))
    _hold(csbs, 'backup.start')
    record = csbs.protect(server)
    path = 'providers/%s/checkpoints/%s' % (PROVIDER_ID, record['id'])
    busy = csbs.error('DELETE', path, 400)
    assert busy['error_code'] == 'CSBS.2003'
    assert csbs.call('GET', path)['checkpoint']['status'] == 'protecting'
    item, = csbs.items(checkpoint_id=record['id'])
    assert csbs.wait_item(item['id'])['status'] == 'available'
    shown = csbs.call('GET', 'providers/%s/checkpoints' % PROVIDER_ID)['checkpoints']
    assert record['id'] in {cp['id'] for cp in shown}
    assert csbs.call('DELETE', path, params={'checkpoint_items': item['id']}) == {}
    csbs.wait_gone('checkpoint_items/%s' % item['id'])


def test_a_server_with_a_shared_disk_or_no_disk_is_not_backed_up(csbs):
    # rule: C2
    server, (system, shared) = csbs.server((10, 10), shared=True)
    refused = csbs.error('POST', 'providers/%s/resources/%s/action' % (PROVIDER_ID, server),
                         400, json={'protect': {}})
    assert refused['error_code'] == 'CSBS.6010' and shared in refused['error_msg']
    checked, = _action(csbs, {'check_protectable': [
        {'resource_id': server, 'resource_type': SERVER}]})['protectable']
    assert (checked['result'], checked['error_code']) == (False, 'CSBS.6010')
    bare, (bare_disk,) = csbs.server((10,))
    csbs.ecs_job('POST', 'action', {'os-stop': {'servers': [{'id': bare}]}})
    csbs.ecs_job('DELETE', '%s/detachvolume/%s' % (bare, bare_disk))
    missing = str(uuid.uuid4())
    results = _action(csbs, {'check_protectable': [
        {'resource_id': bare, 'resource_type': SERVER},
        {'resource_id': missing, 'resource_type': SERVER},
        {'resource_id': server, 'resource_type': 'OS::Ironic::BareMetalServer'}]})
    assert [(r['result'], r['error_code']) for r in results['protectable']] == [
        (False, 'CSBS.6007'), (False, 'CSBS.6000'), (False, 'CSBS.6003')]


def test_restore_preconditions_and_bad_input_name_the_field(csbs):
    # rule: R1, C4
    server, (system, data) = csbs.server((10, 20))
    item = csbs.backup(server)
    by_disk = {v['source_volume_id']: v['id'] for v in item['extend_info']['volume_backups']}
    other, (other_system, other_data) = csbs.server((10, 10))

    def check(volumes: dict[str, str], target: str = server, item_id: str = item['id']) -> str:
        result, = _action(csbs, {'check_restorable': [{'checkpoint_item_id': item_id, 'target': {
            'resource_id': target, 'resource_type': SERVER, 'volumes': [
                {'backup_id': b, 'volume_id': v} for b, v in volumes.items()]}}]})['restorable']
        return result['error_code'] if not result['result'] else 'ok'
    assert check(csbs.volume_map(item)) == 'ok'
    assert check({by_disk[system]: system}) == 'CSBS.6018'                 # partial
    assert check({by_disk[system]: data, by_disk[data]: system}) == 'CSBS.6023'
    assert check({by_disk[system]: system, by_disk[data]: other_data}) == 'CSBS.6014'
    assert check({by_disk[system]: other_system, by_disk[data]: other_data},
                 target=other) == 'CSBS.6024'                               # 20 GB onto 10
    assert check({'x' * 36: system}) == 'CSBS.6017'
    assert check(csbs.volume_map(item), item_id='nope') == 'CSBS.3001'
    body = csbs.restore_body(item, server, {by_disk[system]: system})
    partial = csbs.error('POST', 'restores', 400, json=body)
    assert partial['error_code'] == 'CSBS.6018' and 'volumes' in partial['error_msg']
    body['restore']['provider_id'] = 'c714180d-ea34-4b13-9a5e-577c7c416eec'
    assert 'provider_id' in csbs.error('POST', 'restores', 400, json=body)['error_msg']
    del body['restore']['parameters']['power_on']
    missing = csbs.error('POST', 'restores', 400, json=body)
    assert missing['error_code'] == 'CSBS.9001' and 'power_on' in missing['error_msg']
    for suffix, status, code, field in (
            ('checkpoint_items/%s' % ('0' * 32), 404, 'CSBS.3001', 'checkpoint_item_id'),
            ('restores/%s' % ('0' * 32), 404, 'CSBS.6040', 'restore_id'),
            ('operation_logs/nope', 404, 'CSBS.6040', 'operation_log_id'),
            ('providers/nope', 400, 'CSBS.9001', 'provider_id'),
            ('checkpoint_items?sort=size', 400, 'CSBS.9001', 'sort'),
            ('checkpoint_items?status=done', 400, 'CSBS.9001', 'status'),
            ('checkpoint_items?start_time=yesterday', 400, 'CSBS.9001', 'start_time'),
            ('checkpoint_items?marker=nope', 400, 'CSBS.9001', 'marker')):
        path, _, query = suffix.partition('?')
        params = dict([query.split('=')]) if query else None
        body = csbs.error('GET', path, status, params=params)
        assert (body['error_code'], field in body['error_msg']) == (code, True), body
    action = 'providers/%s/resources/%s/action' % (PROVIDER_ID, server)
    for bad, field in (({}, 'body'), ({'protect': {'backup_name': 'a b'}}, 'protect.backup_name'),
                       ({'protect': {'description': '<x>'}}, 'protect.description')):
        body = csbs.error('POST', action, 400, **({'json': bad} if bad else {}))
        assert body['error_code'] == 'CSBS.9001' and field in body['error_msg'], body
    wrong = csbs.error('POST', 'providers/nope/resources/%s/action' % server, 400,
                       json={'protect': {}})
    assert 'provider_id' in wrong['error_msg']
    unknown = csbs.error('POST', 'providers/%s/resources/%s/action' % (PROVIDER_ID, 'x' * 36),
                         400, json={'protect': {}})
    assert unknown['error_code'] == 'CSBS.6000'
    assert 'exactly one' in csbs.error('POST', 'providers/%s/resources/action' % PROVIDER_ID,
                                       400, json={})['error_msg']
    assert csbs.call('GET', 'providers') == {'providers': [csbs.call(
        'GET', 'providers/%s' % PROVIDER_ID)['provider']]}


def test_a_failed_backup_is_error_with_its_reason_and_a_failed_job(csbs):
    # rule: C6, C3
    server, _ = csbs.server((10, 10))
    _hold(csbs, 'backup.transfer', action='fail')
    record = csbs.protect(server)
    item, = csbs.items(checkpoint_id=record['id'])
    failed = csbs.wait_item(item['id'])
    info = failed['extend_info']
    assert failed['status'] == 'error' and info['fail_op'] == 'backup', failed
    assert 'backup.transfer' in info['fail_reason'] and info['fail_code']['Code'] > 0
    log, = [log for log in csbs.call('GET', 'operation_logs', params={
        'operation_type': 'protect', 'status': 'error'})['operation_logs']
        if log['checkpoint_id'] == record['id']]
    assert 'backup.transfer' in log['error_info'] and log['ended_at']
    assert csbs.call('GET', 'operation_logs/%s' % log['id'])['operation_log'] == log
    assert csbs.delete_like_terraform(failed)[0] == 200  # an error backup deletes too


def test_disks_written_during_the_backup_restore_to_one_instant(csbs, stack):
    # rule: C3, R7
    server, disks = csbs.server((10, 10))
    volumes = StackBackups(stack).volumes
    with guest_writing(volumes, disks):
        item = csbs.backup(server)
    assert csbs.restore(item, server, csbs.volume_map(item))['status'] == 'success'
    first, second = counters(volumes, disks)
    assert first in (second, second + 1), (first, second)


def test_a_disk_job_killed_fails_the_backup_frees_its_blocks_and_a_retry_succeeds(
        fresh_stack_factory):
    # rule: C3, C6
    stack = fresh_stack_factory(settings=crashes.settings(max_attempts=1))
    csbs = Csbs(stack)
    server, disks = csbs.server((10, 10))
    for disk in disks:
        csbs.write(disk, 0, os.urandom(4 << 20))
    crashes.hold(stack, 'backup.batch')  # one disk's job stops after its first batch
    record = csbs.protect(server)
    crashes.kill_workers_when_held(stack)
    crashes.start_worker(stack)
    item, = csbs.items(checkpoint_id=record['id'])
    failed = csbs.wait_item(item['id'])
    assert failed['status'] == 'error' and failed['extend_info']['fail_op'] == 'backup'
    assert 'worker lost' in failed['extend_info']['fail_reason'], failed
    assert crashes.clean_after_sweep(stack)['chunks'] == 0
    csbs.backup(server)
    assert crashes.clean_after_sweep(stack)['chunks'] == 2 * 64
