"""A frozen clock and a daily policy applied to one vault, driven run by run, for tests of
what policies back up and delete."""
from __future__ import annotations

import datetime as dt
import time

from tests.support.cbr import Cbr
from tests.support.client import poll


def utc(text: str) -> dt.datetime:
    """A CBR timestamp (UTC, no zone) as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


class Month:
    """A frozen clock, a daily policy applied to one vault, and the runs it makes."""

    def __init__(self, stack, object_type: str, resource: str, definition: dict,
                 hour: int | None = None, start: dt.datetime | None = None) -> None:
        self.cbr, self.admin, self.resource = Cbr(stack), stack.admin(), resource
        assert self.admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
        if start is not None:
            self.set_clock(start)
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
        response = self.admin.post('/sim/v1/clock', json={'action': 'set',
                                                          'to': instant.isoformat()})
        assert response.status_code == 200, response.text

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

    def run(self, ends: str = 'available') -> dict:
        """Advance past the next run and wait for its backup to end (``available``, or
        ``error``) and for the deletions that makes."""
        self.set_clock(self._next_run + dt.timedelta(minutes=5))
        known = {run['id'] for run in self.runs}

        def new_backups() -> list[dict]:
            return [backup for backup_id, backup in self.backups().items()
                    if backup['extend_info']['auto_trigger'] and backup_id not in known]
        backup, = poll(new_backups, lambda found: len(found) == 1
                       and found[0]['status'] != 'protecting', 60, 'the run did not back up')
        assert backup['status'] == ends, backup
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
