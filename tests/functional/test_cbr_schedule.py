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
    disk = cbr.disk(300)  # its full backup takes 90 minutes under the realistic model
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    assert admin.post('/sim/v1/clock', json={'action': 'durations',
                                             'job_durations': 'realistic'}).status_code == 200
    now = dt.datetime.fromisoformat(admin.get('/sim/v1/clock').json()['now'])
    policy = _policy(cbr, 'daily', (now + dt.timedelta(hours=1)).hour)
    vault = cbr.vault('disk', 400, [disk], backup_policy_id=policy['id'])
    manual = cbr.checkpoint(vault['id'], [disk])  # still running when the run is due

    # the advance answers once the run has fired (by the API or the scheduler)
    assert admin.post('/sim/v1/clock', json={'action': 'advance',
                                             'seconds': HOUR + 30}).status_code == 200
    skipped, = cbr.tasks(vault_id=vault['id'], status='skipped')
    assert skipped['operation_type'] == 'backup' and skipped['policy_id'] == policy['id']
    assert skipped['extra_info']['resource']['id'] == disk
    assert 'in progress' in skipped['error_info']['message']
    assert skipped['error_info']['code'] == 'BackupService.6405'
    assert [b['id'] for b in _backups(cbr, vault['id'])] == \
        [b['id'] for b in cbr.backups_of(manual['id'])]

    admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 24 * HOUR})
    assert admin.post('/sim/v1/wait-idle', json={'timeout': 60}).status_code == 200
    backups = _backups(cbr, vault['id'])
    assert len(backups) == 2 and all(b['status'] == 'available' for b in backups)
    assert cbr.tasks(vault_id=vault['id'], status='skipped') == [skipped]


def test_a_cycle_change_keeps_the_time_of_day_counting_from_the_last_run(fresh_stack_factory):
    # rule: P14
    stack = fresh_stack_factory()
    cbr, admin = Cbr(stack), stack.admin()
    disk = cbr.disk(10)
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    now = dt.datetime.fromisoformat(admin.get('/sim/v1/clock').json()['now'])
    day0 = (now + dt.timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)

    def at(days: int, hours: float) -> dt.datetime:
        return day0 + dt.timedelta(days=days, hours=hours)

    def set_clock(instant: dt.datetime) -> None:
        assert admin.post('/sim/v1/clock', json={'action': 'set', 'to': instant.isoformat()}
                          ).status_code == 200
        assert admin.post('/sim/v1/wait-idle', json={'timeout': 60}).status_code == 200

    def backed_up_at(instant: dt.datetime) -> list[dt.datetime]:
        """The instants of the vault's backups once the clock is at ``instant``."""
        set_clock(instant)
        return sorted(dt.datetime.fromisoformat(b['created_at']).replace(tzinfo=dt.timezone.utc)
                      for b in _backups(cbr, vault['id']))

    set_clock(at(0, 0.5))
    policy = cbr.call('POST', 'policies', json={'policy': {
        'name': 'weekly', 'operation_type': 'backup', 'operation_definition': {'max_backups': 9},
        'trigger': {'properties': {'pattern': ['FREQ=DAILY;INTERVAL=7;BYHOUR=6;BYMINUTE=00']}}}}
    )['policy']
    vault = cbr.vault('disk', 20, [disk], backup_policy_id=policy['id'])
    assert backed_up_at(at(7, 6.1)) == [at(0, 6), at(7, 6)]

    # 3 days after the last run the cycle becomes 5 days: the next run is 2 days later
    set_clock(at(10, 5))
    cbr.call('PUT', 'policies/%s' % policy['id'], json={'policy': {'trigger': {'properties': {
        'pattern': ['FREQ=DAILY;INTERVAL=5;BYHOUR=6;BYMINUTE=00']}}}})
    assert backed_up_at(at(12, 5.9)) == [at(0, 6), at(7, 6)]
    assert backed_up_at(at(17, 6.1)) == [at(0, 6), at(7, 6), at(12, 6), at(17, 6)]
