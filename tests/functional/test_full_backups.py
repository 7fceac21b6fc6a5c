"""Full backups: at least a day between two of a resource (rule P12), and a policy's
``full_backup_interval`` (a full backup after that many incremental ones)."""
from __future__ import annotations

import datetime as dt

from tests.support.cbr import Cbr
from tests.support.schedule import Month


def _full_checkpoint(cbr: Cbr, vault_id: str, disk: str, expect: int) -> dict:
    return cbr.call('POST', 'checkpoints', expect=expect, json={'checkpoint': {
        'vault_id': vault_id, 'parameters': {'resources': [disk], 'incremental': False}}})


def test_a_forced_full_backup_within_a_day_of_the_last_is_refused(fresh_stack_factory):
    # rule: P12
    stack = fresh_stack_factory()
    cbr, admin = Cbr(stack), stack.admin()
    disk = cbr.disk(10)
    cbr.fill(disk, seed=1)
    vault = cbr.vault('disk', 20, [disk])
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    first = cbr.backup(vault['id'], disk)
    assert first['incremental'] is False

    refused = _full_checkpoint(cbr, vault['id'], disk, 409)
    assert refused['error_code'] == 'BackupService.6407'
    assert 'incremental' in refused['error_msg'] and 'day' in refused['error_msg']
    assert [b['id'] for b in cbr.call('GET', 'backups', params={
        'vault_id': vault['id']})['backups']] == [first['id']]
    assert cbr.backup(vault['id'], disk)['incremental'] is True  # an incremental one may

    admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 23 * 3600})
    assert _full_checkpoint(cbr, vault['id'], disk, 409)['error_code'] == 'BackupService.6407'
    admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 3600})
    checkpoint = _full_checkpoint(cbr, vault['id'], disk, 200)['checkpoint']
    backup, = cbr.backups_of(checkpoint['id'])
    assert cbr.wait_backup(backup['id'])['incremental'] is False


def test_a_policy_makes_a_full_backup_after_every_interval_incremental_ones(fresh_stack_factory):
    # rule: P12
    stack = fresh_stack_factory()
    cbr = Cbr(stack)
    disk = cbr.disk(10)
    cbr.fill(disk, seed=2)
    month = Month(stack, 'disk', disk, {'max_backups': 30, 'full_backup_interval': 2})
    kinds = []
    for day in range(7):
        cbr.fill(disk, seed=10 + day)  # something changed every day
        kinds.append('incremental' if month.run()['incremental'] else 'full')
    assert kinds == ['full', 'incremental', 'incremental', 'full', 'incremental',
                     'incremental', 'full']
    runs = [dt.datetime.fromisoformat(backup['created_at']) for backup in month.runs]
    assert all(later - earlier == dt.timedelta(days=1) for earlier, later in zip(runs, runs[1:]))
