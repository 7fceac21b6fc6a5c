"""Retention of policy backups under a frozen, advanced clock (rules P7–P8, P11, P13, B7).

Each test freezes the simulator's clock, applies a daily policy and advances the clock one
run at a time, waiting for each run's backup, so the backups present are exactly those
the rules leave.
"""
from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta

from tests.support.cbr import Cbr
from tests.support.schedule import Month, utc


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
    expires = utc(first['expired_at'])
    assert expires - utc(first['created_at']) == dt.timedelta(days=2)
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


def test_failed_policy_backups_keep_the_ten_newest_for_a_month_at_most(fresh_stack_factory):
    # rule: P9
    stack = fresh_stack_factory()
    cbr = Cbr(stack)
    month = Month(stack, 'disk', cbr.disk(10), {'max_backups': 30})
    assert month.admin.post('/sim/v1/faults', json={
        'point': 'backup.start', 'action': 'fail', 'times': 11}).status_code < 300
    failed = [month.run(ends='error')['id'] for _ in range(11)]
    made = {backup_id: utc(backup['created_at']) for backup_id, backup in month.backups().items()}
    month.run()  # the next backup that completes has the resource's rule checked
    errors = {backup_id for backup_id, backup in month.backups().items()
              if backup['status'] == 'error'}
    assert errors == set(failed[1:])  # the oldest of the 11 went
    for _ in range(25):  # another 25 days: the older failed ones pass a month of age
        month.run()
    errors = {backup_id for backup_id, backup in month.backups().items()
              if backup['status'] == 'error'}
    month_ago = month.now() - relativedelta(months=1)
    assert errors == {backup_id for backup_id in failed[1:] if made[backup_id] >= month_ago}
    assert 0 < len(errors) < 10
