"""VBS v2 backup policies on a running stack: the default policy (P1), bad input (P2, P4,
P5, P6), binding disks (D1), executing now (P15, P7), backup tasks (D4), tags (P16) and
the every-N-days cycle with retention under a frozen clock (P5, P6)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.support.client import poll
from tests.support.vbs import Vbs

SCHEDULE = {'start_time': '06:00', 'frequency': 1, 'rentention_num': 5}


class Policies(Vbs):
    """The VBS policy calls of one project."""

    def refused(self, method: str, suffix: str, status: int, **kwargs: Any) -> dict:
        """The VBS error of a failing policy call, whose code is an AutoBackup one."""
        body = self.call(method, suffix, expect=status, **kwargs)
        assert set(body) == {'error'} and body['error']['code'].startswith('AutoBackup.'), body
        return body['error']

    def policy(self, name: str = 'policy', **fields: Any) -> str:
        body = {'backup_policy_name': name, 'scheduled_policy': dict(SCHEDULE), **fields}
        return self.call('POST', 'backuppolicy', json=body)['backup_policy_id']

    def listed(self) -> dict[str, dict]:
        return {policy['backup_policy_id']: policy
                for policy in self.call('GET', 'backuppolicy')['backup_policies']}

    def associate(self, policy_id: str, *disks: str, resource_type: str = 'volume') -> dict:
        return self.call('POST', 'backuppolicyresources', json={
            'backup_policy_id': policy_id,
            'resources': [{'resource_id': disk, 'resource_type': resource_type}
                          for disk in disks]})

    def tasks(self, policy_id: str, **params: Any) -> dict:
        return self.call('GET', 'backuppolicy/%s/backuptasks' % policy_id, params=params)

    def delete(self, *policy_ids: str) -> None:
        for policy_id in policy_ids:
            self.call('DELETE', 'backuppolicy/%s' % policy_id, expect=204)


@pytest.fixture
def vbs(stack) -> Policies:
    return Policies(stack, 'alt_demo')


def _fault(stack, point: str, action: str, seconds: float = 0) -> None:
    response = stack.admin().post('/sim/v1/faults', json={'point': point, 'action': action,
                                                          'seconds': seconds, 'times': 1})
    assert response.status_code == 201, response.text


def test_the_default_policy_and_at_most_nine_more(vbs):
    # rule: P1
    default, = [p for p in vbs.listed().values() if p['backup_policy_name'] == 'defaultPolicy']
    assert default['scheduled_policy'] == {
        'start_time': '00:00', 'week_frequency': ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI',
                                                  'SAT'],
        'rentention_num': 7, 'remain_first_backup_of_curMonth': 'N', 'status': 'ON'}
    suffix = 'backuppolicy/%s' % default['backup_policy_id']
    assert vbs.refused('DELETE', suffix, 400)['code'] == 'AutoBackup.0100'
    renamed = vbs.refused('PUT', suffix, 400, json={'backup_policy_name': 'other'})
    assert renamed['code'] == 'AutoBackup.0100' and 'backup_policy_name' in renamed['message']
    # its other settings change; its own name may be given
    vbs.call('PUT', suffix, json={'backup_policy_name': 'defaultPolicy',
                                  'scheduled_policy': {'status': 'OFF', 'rentention_num': 3}})
    changed = vbs.listed()[default['backup_policy_id']]['scheduled_policy']
    assert (changed['status'], changed['rentention_num']) == ('OFF', 3)
    vbs.call('PUT', suffix, json={'scheduled_policy': {'status': 'ON', 'rentention_num': 7}})

    made = [vbs.policy('more-%d' % index) for index in range(9)]
    quota = vbs.refused('POST', 'backuppolicy', 413, json={
        'backup_policy_name': 'tenth', 'scheduled_policy': SCHEDULE})
    assert quota['code'] == 'AutoBackup.0203'
    vbs.delete(*made)
    assert list(vbs.listed()) == [default['backup_policy_id']]


@pytest.mark.parametrize('change, field, code', [
    ({'backup_policy_name': 'default_copy'}, 'backup_policy_name', 'AutoBackup.0102'),
    ({'backup_policy_name': 'x' * 65}, 'backup_policy_name', 'AutoBackup.0102'),
    ({'backup_policy_name': 'a b'}, 'backup_policy_name', 'AutoBackup.0102'),
    ({'start_time': '06:30'}, 'scheduled_policy.start_time', 'AutoBackup.0103'),
    ({'start_time': '6 am'}, 'scheduled_policy.start_time', 'AutoBackup.0103'),
    ({'frequency': 15}, 'scheduled_policy.frequency', 'AutoBackup.0106'),
    ({'frequency': 0}, 'scheduled_policy.frequency', 'AutoBackup.0106'),
    ({'rentention_num': 1}, 'scheduled_policy.rentention_num', 'AutoBackup.0107'),
    ({'rentention_num': 100}, 'scheduled_policy.rentention_num', 'AutoBackup.0107'),
    ({'status': 'maybe'}, 'scheduled_policy.status', 'AutoBackup.0104'),
    ({'time_zone': 'CET'}, 'time_zone', 'AutoBackup.0226'),
])
def test_bad_input_is_a_400_naming_the_field(vbs, change, field, code):
    # rule: P1, P2, P4, P5, P6
    (name, value), = change.items()
    body: dict[str, Any] = {'backup_policy_name': 'fine', 'scheduled_policy': dict(SCHEDULE)}
    (body if name in ('backup_policy_name', 'time_zone') else body['scheduled_policy'])[name] = \
        value
    error = vbs.refused('POST', 'backuppolicy', 400, json=body)
    assert error['code'] == code and field in error['message'], error
    # the same checks on update
    if name != 'backup_policy_name' or value.startswith('default'):
        policy_id = vbs.policy('fine-update')
        update = {key: value for key, value in body.items() if key != 'backup_policy_name'}
        if name == 'backup_policy_name':
            update = {name: value}
        error = vbs.refused('PUT', 'backuppolicy/%s' % policy_id, 400, json=update)
        assert error['code'] == code and field in error['message'], error
        vbs.delete(policy_id)


def test_other_bad_requests(vbs):
    assert vbs.refused('POST', 'backuppolicy', 400, data=b'{')['code'] == 'AutoBackup.0008'
    missing = vbs.refused('POST', 'backuppolicy', 400, json={
        'backup_policy_name': 'p', 'scheduled_policy': {'start_time': '01:00',
                                                        'rentention_num': 3}})
    assert 'scheduled_policy.frequency' in missing['message']
    for body, field in (({'backup_policy_name': 'p', 'scheduled_policy': 'daily'},
                         'scheduled_policy'),
                        ([], 'body'),
                        ({'backup_policy_name': 'p', 'scheduled_policy': {
                            **SCHEDULE, 'frequency': None, 'week_frequency': 'MON'}},
                         'scheduled_policy.week_frequency'),
                        ({'backup_policy_name': 'p', 'scheduled_policy': SCHEDULE,
                          'tags': [{'key': 'k'}]}, 'tags.0.value')):
        assert field in vbs.refused('POST', 'backuppolicy', 400, json=body)['message']
    empty = vbs.refused('POST', 'backuppolicyresources', 400, json={
        'backup_policy_id': 'x', 'resources': []})
    assert empty['code'] == 'AutoBackup.0207' and 'resources' in empty['message']
    default_id = next(iter(vbs.listed()))
    assert 'limit' in vbs.refused('GET', 'backuppolicy/%s/backuptasks' % default_id, 400,
                                  params={'limit': 'many'})['message']
    unknown = '00000000-0000-0000-0000-000000000000'
    assert vbs.refused('DELETE', 'backuppolicy/%s' % unknown, 404)['code'] == 'AutoBackup.0205'
    assert vbs.refused('GET', 'backuppolicy/%s/backuptasks' % unknown, 404)['code'] == \
        'AutoBackup.0205'


def test_disks_join_a_policy_run_now_once_at_a_time_and_show_as_tasks(vbs, stack):
    # rule: D1, P15, D4, P7
    disks = [vbs.cbr.disk(10), vbs.cbr.disk(10)]
    _fault(stack, 'evs.create_volume', 'fail')
    broken = vbs.cbr.client.post('/v2.1/%s/cloudvolumes' % vbs.project_id, json={'volume': {
        'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10}}).json()
    assert vbs.client.wait_job(broken['job_id'])['status'] == 'FAIL'
    broken_disk = broken['volume_ids'][0]
    assert vbs.cbr.disk_status(broken_disk) == 'error'
    policy_id = vbs.policy('joined', tags=[{'key': 'team', 'value': 'ops'}])
    missing = '11111111-1111-1111-1111-111111111111'

    joined = vbs.associate(policy_id, *disks, broken_disk, missing)
    assert [entry['resource_id'] for entry in joined['success_resources']] == disks
    assert joined['success_resources'][0]['availability_zone'] == 'sim-az-1'
    refused = {entry['resource_id']: entry['code'] for entry in joined['fail_resources']}
    assert refused == {broken_disk: 'AutoBackup.0206', missing: 'AutoBackup.1400'}
    wrong_type = vbs.associate(policy_id, disks[0], resource_type='server')
    assert wrong_type['fail_resources'][0]['code'] == 'AutoBackup.0211'
    assert vbs.listed()[policy_id]['policy_resource_count'] == 2

    _fault(stack, 'backup.start', 'delay', seconds=3)
    vbs.call('POST', 'backuppolicy/%s/action' % policy_id, expect=204)
    busy = vbs.refused('POST', 'backuppolicy/%s/action' % policy_id, 409)
    assert busy['code'] == 'AutoBackup.0225'
    done = poll(lambda: vbs.tasks(policy_id), lambda body: body['count'] == 2 and all(
        task['status'] == 'EXECUTE_SUCCESS' for task in body['tasks']), 60,
        'the policy run did not end')
    tasks = done['tasks']
    assert {task['resource_id'] for task in tasks} == set(disks)
    first = tasks[0]
    assert first['backup_name'].startswith('autobk_') and len(first['backup_name']) == 11
    assert (first['resource_type'], first['vbs_job_id']) == ('volume', first['job_id'])
    assert first['created_at'] >= tasks[1]['created_at'] and first['finished_at']
    assert vbs.tasks(policy_id, sort_dir='asc')['tasks'] == tasks[::-1]
    page = vbs.tasks(policy_id, limit=1, offset=1)
    assert (page['count'], page['tasks']) == (2, tasks[1:])
    assert vbs.tasks(policy_id, marker=first['job_id'])['tasks'] == tasks[1:]
    assert vbs.tasks(policy_id, job_id=first['job_id'])['tasks'] == [first]
    assert vbs.tasks(policy_id, status='EXECUTE_FAIL') == {'tasks': [], 'count': 0}
    # executed now: plain backups, never deleted by retention (P7)
    backup, = vbs.details(volume_id=disks[0])
    assert backup['name'] == [t for t in tasks if t['resource_id'] == disks[0]][0]['backup_name']

    # a disk bound to another policy moves to it
    other = vbs.policy('other')
    assert [entry['resource_id'] for entry in vbs.associate(other, disks[1])[
        'success_resources']] == [disks[1]]
    left = vbs.call('POST', 'backuppolicyresources/%s/deleted_resources' % policy_id, json={
        'resources': [{'resource_id': disks[0]}, {'resource_id': disks[1]}]})
    assert left['success_resources'] == [{
        'resource_id': disks[0], 'resource_type': 'volume', 'availability_zone': 'sim-az-1',
        'os_vol_host_attr': 'pod01.sim-az-1'}]
    assert [(entry['resource_id'], entry['code']) for entry in left['fail_resources']] == \
        [(disks[1], 'AutoBackup.1400')]
    counts = {key: policy['policy_resource_count'] for key, policy in vbs.listed().items()}
    assert (counts[policy_id], counts[other]) == (0, 1)
    assert vbs.refused('POST', 'backuppolicy/%s/action' % policy_id, 400)['code'] == \
        'AutoBackup.1700'
    vbs.delete(policy_id, other)


def test_policy_tags_and_the_search_by_tags(vbs):
    # rule: P16
    tagged = vbs.policy('tagged', tags=[{'key': 'team', 'value': 'ops'}])
    other = vbs.policy('untagged')
    suffix = 'backuppolicy/%s/tags' % tagged
    vbs.call('POST', suffix, expect=204, json={'tag': {'key': 'env', 'value': 'prod'}})
    vbs.call('POST', suffix + '/action', expect=204, json={
        'action': 'update', 'tags': [{'key': 'team', 'value': 'dev'}, {'key': 'x', 'value': ''}]})
    vbs.call('POST', suffix + '/action', expect=204, json={
        'action': 'delete', 'tags': [{'key': 'x'}]})
    assert vbs.call('GET', suffix)['tags'] == [{'key': 'team', 'value': 'dev'},
                                               {'key': 'env', 'value': 'prod'}]
    assert {'key': 'env', 'values': ['prod']} in vbs.call('GET', 'backuppolicy/tags')['tags']
    vbs.call('DELETE', suffix + '/env', expect=204)
    assert vbs.refused('DELETE', suffix + '/env', 404)['code'] == 'AutoBackup.0216'
    too_many = vbs.refused('POST', suffix + '/action', 400, json={
        'action': 'create', 'tags': [{'key': 'k%d' % i, 'value': 'v'} for i in range(10)]})
    assert too_many['code'] == 'AutoBackup.0215'
    bad = vbs.refused('POST', suffix, 400, json={'tag': {'key': 'a b', 'value': 'v'}})
    assert bad['code'] == 'AutoBackup.0214' and 'tag.key' in bad['message']

    search = 'backuppolicy/resource_instances/action'
    found = vbs.call('POST', search, json={'action': 'filter', 'limit': '10', 'offset': '0',
                                           'tags': [{'key': 'team', 'values': ['dev']}]})
    assert found['total_count'] == 1 and found['resources'][0]['resource_id'] == tagged
    assert found['resources'][0]['tags'] == [{'key': 'team', 'value': 'dev'}]
    untagged = vbs.call('POST', search, json={'action': 'count',
                                              'not_tags': [{'key': 'team', 'values': []}],
                                              'matches': [{'key': 'resource_name',
                                                           'value': 'untag'}]})
    assert untagged == {'total_count': 1}
    vbs.delete(tagged, other)


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


def test_every_3_days_from_the_1st_keeping_the_first_backup_of_the_month(fresh_stack_factory):
    # rule: P5, P6, P3
    stack = fresh_stack_factory()
    vbs = Policies(stack)
    disk = vbs.cbr.disk(10)
    admin = stack.admin()

    def set_clock(instant: dt.datetime) -> None:
        response = admin.post('/sim/v1/clock', json={'action': 'set', 'to': instant.isoformat()})
        assert response.status_code == 200, response.text

    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    set_clock(dt.datetime(2030, 1, 29, 12, tzinfo=dt.timezone.utc))
    policy_id = vbs.policy('every-3-days', time_zone='UTC+00:00', scheduled_policy={
        'start_time': '06:00', 'frequency': 3, 'rentention_num': 2,
        'remain_first_backup_of_curMonth': 'Y'})
    vbs.associate(policy_id, disk)

    def run(day: dt.datetime) -> None:
        """Advance past the run of ``day`` at 06:00; wait for it and for its deletions."""
        set_clock(day.replace(hour=6, minute=5))
        poll(lambda: vbs.tasks(policy_id)['tasks'], lambda tasks: tasks and tasks[0][
            'created_at'].startswith(day.strftime('%Y-%m-%dT')) and tasks[0][
            'status'] == 'EXECUTE_SUCCESS', 60, 'the run of %s did not back up' % day)
        poll(lambda: vbs.details(volume_id=disk), lambda found: all(
            backup['status'] != 'deleting' for backup in found), 60, 'deletions did not end')

    for day in (31, 32):  # 2030-01-31 and 02-01
        run(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=day - 1))
    set_clock(dt.datetime(2030, 2, 3, 23, tzinfo=dt.timezone.utc))  # nothing on the 2nd, 3rd
    assert vbs.tasks(policy_id)['count'] == 2
    for day in (4, 7):
        run(dt.datetime(2030, 2, day, tzinfo=dt.timezone.utc))
    tasks = vbs.tasks(policy_id, sort_dir='asc')['tasks']
    assert [task['created_at'][5:10] for task in tasks] == ['01-31', '02-01', '02-04', '02-07']
    # the two newest are kept, and February's first; January's first is deleted
    kept = sorted(vbs.details(volume_id=disk), key=lambda backup: backup['created_at'])
    assert [backup['name'] for backup in kept] == [task['backup_name'] for task in tasks[1:]]
    assert [_utc(backup['created_at']) for backup in kept] == [
        dt.datetime(2030, 2, day, 6, tzinfo=dt.timezone.utc) for day in (1, 4, 7)]
