"""CSBS v1 backup policies on a running stack: bodies as the reference shows them, binding
servers (C1), manual runs (C7, P15), scheduled runs (P3, P5) and bad input (P2, P4, P6)."""
from __future__ import annotations

import datetime as dt

import pytest

from cbr_common.csbs import PROVIDER_ID
from cbr_common.db import models
from cbr_common.db.engine import session_scope
from tests.support import csbs as csbs_support
from tests.support.client import poll
from tests.support.dataplane import StackBackups

WEEKLY = ('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nRRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=12;BYMINUTE=27'
          '\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n')


def _daily(hour: int, minute: int) -> str:
    return ('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nRRULE:FREQ=DAILY;BYHOUR=%d;BYMINUTE=%d\r\n'
            'END:VEVENT\r\nEND:VCALENDAR\r\n' % (hour, minute))


class Csbs(csbs_support.Csbs):
    """The CSBS driver with policy calls."""

    def policy_body(self, servers: list[str], name: str = 'my-plan', pattern: str = WEEKLY,
                    **definition) -> dict:
        return {'policy': {
            'name': name, 'description': 'My plan', 'provider_id': PROVIDER_ID,
            'parameters': {'common': {}},
            'scheduled_operations': [{
                'name': 'my-backup-policy', 'description': 'My backup policy', 'enabled': True,
                'operation_definition': definition or {'max_backups': 20},
                'trigger': {'properties': {'pattern': pattern}}, 'operation_type': 'backup'}],
            'resources': [{'id': server, 'type': 'OS::Nova::Server', 'name': 'resource%d' % i}
                          for i, server in enumerate(servers)]}}

    def policy(self, servers: list[str], **kwargs) -> dict:
        return self.call('POST', 'policies', json=self.policy_body(servers, **kwargs))['policy']

    def wait_items(self, checkpoint_id: str, count: int) -> list[dict]:
        return poll(lambda: self.items(checkpoint_id=checkpoint_id),
                    lambda found: len(found) == count and all(
                        item['status'] in ('available', 'error') for item in found),
                    60, 'the backups of checkpoint %s did not end' % checkpoint_id)


@pytest.fixture
def csbs(stack) -> Csbs:
    return Csbs(stack)


def test_a_policy_reads_back_as_the_reference_shows_it(csbs):
    # rule: P6
    server, _ = csbs.server((10,))
    created = csbs.policy([server], name='plan-shape', max_backups=20)
    operation, = created['scheduled_operations']
    assert operation['operation_definition'] == {
        'max_backups': '20', 'retention_duration_days': '-1', 'permanent': 'False',
        'plan_id': created['id'], 'provider_id': PROVIDER_ID}
    assert operation['trigger']['properties']['pattern'] == WEEKLY
    assert operation['trigger']['properties']['format'] == 'ical'
    assert operation['trigger']['type'] == 'time' and operation['trigger_id']
    assert (operation['name'], operation['enabled']) == ('my-backup-policy', True)
    assert created['resources'] == [{'id': server, 'type': 'OS::Nova::Server',
                                     'name': 'resource0', 'extra_info': {}}]
    assert created['provider_id'] == PROVIDER_ID and created['status'] == 'enabled'
    assert csbs.call('GET', 'policies/%s' % created['id'])['policy'] == created
    listed = csbs.call('GET', 'policies', params={'name': 'plan-shape'})['policies']
    assert [policy['id'] for policy in listed] == [created['id']]
    cbr_listed = csbs.client.get('/v3/%s/policies' % csbs.project_id).json()['policies']
    assert created['id'] not in {policy['id'] for policy in cbr_listed}
    updated = csbs.call('PUT', 'policies/%s' % created['id'], json={'policy': {
        'name': 'plan-shape-2', 'scheduled_operations': [{
            'id': operation['id'], 'enabled': False,
            'operation_definition': {'permanent': True}}]}})['policy']
    assert updated['name'] == 'plan-shape-2' and updated['status'] == 'disabled'
    assert updated['scheduled_operations'][0]['operation_definition']['permanent'] == 'True'
    assert csbs.call('DELETE', 'policies/%s' % created['id']) == {}
    assert csbs.error('GET', 'policies/%s' % created['id'], 404)['error_code'] == 'CSBS.3000'


def test_binding_a_server_to_a_second_policy_moves_it(csbs):
    # rule: C1
    server, _ = csbs.server((10,))
    first = csbs.policy([server], name='plan-first')
    second = csbs.policy([server], name='plan-second')
    assert csbs.call('GET', 'policies/%s' % first['id'])['policy']['resources'] == []
    assert [r['id'] for r in csbs.call('GET', 'policies/%s' % second['id'])['policy'][
        'resources']] == [server]


@pytest.mark.parametrize('change, field, code', [
    (lambda body: body['policy'].update(name='has space'), 'policy.name', 'CSBS.9001'),
    (lambda body: body['policy'].update(name='n' * 256), 'policy.name', 'CSBS.9001'),
    (lambda body: body['policy'].update(description='a <b>'), 'policy.description',
     'CSBS.9001'),
    (lambda body: body['policy'].update(provider_id='c714180d-ea34-4b13-9a5e-577c7c416eec'),
     'policy.provider_id', 'CSBS.9001'),
    (lambda body: body['policy']['scheduled_operations'][0]['trigger']['properties'].update(
        pattern=_daily(1, 0).replace('BYMINUTE=0', 'BYMINUTE=0,30')),
     'policy.scheduled_operations.0.trigger.properties.pattern', 'CSBS.9001'),
    (lambda body: body['policy']['scheduled_operations'][0]['trigger']['properties'].update(
        pattern='RRULE:FREQ=DAILY'), 'policy.scheduled_operations.0.trigger.properties.pattern',
     'CSBS.9001'),
    (lambda body: body['policy']['scheduled_operations'][0].update(
        operation_definition={'max_backups': 0}),
     'policy.scheduled_operations.0.operation_definition.max_backups', 'CSBS.9001'),
    (lambda body: body['policy']['scheduled_operations'].append(
        dict(body['policy']['scheduled_operations'][0])), 'policy.scheduled_operations',
     'CSBS.9001'),
    (lambda body: body['policy'].update(resources=[{'id': 's%d' % i} for i in range(65)]),
     'policy.resources', 'CSBS.9001'),
    (lambda body: body['policy'].update(resources=[{'id': 'no-such-server'}]),
     'policy.resources.0.id', 'CSBS.6000'),
])
def test_bad_policy_bodies_are_refused_naming_the_field(csbs, change, field, code):
    # rule: P2, P4, P6, C1
    body = csbs.policy_body([])
    change(body)
    error = csbs.error('POST', 'policies', 400, json=body)
    assert error['error_code'] == code and field in error['error_msg'], error


def test_a_duplicate_name_is_refused(csbs):
    csbs.policy([], name='plan-twice')
    error = csbs.error('POST', 'policies', 400, json=csbs.policy_body([], name='plan-twice'))
    assert error['error_code'] == 'CSBS.9007'


def test_running_a_policy_now_names_its_backups_and_refuses_while_one_runs(csbs, stack):
    # rule: C7, P15, P7
    server, _ = csbs.server((10,))
    policy = csbs.policy([server], name='plan-manual')
    response = stack.admin().post('/sim/v1/faults', json={
        'point': 'backup.start', 'action': 'delay', 'seconds': 3, 'times': 1})
    assert response.status_code == 201
    body = {'checkpoint': {'plan_id': policy['id'],
                           'parameters': {'auto_trigger': False, 'resources': [server]}}}
    checkpoint = csbs.call('POST', 'providers/%s/checkpoints' % PROVIDER_ID, json=body)['checkpoint']
    assert checkpoint['status'] == 'protecting'
    assert checkpoint['protection_plan']['id'] == policy['id']
    busy = csbs.error('POST', 'providers/%s/checkpoints' % PROVIDER_ID, 400, json=body)
    assert busy['error_code'] == 'CSBS.2004'
    item, = csbs.wait_items(checkpoint['id'], 1)
    assert item['status'] == 'available' and item['resource_id'] == server
    assert item['name'].startswith('backup_') and len(item['name']) == len('backup_') + 4
    assert item['extend_info']['auto_trigger'] is False


@pytest.fixture
def frozen(stack):
    """The shared stack's clock frozen for the test, running again after it (other tests
    on this stack order rows by creation time)."""
    admin = stack.admin()
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    yield admin
    assert admin.post('/sim/v1/clock', json={'action': 'resume'}).status_code == 200


def test_a_scheduled_run_backs_up_the_bound_servers_the_same_day(csbs, frozen):
    # rule: P3, P5, B2
    now = dt.datetime.fromisoformat(frozen.get('/sim/v1/clock').json()['now'])
    due = now + dt.timedelta(hours=1, minutes=7)
    server, _ = csbs.server((10,))
    policy = csbs.policy([server], name='plan-daily', pattern=_daily(due.hour, due.minute))
    assert frozen.post('/sim/v1/clock', json={
        'action': 'set', 'to': (due + dt.timedelta(minutes=1)).isoformat()}).status_code == 200
    item, = poll(lambda: csbs.items(policy_id=policy['id']),
                 lambda found: len(found) == 1 and found[0]['status'] == 'available', 60,
                 'the policy did not run')
    assert item['name'].startswith('autobk_') and item['resource_id'] == server
    assert item['extend_info']['auto_trigger'] is True
    created = dt.datetime.fromisoformat(item['created_at'])
    assert created.replace(second=0, microsecond=0) == due.replace(
        second=0, microsecond=0, tzinfo=None)


@pytest.mark.parametrize('collection', ['csbs_backup_policy', 'csbs_backup'])
def test_tags_of_policies_and_backups(csbs, collection):
    # rule: P16
    server, _ = csbs.server((10,))
    if collection == 'csbs_backup_policy':
        tagged = csbs.policy([server], name='plan-tags-%d' % len(csbs.items()))['id']
        other = csbs.policy([], name='plan-untagged-%d' % len(csbs.items()))['id']
    else:
        tagged = csbs.backup(server, backup_name='tagged', tags=[{'key': 'env', 'value': 'x'}])[
            'id']
        assert csbs.item(tagged)['tags'] == [{'key': 'env', 'value': 'x'}]
        other = csbs.backup(server, backup_name='untagged')['id']
    path = '%s/%s/tags' % (collection, tagged)
    assert csbs.call('POST', path, expect=204,
                     json={'tag': {'key': 'env', 'value': 'prod'}}) == {}
    assert csbs.call('POST', path + '/action', expect=204, json={
        'action': 'create', 'tags': [{'key': 'team', 'value': 'db'}]}) == {}
    assert csbs.call('GET', path)['tags'] == [{'key': 'env', 'value': 'prod'},
                                              {'key': 'team', 'value': 'db'}]
    project = {tag['key']: tag['values'] for tag in csbs.call('GET', collection + '/tags')['tags']}
    assert 'prod' in project['env'] and 'db' in project['team']
    found = csbs.call('POST', collection + '/resource_instances/action', json={
        'action': 'filter', 'tags': [{'key': 'team', 'values': ['db']}]})
    assert tagged in {row['resource_id'] for row in found['resources']}
    assert other not in {row['resource_id'] for row in found['resources']}
    counted = csbs.call('POST', collection + '/resource_instances/action', json={
        'action': 'count', 'tags': [{'key': 'team', 'values': ['db']}]})
    assert set(counted) == {'total_count'} and counted['total_count'] >= 1
    assert csbs.call('DELETE', path + '/team', expect=204) == {}
    assert csbs.error('DELETE', path + '/team', 404)['error_code'] == 'CSBS.7001'
    eleven = [{'key': 'k%d' % i, 'value': 'v'} for i in range(11)]
    too_many = csbs.error('POST', path + '/action', 400, json={'action': 'create',
                                                               'tags': eleven})
    assert too_many['error_code'] in ('CSBS.7000', 'CSBS.9001')
    wrong = csbs.error('POST', path + '/action', 400, json={'action': 'update',
                                                           'tags': [{'key': 'a', 'value': 'b'}]})
    assert 'action' in wrong['error_msg']


def test_a_policy_run_gives_its_backups_the_policy_tags(csbs):
    # rule: P16
    server, _ = csbs.server((10,))
    body = csbs.policy_body([server], name='plan-tagged-run')
    body['policy']['tags'] = [{'key': 'app', 'value': 'erp'}]
    policy = csbs.call('POST', 'policies', json=body)['policy']
    assert policy['tags'] == [{'key': 'app', 'value': 'erp'}]
    checkpoint = csbs.call('POST', 'providers/%s/checkpoints' % PROVIDER_ID, json={
        'checkpoint': {'plan_id': policy['id'], 'parameters': {}}})['checkpoint']
    item, = csbs.wait_items(checkpoint['id'], 1)
    assert item['tags'] == [{'key': 'app', 'value': 'erp'}]


def test_servers_with_shared_disks_or_in_the_wrong_state_are_refused(csbs, stack):
    # rule: C2
    shared_server, _ = csbs.server((10, 10), shared=True)
    refused = csbs.error('POST', 'policies', 400, json=csbs.policy_body(
        [shared_server], name='plan-shared'))
    assert refused['error_code'] == 'CSBS.6010'
    assert 'policy.resources.0.id' in refused['error_msg']
    broken, _ = csbs.server((10,))
    with StackBackups(stack).attached():
        with session_scope() as session:
            session.get(models.Server, broken).status = 'ERROR'
    body = csbs.policy_body([broken], name='plan-broken')
    refused = csbs.error('POST', 'policies', 400, json=body)
    assert refused['error_code'] == 'CSBS.6006'
    assert 'policy.resources.0.id' in refused['error_msg']
    assert csbs.call('GET', 'policies', params={'name': 'plan-broken'})['policies'] == []
