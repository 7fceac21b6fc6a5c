"""VBS backup policy schedules: every N days from the 1st of each month (P5), whole hours
(P4), retention (P6) including "retain the first backup of the current month"."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from cbr_common.policies import retention
from cbr_common.policies.triggers import fire_times, validate_patterns
from cbr_common.vbs.policy_schema import (PolicyCreateBody, Schedule, SchedulePatch, merged)

UTC = dt.timezone.utc
EVERY_3_DAYS = 'FREQ=MONTHLY;BYMONTHDAY=1,4,7,10,13,16,19,22,25,28,31;BYHOUR=6;BYMINUTE=0'


def schedule(**fields: Any) -> Schedule:
    return Schedule.model_validate({'start_time': '06:00', 'rentention_num': 5, **fields})


def refusal(model: type, body: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    first = caught.value.errors()[0]
    return '.'.join(str(part) for part in first['loc']), first['msg']


# -- triggers: MONTHLY for VBS only ---------------------------------------------------------

def test_days_of_the_month_are_a_vbs_cycle_only():
    # rule: P5
    assert validate_patterns([EVERY_3_DAYS], 'vbs') == [EVERY_3_DAYS]
    for family in ('cbr', 'csbs'):
        with pytest.raises(ValueError, match='FREQ must be WEEKLY or DAILY'):
            validate_patterns([EVERY_3_DAYS], family)


@pytest.mark.parametrize('pattern, reason', [
    ('FREQ=MONTHLY;BYHOUR=6', 'FREQ=MONTHLY needs it'),
    ('FREQ=DAILY;BYMONTHDAY=1;BYHOUR=6', 'goes with FREQ=MONTHLY only'),
    ('FREQ=MONTHLY;BYMONTHDAY=0;BYHOUR=6', 'BYMONTHDAY values must be integers from 1 to 31'),
    ('FREQ=MONTHLY;BYMONTHDAY=32;BYHOUR=6', 'BYMONTHDAY values must be integers from 1 to 31'),
    ('FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1;BYHOUR=6', 'INTERVAL must be 1 or absent'),
    ('FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=1;BYHOUR=6', 'BYDAY is only allowed with FREQ=WEEKLY'),
    ('FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=6;BYMINUTE=30', 'whole hours'),
])
def test_malformed_monthly_patterns_are_refused(pattern, reason):
    with pytest.raises(ValueError) as caught:
        validate_patterns([pattern], 'vbs')
    assert reason in str(caught.value)


def test_monthly_patterns_are_checked_for_spacing_on_shared_days_only():
    # rule: P4
    day_30 = 'FREQ=MONTHLY;BYMONTHDAY=30;BYHOUR=23'
    with pytest.raises(ValueError, match='at least 1 hour apart'):
        validate_patterns([day_30, 'FREQ=MONTHLY;BYMONTHDAY=1,30;BYHOUR=23'], 'vbs')
    # an hour apart across the end of a month, and never on the same day
    assert validate_patterns([day_30, 'FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0'], 'vbs')
    assert validate_patterns([day_30, 'FREQ=MONTHLY;BYMONTHDAY=2;BYHOUR=23'], 'vbs')


def test_every_3_days_runs_on_days_1_4_7_of_each_month_whatever_the_start():
    # rule: P5
    start = dt.datetime(2026, 1, 26, 12, tzinfo=UTC)  # after the 25th's run time
    times = fire_times([EVERY_3_DAYS], start, dt.datetime(2026, 2, 11, tzinfo=UTC))
    assert [(moment.month, moment.day) for moment in times] == [
        (1, 28), (1, 31), (2, 1), (2, 4), (2, 7), (2, 10)]
    assert {moment.hour for moment in times} == {6}


# -- the VBS schedule --------------------------------------------------------------------

def test_a_schedule_becomes_one_pattern_and_a_retention_rule():
    # rule: P5, P6
    every_3 = schedule(start_time='22:00,06:00', frequency=3, week_frequency=['MON'],
                       remain_first_backup_of_curMonth='Y')
    assert every_3.pattern() == EVERY_3_DAYS.replace('BYHOUR=6', 'BYHOUR=6,22')
    assert every_3.definition('UTC+08:00') == {'max_backups': 5, 'keep_first_of_month': True,
                                               'timezone': 'UTC+08:00'}
    weekly = Schedule.model_validate({'start_time': '12:00', 'week_frequency': ['WED', 'SUN'],
                                      'rentention_day': 30.9, 'status': 'OFF'})
    assert weekly.pattern() == 'FREQ=WEEKLY;BYDAY=SU,WE;BYHOUR=12;BYMINUTE=0'
    assert weekly.definition(None) == {'retention_duration_days': 30}
    assert not weekly.enabled and every_3.enabled


def test_rentention_num_wins_over_rentention_day():
    # rule: P6
    both = schedule(frequency=1, rentention_day=10)
    assert both.definition(None) == {'max_backups': 5}


@pytest.mark.parametrize('value, expected', [(True, 'Y'), (False, 'N'), ('Y', 'Y'), ('N', 'N')])
def test_remain_first_backup_takes_y_n_and_booleans(value, expected):
    assert schedule(frequency=1, remain_first_backup_of_curMonth=value) \
        .remain_first_backup_of_curMonth == expected


@pytest.mark.parametrize('fields, field, text', [
    ({'start_time': '12:30'}, 'start_time', 'whole hours'),
    ({'start_time': '24:00'}, 'start_time', 'HH:mm'),
    ({'start_time': '12:00,12:00'}, 'start_time', 'repeats'),
    ({'frequency': 0}, 'frequency', 'greater than or equal to 1'),
    ({'frequency': 15}, 'frequency', 'less than or equal to 14'),
    ({'week_frequency': ['MON', 'MON']}, 'week_frequency', 'repeats'),
    ({'week_frequency': ['MONDAY']}, 'week_frequency.0', ''),
    ({'rentention_num': 1}, 'rentention_num', 'greater than or equal to 2'),
    ({'rentention_num': 100}, 'rentention_num', 'less than or equal to 99'),
    ({'rentention_num': None, 'rentention_day': 100000}, 'rentention_day', '99999'),
    ({'remain_first_backup_of_curMonth': 'yes'}, 'remain_first_backup_of_curMonth', ''),
    ({'status': 'on'}, 'status', ''),
])
def test_bad_schedules_name_the_field(fields, field, text):
    # rule: P4, P5, P6
    body = {'start_time': '06:00', 'frequency': 1, 'rentention_num': 5, **fields}
    location, message = refusal(Schedule, {k: v for k, v in body.items() if v is not None})
    assert location == field and text in message


@pytest.mark.parametrize('missing, field', [
    ('start_time', 'start_time'), ('frequency', 'frequency'),
    ('rentention_num', 'rentention_num')])
def test_a_whole_schedule_has_a_time_a_cycle_and_a_retention_rule(missing, field):
    body = {'start_time': '06:00', 'frequency': 1, 'rentention_num': 5}
    del body[missing]
    assert refusal(Schedule, body)[0] == field


@pytest.mark.parametrize('name, reason', [
    ('default', 'starting with "default"'), ('default_2', 'starting with "default"'),
    ('x' * 65, 'at most 64'), ('', 'at least 1'), ('a b', 'may contain only')])
def test_policy_names(name, reason):
    # rule: P1, P2
    body = {'backup_policy_name': name, 'scheduled_policy': {
        'start_time': '06:00', 'frequency': 1, 'rentention_num': 5}}
    location, message = refusal(PolicyCreateBody, body)
    assert location == 'backup_policy_name' and reason in message


def test_an_update_replaces_the_cycle_or_the_retention_rule_as_a_whole():
    stored = {'start_time': '06:00', 'frequency': 3, 'rentention_num': 5, 'status': 'ON'}
    assert merged(stored, SchedulePatch(week_frequency=['MON'])) == {
        'start_time': '06:00', 'rentention_num': 5, 'status': 'ON', 'week_frequency': ['MON']}
    assert merged(stored, SchedulePatch(rentention_day=9, status='OFF')) == {
        'start_time': '06:00', 'frequency': 3, 'status': 'OFF', 'rentention_day': 9}


# -- retention: keep the first backup of the current month -----------------------------------

def test_keep_first_of_month_keeps_the_oldest_backup_of_the_current_month():
    # rule: P6
    start = dt.datetime(2026, 1, 28, 6, tzinfo=UTC)
    backups = [SimpleNamespace(id='b%02d' % day, created_at=start + dt.timedelta(days=day))
               for day in reversed(range(10))]  # 01-28 .. 02-06, newest first
    now = dt.datetime(2026, 2, 6, 7, tzinfo=UTC)
    rule = {'max_backups': 2}
    assert retention.kept(rule, backups, now) == {'b09', 'b08'}
    assert retention.kept({**rule, 'keep_first_of_month': True}, backups, now) == \
        {'b09', 'b08', 'b04'}  # b04 = 02-01
    # at UTC-08:00, 02-01 06:00 UTC is still January: the first of February is 02-02
    assert retention.kept({**rule, 'keep_first_of_month': True, 'timezone': 'UTC-08:00'},
                          backups, now) == {'b09', 'b08', 'b05'}
    # January's first backup is no longer kept once February has begun
    assert 'b00' not in retention.kept({**rule, 'keep_first_of_month': True}, backups, now)
