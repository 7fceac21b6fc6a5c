"""Clock control for tests: an advance fires what fell due before it returns, and a
second call waits until every operation has ended.

The stack's scheduler makes one pass at start and then sleeps for an hour, so only the
clock API's own firing can explain a run that has fired when the advance returns.
"""
from __future__ import annotations

import datetime as dt

from tests.support.cbr import Cbr

HOUR = 3600


def test_an_advance_returns_after_the_due_runs_fired_and_wait_idle_sees_work_end(
        fresh_stack_factory):
    # rule: P3, B2
    stack = fresh_stack_factory(settings={'scheduler': {'loop_interval': HOUR}})
    cbr, admin = Cbr(stack), stack.admin()
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    now = dt.datetime.fromisoformat(admin.get('/sim/v1/clock').json()['now'])
    hour = (now + dt.timedelta(hours=2)).hour
    policy = cbr.call('POST', 'policies', json={'policy': {
        'name': 'daily', 'operation_type': 'backup',
        'operation_definition': {'max_backups': 10},
        'trigger': {'properties': {'pattern': [
            'FREQ=DAILY;INTERVAL=1;BYHOUR=%d;BYMINUTE=00' % hour]}}}})['policy']
    disks = [cbr.disk(10) for _ in range(2)]
    vault = cbr.vault('disk', 40, disks, backup_policy_id=policy['id'])

    advanced = admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 3 * HOUR})
    assert advanced.status_code == 200
    assert advanced.json()['fired'] == {'policy_runs': 1, 'expired_backups': 0,
                                        'vaults_deferred': 0}
    listed = cbr.call('GET', 'backups', params={'vault_id': vault['id']})['backups']
    assert sorted(backup['resource_id'] for backup in listed) == sorted(disks)
    assert all(backup['name'].startswith('autobk_') for backup in listed)

    idle = admin.post('/sim/v1/wait-idle', json={'timeout': 60})
    assert (idle.status_code, idle.json()) == (200, {'idle': True, 'busy_operations': 0})
    listed = cbr.call('GET', 'backups', params={'vault_id': vault['id']})['backups']
    assert [backup['status'] for backup in listed] == ['available', 'available']

    # a quiet advance fires nothing; a long one fires each run that fell due
    quiet = admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': HOUR})
    assert quiet.json()['fired'] == {'policy_runs': 0, 'expired_backups': 0, 'vaults_deferred': 0}
    two_days = admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 48 * HOUR})
    assert two_days.json()['fired']['policy_runs'] == 2
    assert admin.post('/sim/v1/wait-idle', json={'timeout': 60}).status_code == 200

    # while a job is held, a short wait says how much is still going
    assert admin.post('/sim/v1/faults', json={'point': 'backup.start', 'action': 'delay',
                                              'seconds': 3, 'times': 1}).status_code < 300
    cbr.checkpoint(vault['id'], disks[:1])
    busy = admin.post('/sim/v1/wait-idle', json={'timeout': 0.2})
    assert busy.status_code == 409
    assert busy.json()['idle'] is False and busy.json()['busy_operations'] >= 1
    assert admin.post('/sim/v1/wait-idle', json={'timeout': 60}).status_code == 200
    for bad in (-1, 301, 'soon'):
        refused = admin.post('/sim/v1/wait-idle', json={'timeout': bad})
        assert refused.status_code == 400 and 'timeout' in refused.text

