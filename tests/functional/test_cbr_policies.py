"""CBR v3 policies over HTTP: limits and validation (the trigger and retention rules
themselves are unit-tested in tests/unit/test_policy_validation.py)."""
from __future__ import annotations

import pytest

from tests.support.cbr import Cbr

DAILY = {'properties': {'pattern': ['FREQ=DAILY;INTERVAL=1;BYHOUR=3;BYMINUTE=00']}}


@pytest.fixture
def alt(stack) -> Cbr:
    return Cbr(stack, 'alt_demo')


def _create(cbr: Cbr, expect: int = 200, **policy) -> dict:
    body = {'name': 'p', 'operation_type': 'backup',
            'operation_definition': {'retention_duration_days': 30}, 'trigger': DAILY, **policy}
    return cbr.call('POST', 'policies', expect=expect, json={'policy': body})


def test_at_most_32_policies_per_project(alt):
    # rule: P1
    existing = alt.call('GET', 'policies')['count']
    made = [_create(alt, name='quota-%d' % i)['policy']['id'] for i in range(32 - existing)]
    refused = _create(alt, expect=413, name='one-too-many')
    assert refused['error_code'] == 'BackupService.6601'
    alt.call('DELETE', 'policies/%s' % made[0], expect=204)
    _create(alt, name='fits-again')
    for policy in alt.call('GET', 'policies')['policies']:
        alt.call('DELETE', 'policies/%s' % policy['id'], expect=204)


@pytest.mark.parametrize('policy, field', [
    ({'name': 'n' * 65}, 'policy.name'),                                           # P2
    ({'name': 'has space'}, 'policy.name'),                                        # P2
    ({'operation_definition': {'max_backups': 1}}, 'max_backups'),                 # P6
    ({'operation_definition': {'retention_duration_days': 100000}},
     'retention_duration_days'),                                                   # P6
    ({'operation_definition': {'day_backups': 3}}, 'timezone'),                   # P6
    ({'trigger': {'properties': {'pattern': ['FREQ=DAILY;BYHOUR=3;BYMINUTE=30']}}},
     'policy.trigger.properties.pattern'),                                         # P4
    ({'trigger': {'properties': {'pattern': ['FREQ=DAILY;INTERVAL=31;BYHOUR=3']}}},
     'policy.trigger.properties.pattern'),                                         # P5
    ({'operation_type': 'archive'}, 'policy.operation_type'),
    ({'trigger': {'properties': {}}}, 'policy.trigger.properties.pattern'),
])
def test_bad_policies_are_refused_naming_the_field(stack, policy, field):
    # rule: P2, P4, P5, P6
    cbr = Cbr(stack)
    body = _create(cbr, expect=400, **policy)
    assert body['error_code'] == 'BackupService.0100' and field in body['error_msg'], body


def test_updating_keeps_what_is_not_given_and_deleting_keeps_backups(stack):
    # rule: P13
    cbr = Cbr(stack)
    policy = _create(cbr, name='to-update')['policy']
    updated = cbr.call('PUT', 'policies/%s' % policy['id'], json={'policy': {
        'name': 'updated', 'operation_definition': {'max_backups': 5}}})['policy']
    assert updated['name'] == 'updated' and updated['operation_definition'] == {'max_backups': 5}
    assert updated['trigger']['properties']['pattern'] == DAILY['properties']['pattern']
    bad = cbr.error('PUT', 'policies/%s' % policy['id'], 400, json={'policy': {
        'operation_definition': {'destination_region': 'elsewhere'}}})
    assert 'destination_region' in bad['error_msg']
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 20, [disk], backup_policy_id=policy['id'])
    backup = cbr.backup(vault['id'], disk)
    cbr.call('DELETE', 'policies/%s' % policy['id'], expect=204)
    assert cbr.call('GET', 'backups/%s' % backup['id'])['backup']['status'] == 'available'
    assert cbr.call('GET', 'vaults', params={'policy_id': policy['id']})['count'] == 0
    assert cbr.error('GET', 'policies/%s' % policy['id'], 404)['error_code'] == \
        'BackupService.6600'
