"""Policies firing on schedule under the simulator's clock (a first slice: firing only)."""
from __future__ import annotations

import datetime as dt

from tests.support.cbr import Cbr
from tests.support.client import poll

HOUR = 3600


def _policy(cbr: Cbr, name: str, hour: int, enabled: bool = True) -> dict:
    return cbr.call('POST', 'policies', json={'policy': {
        'name': name, 'operation_type': 'backup', 'enabled': enabled,
        'operation_definition': {'max_backups': 10},
        'trigger': {'properties': {'pattern': [
            'FREQ=DAILY;INTERVAL=1;BYHOUR=%d;BYMINUTE=00' % hour]}}}})['policy']


def _backups(cbr: Cbr, vault_id: str) -> list[dict]:
    return cbr.call('GET', 'backups', params={'vault_id': vault_id})['backups']


def test_only_an_enabled_applied_policy_fires_and_its_backups_are_autobk(fresh_stack_factory):
    # rule: P3, B2
    stack = fresh_stack_factory()
    cbr, admin = Cbr(stack), stack.admin()
    disks = [cbr.disk(10) for _ in range(3)]
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    now = dt.datetime.fromisoformat(admin.get('/sim/v1/clock').json()['now'])
    hour = (now + dt.timedelta(hours=2)).hour
    policy = _policy(cbr, 'daily', hour)
    disabled = _policy(cbr, 'disabled', hour, enabled=False)
    applied = cbr.vault('disk', 20, [disks[0]], backup_policy_id=policy['id'])
    off = cbr.vault('disk', 20, [disks[1]], backup_policy_id=disabled['id'])
    bare = cbr.vault('disk', 20, [disks[2]])

    def advance(hours: int) -> None:
        assert admin.post('/sim/v1/clock', json={'action': 'advance',
                                                 'seconds': hours * HOUR}).status_code == 200

    advance(3)
    fired, = poll(lambda: _backups(cbr, applied['id']),
                  lambda found: len(found) == 1 and found[0]['status'] == 'available', 30,
                  'the policy did not fire')
    assert fired['name'].startswith('autobk_') and len(fired['name']) == 11
    assert fired['extend_info']['auto_trigger'] is True
    assert fired['scheduled_operation_id'] == policy['id']
    assert _backups(cbr, off['id']) == [] and _backups(cbr, bare['id']) == []

    advance(24)
    poll(lambda: _backups(cbr, applied['id']), lambda found: len(found) == 2, 30,
         'the next day\'s run did not fire')

    # disabled, it fires nothing more; a policy applied to another vault proves the
    # scheduler went past the instants in between
    cbr.call('PUT', 'policies/%s' % policy['id'], json={'policy': {'enabled': False}})
    witness = _policy(cbr, 'witness', hour)
    cbr.call('POST', 'vaults/%s/associatepolicy' % bare['id'], json={'policy_id': witness['id']})
    advance(24)
    poll(lambda: _backups(cbr, bare['id']), lambda found: len(found) >= 1, 30,
         'the witness policy did not fire')
    assert len(_backups(cbr, applied['id'])) == 2
    assert _backups(cbr, off['id']) == []


def test_a_run_that_finds_its_resource_busy_is_recorded_as_a_skipped_task(fresh_stack_factory):
    # rule: P10
    stack = fresh_stack_factory()
    cbr, admin = Cbr(stack), stack.admin()
    disk = cbr.disk(10)
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    now = dt.datetime.fromisoformat(admin.get('/sim/v1/clock').json()['now'])
    policy = _policy(cbr, 'daily', (now + dt.timedelta(hours=2)).hour)
    vault = cbr.vault('disk', 20, [disk], backup_policy_id=policy['id'])
    assert admin.post('/sim/v1/faults', json={'point': 'backup.start', 'action': 'delay',
                                              'seconds': 5, 'times': 1}).status_code < 300
    manual = cbr.checkpoint(vault['id'], [disk])  # held: still running when the run is due

    # the advance answers once the run has fired (by the API or the scheduler)
    assert admin.post('/sim/v1/clock', json={'action': 'advance',
                                             'seconds': 3 * HOUR}).status_code == 200
    skipped, = cbr.tasks(vault_id=vault['id'], status='skipped')
    assert skipped['operation_type'] == 'backup' and skipped['policy_id'] == policy['id']
    assert skipped['extra_info']['resource']['id'] == disk
    assert 'in progress' in skipped['error_info']['message']
    assert skipped['error_info']['code'] == 'BackupService.6405'
    assert [b['id'] for b in _backups(cbr, vault['id'])] == \
        [b['id'] for b in cbr.backups_of(manual['id'])]

    assert admin.post('/sim/v1/wait-idle', json={'timeout': 60}).status_code == 200
    admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 24 * HOUR})
    assert admin.post('/sim/v1/wait-idle', json={'timeout': 60}).status_code == 200
    backups = _backups(cbr, vault['id'])
    assert len(backups) == 2 and all(b['status'] == 'available' for b in backups)
    assert cbr.tasks(vault_id=vault['id'], status='skipped') == [skipped]
