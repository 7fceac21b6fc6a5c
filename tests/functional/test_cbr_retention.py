"""Retention of policy backups under a frozen, advanced clock (rules P7–P8, P11, P13, B7).

Each test freezes the simulator's clock, applies a daily policy and advances the clock one
run at a time, waiting for each run's backup, so the backups present are exactly those
the rules leave.
"""
from __future__ import annotations

import datetime as dt
import time

from tests.support.cbr import Cbr
from tests.support.client import poll



def _utc(text: str) -> dt.datetime:
    """A CBR timestamp (UTC, no zone) as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


class Month:
    """A frozen clock, a daily policy applied to one vault, and the runs it makes."""

    def __init__(self, stack, object_type: str, resource: str, definition: dict,
                 hour: int | None = None) -> None:
        self.cbr, self.admin = Cbr(stack), stack.admin()
        assert self.admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
        now = self.now()
        self.hour = (now + dt.timedelta(hours=2)).hour if hour is None else hour
        self.policy = self.cbr.call('POST', 'policies', json={'policy': {
            'name': 'daily', 'operation_type': 'backup', 'operation_definition': definition,
            'trigger': {'properties': {'pattern': [
                'FREQ=DAILY;INTERVAL=1;BYHOUR=%d;BYMINUTE=00' % self.hour]}}}})['policy']
        size = 40 if object_type == 'server' else 20
        self.vault = self.cbr.vault(object_type, size, [resource],
                                    backup_policy_id=self.policy['id'])
        self.runs: list[dict] = []
        self._next_run = now.replace(hour=self.hour, minute=0, second=0, microsecond=0)
        if self._next_run <= now:
            self._next_run += dt.timedelta(days=1)

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.admin.get('/sim/v1/clock').json()['now'])

    def set_clock(self, instant: dt.datetime) -> None:
        assert self.admin.post('/sim/v1/clock', json={
            'action': 'set', 'to': instant.isoformat()}).status_code == 200

    def scheduler_pass(self) -> None:
        """Wait until the leading scheduler has made a whole pass since this call."""
        since = time.time()
        beats: set[float] = set()

        def new_beats() -> set[float]:
            report = self.admin.get('/sim/v1/health').json()
            beats.update(round(time.time() - entry['last_seen_seconds_ago'], 1)
                         for entry in report['scheduler'] if entry.get('leader'))
            return {beat for beat in beats if beat > since}
        poll(new_beats, lambda after: len(after) >= 2, 30, 'the scheduler made no pass')

    def backups(self) -> dict[str, dict]:
        listed = self.cbr.call('GET', 'backups', params={'vault_id': self.vault['id']})
        return {backup['id']: backup for backup in listed['backups']}

    def auto(self) -> set[str]:
        """Ids of the vault's policy backups that are not being deleted."""
        return {backup_id for backup_id, backup in self.backups().items()
                if backup['extend_info']['auto_trigger'] and backup['status'] != 'deleting'}

    def run(self) -> dict:
        """Advance past the next run and wait for its backup (and the deletions it makes)."""
        self.set_clock(self._next_run + dt.timedelta(minutes=5))
        known = {run['id'] for run in self.runs}

        def new_backups() -> list[dict]:
            return [backup for backup_id, backup in self.backups().items()
                    if backup['extend_info']['auto_trigger'] and backup_id not in known]
        backup, = poll(new_backups, lambda found: len(found) == 1
                       and found[0]['status'] == 'available', 60, 'the run did not back up')
        self.runs.append(backup)
        self._next_run += dt.timedelta(days=1)
        self.settle()
        return backup

    def settle(self) -> None:
        """Wait until no backup of the vault is being deleted."""
        poll(self.backups, lambda found: all(backup['status'] != 'deleting'
                                             for backup in found.values()), 60,
             'deletions did not finish')

    def update(self, definition: dict) -> None:
        self.cbr.call('PUT', 'policies/%s' % self.policy['id'],
                      json={'policy': {'operation_definition': definition}})
        self.settle()


def test_quantity_counts_policy_backups_only_and_a_new_rule_applies_as_each_rule_says(
        fresh_stack_factory):
    # rule: P7, P8, P11, B7
    stack = fresh_stack_factory()
    cbr = Cbr(stack)
    server, _ = cbr.server((10,))
    month = Month(stack, 'server', server, {'retention_duration_days': 30})
    manual = cbr.backup(month.vault['id'], server)
    first = month.run()
    assert first['name'].startswith('autobk_')
    assert first['expired_at'] is not None  # a time period: each backup expires on its own
    second = month.run()

    # P11d: from a time period to a quantity, the old backups count too
    month.update({'max_backups': 3})
    third = month.run()
    done = cbr.client.wait_job(cbr.client.post('/v1/cloudimages/wholeimages/action', json={
        'name': 'kept', 'backup_id': third['id']}).json()['job_id'])
    assert done['status'] == 'SUCCESS'  # the third backup now made an image (B7)
    fourth = month.run()
    assert month.auto() == {first['id'], second['id'], third['id'], fourth['id']}, \
        'the image-protected backup must not be counted among the 3 kept'
    assert month.backups()[fourth['id']]['expired_at'] is None

    # P11a: a new quantity applies at once, to the old backups as well
    month.update({'max_backups': 2})
    assert month.auto() == {second['id'], third['id'], fourth['id']}
    fifth = month.run()  # P8: checked after each backup
    assert month.auto() == {third['id'], fourth['id'], fifth['id']}

    # P11b: from a quantity to a time period, the old backups are no longer deleted
    month.update({'retention_duration_days': 10})
    sixth = month.run()
    assert month.auto() == {third['id'], fourth['id'], fifth['id'], sixth['id']}
    assert month.backups()[sixth['id']]['expired_at'] is not None
    assert manual['id'] in month.backups()  # P7: never counted, never deleted


def test_expired_backups_go_at_the_daily_sweep_even_off_the_policy(fresh_stack_factory):
    # rule: P8, P13, P11
    stack = fresh_stack_factory()
    cbr = Cbr(stack)
    disk = cbr.disk(10)
    # runs at 14:00 UTC expire at 14:00 two days later, and go at 12:00 the day after
    month = Month(stack, 'disk', disk, {'retention_duration_days': 2}, hour=14)
    first = month.run()
    expires = _utc(first['expired_at'])
    assert expires - _utc(first['created_at']) == dt.timedelta(days=2)
    # P11c: a new period is for new backups only
    month.update({'retention_duration_days': 5})
    # P13: off the vault, a backup kept by time period still expires
    cbr.call('POST', 'vaults/%s/dissociatepolicy' % month.vault['id'],
             json={'policy_id': month.policy['id']})
    sweep = expires.replace(hour=12) + dt.timedelta(days=1)
    month.set_clock(expires + dt.timedelta(hours=1))
    month.scheduler_pass()
    assert first['id'] in month.backups(), 'expired backups wait for the 12:00 sweep'
    month.set_clock(sweep + dt.timedelta(minutes=1))
    cbr.wait_gone('backups/%s' % first['id'])
