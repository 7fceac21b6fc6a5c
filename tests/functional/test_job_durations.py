"""How long jobs take in simulated time, and the runs that skip because of it (rule P10).

Under the ``realistic`` model a full backup of a 300 GB disk takes 90 minutes of domain
time, as in seed 002 §5.2: a backup started at 00:00 ends at 01:30, so the 01:00 run is
skipped and the 02:00 one backs up.  Under the default ``instant`` model a clock jump over
several runs backs up at every one of them, however slow the workers are.
"""
from __future__ import annotations

import datetime as dt

from tests.support.cbr import Cbr
from tests.support.client import poll
from tests.support.schedule import utc

HOURLY_AT_0_1_2 = 'FREQ=DAILY;INTERVAL=1;BYHOUR=0,1,2;BYMINUTE=00'


class _Clock:
    """The frozen shared clock of a stack, moved to chosen instants."""

    def __init__(self, admin, job_durations: str) -> None:
        self.admin = admin
        assert self.change(action='freeze').status_code == 200
        assert self.change(action='durations', job_durations=job_durations).json()[
            'job_durations'] == job_durations

    def change(self, **body):
        return self.admin.post('/sim/v1/clock', json=body)

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.admin.get('/sim/v1/clock').json()['now'])

    def day_ahead(self) -> dt.datetime:
        """A midnight at least a day ahead; the clock is moved to half an hour before it,
        so a policy created now first runs that day."""
        day = (self.now() + dt.timedelta(days=2)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
        self.set(day - dt.timedelta(minutes=30))
        return day

    def set(self, instant: dt.datetime) -> None:
        """Move the clock; it answers once every run due by then has fired (by this call
        or by the scheduler)."""
        response = self.change(action='set', to=instant.isoformat())
        assert response.status_code == 200, response.text

    def idle_within(self, seconds: float) -> bool:
        response = self.admin.post('/sim/v1/wait-idle', json={'timeout': seconds})
        assert response.status_code in (200, 409), response.text
        return response.status_code == 200


def _policy_vault(cbr: Cbr, disk: str, pattern: str, size: int) -> tuple[dict, dict]:
    policy = cbr.call('POST', 'policies', json={'policy': {
        'name': 'hourly', 'operation_type': 'backup',
        'operation_definition': {'max_backups': 20},
        'trigger': {'properties': {'pattern': [pattern]}}}})['policy']
    return policy, cbr.vault('disk', size, [disk], backup_policy_id=policy['id'])


def _backups(cbr: Cbr, vault_id: str) -> list[dict]:
    found = cbr.call('GET', 'backups', params={'vault_id': vault_id})['backups']
    return sorted(found, key=lambda backup: backup['created_at'])


def test_clock_shows_and_sets_the_job_duration_model(fresh_stack_factory):
    stack = fresh_stack_factory()
    admin = stack.admin()
    assert admin.get('/sim/v1/clock').json()['job_durations'] == 'instant'
    refused = admin.post('/sim/v1/clock', json={'action': 'durations', 'job_durations': 'slow'})
    assert refused.status_code == 400 and 'job_durations' in refused.text
    missing = admin.post('/sim/v1/clock', json={'action': 'durations'})
    assert missing.status_code == 400 and 'job_durations' in missing.text
    assert admin.get('/sim/v1/clock').json()['job_durations'] == 'instant'
    _Clock(admin, 'realistic')
    assert admin.get('/sim/v1/clock').json()['job_durations'] == 'realistic'


def test_a_backup_taking_90_minutes_makes_the_next_hourly_run_skip(fresh_stack_factory):
    # rule: P10
    stack = fresh_stack_factory()
    cbr = Cbr(stack)
    disk = cbr.disk(300)  # its full backup takes 90 minutes under the guides' figures
    cbr.fill(disk, seed=3, fraction=0.00001)
    clock = _Clock(stack.admin(), 'realistic')
    day = clock.day_ahead()
    policy, vault = _policy_vault(cbr, disk, HOURLY_AT_0_1_2, 400)

    clock.set(day + dt.timedelta(minutes=5))
    first, = _backups(cbr, vault['id'])
    assert utc(first['created_at']) == day and first['status'] == 'protecting'

    clock.set(day + dt.timedelta(hours=1, minutes=25))
    assert not clock.idle_within(3), 'the backup ended before its 90 minutes were over'
    skipped, = cbr.tasks(vault_id=vault['id'], status='skipped')
    assert skipped['policy_id'] == policy['id'] and first['id'] in skipped['error_info'][
        'message']
    assert utc(skipped['started_at']) == day + dt.timedelta(hours=1)

    clock.set(day + dt.timedelta(hours=1, minutes=35))  # past 01:30: the backup ends
    assert clock.idle_within(60)
    assert cbr.call('GET', 'backups/%s' % first['id'])['backup']['status'] == 'available'

    clock.set(day + dt.timedelta(hours=2, minutes=5))
    assert clock.idle_within(60)
    backups = _backups(cbr, vault['id'])
    assert [utc(backup['created_at']) for backup in backups] == [
        day, day + dt.timedelta(hours=2)]
    assert [backup['status'] for backup in backups] == ['available', 'available']
    assert len(cbr.tasks(vault_id=vault['id'], status='skipped')) == 1


def test_one_jump_over_the_runs_gives_what_running_them_one_by_one_gives(fresh_stack_factory):
    # rule: P10
    stack = fresh_stack_factory()
    cbr = Cbr(stack)
    disk = cbr.disk(300)
    cbr.fill(disk, seed=4, fraction=0.00001)
    clock = _Clock(stack.admin(), 'realistic')
    day = clock.day_ahead()
    _, vault = _policy_vault(cbr, disk, HOURLY_AT_0_1_2, 400)

    # the 00:00 backup is over at 01:30 in domain time, whenever its worker is done
    clock.set(day + dt.timedelta(hours=2, minutes=5))
    assert clock.idle_within(60)
    backups = _backups(cbr, vault['id'])
    assert [utc(backup['created_at']) for backup in backups] == [
        day, day + dt.timedelta(hours=2)]
    skipped, = cbr.tasks(vault_id=vault['id'], status='skipped')
    assert utc(skipped['started_at']) == day + dt.timedelta(hours=1)


def test_a_restore_of_300_gb_takes_90_minutes_of_domain_time(fresh_stack_factory):
    stack = fresh_stack_factory()
    cbr = Cbr(stack)
    disk = cbr.disk(300)
    cbr.fill(disk, seed=5, fraction=0.00001)
    checksum = cbr.checksum(disk)
    vault = cbr.vault('disk', 400, [disk])
    clock = _Clock(stack.admin(), 'instant')
    backup = cbr.backup(vault['id'], disk)
    cbr.write(disk, 0, b'changed after the backup')
    assert clock.change(action='durations', job_durations='realistic').status_code == 200
    start = clock.now()

    cbr.call('POST', 'backups/%s/restore' % backup['id'], expect=202,
             json={'restore': {'volume_id': disk}})
    clock.set(start + dt.timedelta(minutes=85))
    assert not clock.idle_within(3), 'the restore ended before its 90 minutes were over'
    assert cbr.disk_status(disk) == 'restoring-backup'
    clock.set(start + dt.timedelta(minutes=91))
    assert clock.idle_within(60)
    assert cbr.disk_status(disk) == 'available' and cbr.checksum(disk) == checksum


def test_a_jump_over_daily_runs_backs_up_at_each_however_slow_the_worker(fresh_stack_factory):
    # rule: P10
    stack = fresh_stack_factory()
    cbr, admin = Cbr(stack), stack.admin()
    disk = cbr.disk(10)
    clock = _Clock(admin, 'instant')
    day = clock.day_ahead()
    _, vault = _policy_vault(cbr, disk, 'FREQ=DAILY;INTERVAL=1;BYHOUR=6;BYMINUTE=00', 20)
    assert admin.post('/sim/v1/faults', json={'point': 'backup.start', 'action': 'delay',
                                              'seconds': 2, 'times': 2}).status_code < 300

    # each backup takes no domain time: the next day's run finds it over, not running
    clock.set(day + dt.timedelta(days=3, hours=7))
    assert clock.idle_within(60)
    backups = _backups(cbr, vault['id'])
    assert [utc(backup['created_at']) for backup in backups] == [
        day + dt.timedelta(days=n, hours=6) for n in range(4)]
    assert all(backup['status'] == 'available' for backup in backups)
    assert cbr.tasks(vault_id=vault['id'], status='skipped') == []
    poll(lambda: cbr.tasks(vault_id=vault['id'], status='success'),
         lambda done: len(done) == 4, 10, 'four successful backup tasks')
