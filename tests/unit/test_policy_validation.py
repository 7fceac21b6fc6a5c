"""Backup policy validation: names (P2), trigger patterns (P4, P5), retention (P6)."""
from __future__ import annotations

import copy
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cbr_common.policies.schema import PolicyCreateBody, PolicyUpdateBody
from cbr_common.policies.triggers import WEEKDAYS, fire_times, validate_patterns

UTC = timezone.utc
MONDAY = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
EVERY_DAY_AT_14 = 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=14;BYMINUTE=00'
CREATE: dict[str, Any] = {'policy': {
    'name': 'daily_backup-01',
    'operation_type': 'backup',
    'operation_definition': {'max_backups': 10, 'retention_duration_days': -1},
    'trigger': {'properties': {'pattern': [EVERY_DAY_AT_14]}},
}}


def create(**changes: Any) -> dict[str, Any]:
    """The valid create body with ``changes`` applied: keys are paths below ``policy``
    joined by ``__``; a value of None removes the field."""
    body = copy.deepcopy(CREATE)
    for path, value in changes.items():
        *parents, leaf = path.split('__')
        node = body['policy']
        for parent in parents:
            node = node[parent]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return body


def refusal(model: type, body: dict[str, Any]) -> tuple[str, str]:
    """The dotted location and message of the first error ``model`` finds in ``body``."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    first = caught.value.errors()[0]
    return '.'.join(str(part) for part in first['loc']), first['msg']


def refused(patterns: list[str], family: str = 'cbr') -> str:
    with pytest.raises(ValueError) as caught:
        validate_patterns(patterns, family)
    return str(caught.value)


def weekly(days: str, hour: int, minute: int = 0) -> str:
    return 'FREQ=WEEKLY;BYDAY=%s;BYHOUR=%d;BYMINUTE=%02d' % (days, hour, minute)


def daily(interval: int, hour: int, minute: int = 0) -> str:
    return 'FREQ=DAILY;INTERVAL=%d;BYHOUR=%d;BYMINUTE=%02d' % (interval, hour, minute)


def too_close(times: list[datetime]) -> bool:
    """Whether two of the ascending ``times`` are less than an hour apart."""
    return any(after - before < HOUR for before, after in zip(times, times[1:]))


# -- request bodies --------------------------------------------------------------------------

def test_a_backup_policy_is_accepted_with_defaults_and_unknown_fields_ignored():
    body = create(surprise='ignored', operation_definition__surprise=1)
    policy = PolicyCreateBody.model_validate(body).policy
    assert policy.enabled is True
    assert policy.operation_definition.max_backups == 10
    assert policy.trigger.properties.pattern == [EVERY_DAY_AT_14]


def test_a_replication_policy_needs_its_destination():
    body = create(operation_type='replication')
    assert refusal(PolicyCreateBody, body) == (
        'policy.operation_definition.destination_region',
        'destination_region is required for a replication policy')
    body['policy']['operation_definition'].update(destination_region='eu-west-101',
                                                  destination_project_id='p' * 32,
                                                  enable_acceleration=True)
    policy = PolicyCreateBody.model_validate(body).policy
    assert policy.operation_definition.destination_region == 'eu-west-101'


def test_a_backup_policy_names_no_destination():
    body = create(operation_definition__destination_project_id='p' * 32)
    assert refusal(PolicyCreateBody, body)[0] == \
        'policy.operation_definition.destination_project_id'


@pytest.mark.parametrize('field', ['name', 'operation_definition', 'operation_type', 'trigger'])
def test_required_fields(field):
    assert refusal(PolicyCreateBody, create(**{field: None})) == ('policy.%s' % field,
                                                                  'Field required')


def test_operation_type_is_backup_or_replication():
    assert refusal(PolicyCreateBody, create(operation_type='archive'))[0] == \
        'policy.operation_type'


@pytest.mark.parametrize('name', ['a', 'A' * 64, '每日备份', 'Backup_策略-2'])
def test_names_accepted(name):
    # rule: P2
    assert PolicyCreateBody.model_validate(create(name=name)).policy.name == name


@pytest.mark.parametrize('name', ['', 'a' * 65, '备' * 65, 'a b', 'a.b', 'a/b', 'a@b', 'x²'])
def test_names_refused(name):
    # rule: P2
    assert refusal(PolicyCreateBody, create(name=name))[0] == 'policy.name'


@pytest.mark.parametrize('value', [-1, 2, 99999])
def test_max_backups_accepted(value):
    # rule: P6
    body = create(operation_definition__max_backups=value)
    assert PolicyCreateBody.model_validate(body).policy.operation_definition.max_backups == value


@pytest.mark.parametrize('value', [-2, 0, 1, 100000])
def test_max_backups_refused_citing_the_range(value):
    # rule: P6
    location, message = refusal(PolicyCreateBody, create(operation_definition__max_backups=value))
    assert location == 'policy.operation_definition.max_backups'
    assert '-1' in message and '2 to 99999' in message


@pytest.mark.parametrize('value', [-1, 1, 30, 99999])
def test_retention_days_accepted(value):
    # rule: P6
    body = create(operation_definition__retention_duration_days=value)
    definition = PolicyCreateBody.model_validate(body).policy.operation_definition
    assert definition.retention_duration_days == value


@pytest.mark.parametrize('value', [-2, 0, 100000])
def test_retention_days_refused(value):
    # rule: P6
    body = create(operation_definition__retention_duration_days=value)
    location, message = refusal(PolicyCreateBody, body)
    assert location == 'policy.operation_definition.retention_duration_days'
    assert '1 to 99999' in message


@pytest.mark.parametrize('field', ['day_backups', 'week_backups', 'month_backups',
                                   'year_backups'])
def test_long_term_retention_is_0_to_100_with_a_timezone(field):
    # rule: P6
    accepted = create(**{'operation_definition__' + field: 100,
                         'operation_definition__timezone': 'UTC+08:00'})
    assert getattr(PolicyCreateBody.model_validate(accepted).policy.operation_definition,
                   field) == 100
    too_many = create(**{'operation_definition__' + field: 101,
                         'operation_definition__timezone': 'UTC+08:00'})
    assert refusal(PolicyCreateBody, too_many)[0] == 'policy.operation_definition.' + field
    no_timezone = create(**{'operation_definition__' + field: 5})
    location, message = refusal(PolicyCreateBody, no_timezone)
    assert location == 'policy.operation_definition.timezone'
    assert field in message


@pytest.mark.parametrize('zone', ['UTC+08:00', 'UTC-03:30', 'UTC+14:00', 'UTC+05:45',
                                  'UTC-00:00'])
def test_timezones_accepted(zone):
    body = create(operation_definition__day_backups=1, operation_definition__timezone=zone)
    assert PolicyCreateBody.model_validate(body).policy.operation_definition.timezone == zone


@pytest.mark.parametrize('zone', ['UTC+8', 'UTC+8:00', 'UTC+15:00', 'UTC+08:15', 'GMT+08:00',
                                  'utc+08:00', 'UTC 08:00', 'UTC+08:00 '])
def test_timezones_refused(zone):
    body = create(operation_definition__day_backups=1, operation_definition__timezone=zone)
    assert refusal(PolicyCreateBody, body)[0] == 'policy.operation_definition.timezone'


@pytest.mark.parametrize('value, accepted', [(-1, True), (100, True), (-2, False), (101, False)])
def test_full_backup_interval(value, accepted):
    body = create(operation_definition__full_backup_interval=value)
    if accepted:
        PolicyCreateBody.model_validate(body)
    else:
        assert refusal(PolicyCreateBody, body)[0] == \
            'policy.operation_definition.full_backup_interval'


def test_advanced_retention_rules_are_kept_as_given():
    rules = {'day_backups': {'count': 3}}
    body = create(operation_definition__advanced_retention_rules=rules)
    definition = PolicyCreateBody.model_validate(body).policy.operation_definition
    assert definition.advanced_retention_rules == rules


@pytest.mark.parametrize('minutes, accepted', [(60, True), (480, True), (59, False),
                                               (481, False)])
def test_start_window_minutes(minutes, accepted):
    body = create(trigger__properties__start_window_minutes=minutes)
    if accepted:
        PolicyCreateBody.model_validate(body)
    else:
        assert refusal(PolicyCreateBody, body)[0] == \
            'policy.trigger.properties.start_window_minutes'


def test_trigger_patterns_are_checked_for_cbr_and_normalised():
    # rule: P4
    body = create(trigger__properties__pattern=['FREQ=DAILY;BYHOUR=2;BYMINUTE=30'])
    location, message = refusal(PolicyCreateBody, body)
    assert location == 'policy.trigger.properties.pattern'
    assert 'pattern[0]' in message and 'whole hours' in message
    body = create(trigger__properties__pattern=['freq=daily; byhour=2'])
    assert PolicyCreateBody.model_validate(body).policy.trigger.properties.pattern == \
        ['FREQ=DAILY;BYHOUR=2']


@pytest.mark.parametrize('patterns', [[], [EVERY_DAY_AT_14] * 25])
def test_the_pattern_list_holds_1_to_24_rules(patterns):
    # rule: P4
    body = create(trigger__properties__pattern=patterns)
    assert refusal(PolicyCreateBody, body)[0] == 'policy.trigger.properties.pattern'


def test_an_empty_update_is_accepted_and_fields_are_checked_as_on_create():
    assert PolicyUpdateBody.model_validate({'policy': {}}).policy.name is None
    assert refusal(PolicyUpdateBody, {'policy': {'name': 'a' * 65}})[0] == 'policy.name'
    definition = {'operation_definition': {'max_backups': 1}}
    assert refusal(PolicyUpdateBody, {'policy': definition})[0] == \
        'policy.operation_definition.max_backups'
    trigger = {'trigger': {'properties': {'pattern': ['FREQ=MONTHLY;BYHOUR=1']}}}
    assert refusal(PolicyUpdateBody, {'policy': trigger})[0] == 'policy.trigger.properties.pattern'


# -- trigger patterns ------------------------------------------------------------------------

def test_the_documented_examples_are_accepted():
    patterns = [EVERY_DAY_AT_14, 'FREQ=DAILY;INTERVAL=1;BYHOUR=6;BYMINUTE=00']
    for family in ('cbr', 'csbs', 'vbs'):
        assert validate_patterns(patterns, family) == patterns


@pytest.mark.parametrize('pattern, reason', [
    ('FREQ=DAILY;BYHOUR=6;BYSECOND=0', 'BYSECOND is not allowed'),
    ('FREQ=DAILY;BYHOUR=6;COUNT=3', 'COUNT is not allowed'),
    ('FREQ=MONTHLY;BYHOUR=6', 'FREQ must be WEEKLY or DAILY'),
    ('FREQ=HOURLY', 'FREQ must be WEEKLY or DAILY'),
    ('BYHOUR=6', 'FREQ must be WEEKLY or DAILY'),
    ('FREQ=DAILY;FREQ=DAILY;BYHOUR=6', 'FREQ is given twice'),
    ('FREQ=DAILY;BYHOUR=6;', 'not NAME=VALUE'),
    ('FREQ=DAILY;BYHOUR', 'not NAME=VALUE'),
    ('', 'not NAME=VALUE'),
    ('FREQ=DAILY;BYHOUR=24', 'BYHOUR values must be integers from 0 to 23'),
    ('FREQ=DAILY;BYHOUR=-1', 'BYHOUR values must be integers from 0 to 23'),
    ('FREQ=DAILY;BYHOUR=6,6', 'BYHOUR repeats 6'),
    ('FREQ=WEEKLY;BYDAY=MO,XX;BYHOUR=6', 'BYDAY values must be among'),
    ('FREQ=WEEKLY;BYDAY=1MO;BYHOUR=6', 'BYDAY values must be among'),
])
def test_malformed_patterns_are_refused(pattern, reason):
    message = refused([EVERY_DAY_AT_14, pattern])
    assert message.startswith('pattern[1] %r: ' % pattern)
    assert reason in message


def test_cbr_and_vbs_run_on_whole_hours_csbs_at_any_minute():
    # rule: P4
    pattern = weekly('MO', 6, 30)
    assert 'whole hours' in refused([pattern], 'cbr')
    assert 'whole hours' in refused([pattern], 'vbs')
    assert validate_patterns([pattern], 'csbs') == [pattern]
    assert validate_patterns([weekly('MO', 6, 0), 'FREQ=DAILY;BYHOUR=9'], 'cbr')
    assert validate_patterns(['FREQ=DAILY;BYHOUR=7;BYMINUTE=59'], 'csbs')
    assert 'BYMINUTE values must be integers from 0 to 59' in refused(
        ['FREQ=DAILY;BYHOUR=7;BYMINUTE=60'], 'csbs')


def test_24_patterns_one_an_hour_are_accepted_but_not_25():
    # rule: P4
    every_hour = [daily(1, hour) for hour in range(24)]
    assert validate_patterns(every_hour) == every_hour
    assert 'from 1 to 24 patterns' in refused(every_hour + [weekly('MO', 5, 30)], 'csbs')


def test_at_most_24_execution_times_on_one_day():
    # rule: P4
    every_hour = 'FREQ=DAILY;BYHOUR=%s' % ','.join(str(hour) for hour in range(24))
    message = refused([every_hour, weekly('TU', 5, 30)], 'csbs')
    assert message.startswith('pattern[1]') and 'more than 24 execution times' in message


def test_two_patterns_at_the_same_time_are_refused():
    # rule: P4
    message = refused([daily(1, 14), weekly('MO', 14)])
    assert message.startswith('pattern[1]') and 'at least 1 hour apart' in message
    assert 'at least 1 hour apart' in refused([weekly('MO', 8), weekly('MO,FR', 8)])
    assert validate_patterns([weekly('MO', 8), weekly('TU', 8)])


def test_execution_times_are_at_least_an_hour_apart_on_one_day():
    # rule: P4
    assert 'but it runs at 14:00 and at 14:30' in refused(
        ['FREQ=DAILY;BYHOUR=14;BYMINUTE=0,30'], 'csbs')
    assert 'at least 1 hour apart' in refused([weekly('MO', 14, 0), weekly('MO', 14, 59)], 'csbs')
    assert validate_patterns([weekly('MO', 14, 0), weekly('MO', 15, 0)], 'csbs')
    assert validate_patterns([weekly('MO', 14, 10), weekly('MO', 15, 10)], 'csbs')


def test_execution_times_are_at_least_an_hour_apart_across_midnight():
    # rule: P4
    message = refused([weekly('MO', 23, 30), weekly('TU', 0, 10)], 'csbs')
    assert message.startswith('pattern[1]')
    assert 'runs at 23:30 and this pattern at 00:10 the next day' in message
    assert 'the next day' in refused([weekly('SU', 23, 30), weekly('MO', 0, 10)], 'csbs')
    assert 'the next day' in refused([daily(1, 23, 30), daily(1, 0, 10)], 'csbs')
    assert 'the next day' in refused([weekly('TU', 0, 10), daily(7, 23, 30)], 'csbs')
    assert validate_patterns([weekly('MO', 23, 30), weekly('WE', 0, 10)], 'csbs')
    assert validate_patterns([weekly('MO', 23, 30), weekly('TU', 0, 30)], 'csbs')
    assert validate_patterns(['FREQ=DAILY;BYHOUR=0,23;BYMINUTE=30'], 'csbs')
    assert validate_patterns(['FREQ=DAILY;BYHOUR=0,23'], 'cbr')


def test_cycles_of_n_days_meet_on_consecutive_days_when_coprime():
    # rule: P4
    late, early = daily(30, 23, 30), daily(29, 0, 10)
    assert 'the next day' in refused([late, early], 'csbs')
    # The refusal is real: from some start, the two collide only after more than 800 days.
    times = fire_times([late, early], MONDAY, MONDAY + timedelta(days=900))
    assert too_close(times)
    assert validate_patterns([daily(2, 23, 30), daily(4, 0, 10)], 'csbs')


def test_weekly_cycles_need_days_of_the_week_and_an_interval_of_1():
    # rule: P5
    assert 'FREQ=WEEKLY needs BYDAY' in refused(['FREQ=WEEKLY;BYHOUR=6'])
    assert 'INTERVAL must be 1 or absent' in refused(['FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=6'])
    assert validate_patterns(['FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE,FR;BYHOUR=6'])
    assert 'BYDAY is only allowed with FREQ=WEEKLY' in refused(['FREQ=DAILY;BYDAY=MO;BYHOUR=6'])


def test_byhour_is_required():
    # rule: P5
    assert 'BYHOUR is required' in refused(['FREQ=DAILY;INTERVAL=2'])
    assert 'BYHOUR is required' in refused(['FREQ=WEEKLY;BYDAY=MO;BYMINUTE=0'])


@pytest.mark.parametrize('family, longest', [('cbr', 30), ('csbs', 30), ('vbs', 14)])
def test_every_n_days_limits(family, longest):
    # rule: P5
    assert validate_patterns([daily(1, 3)], family)
    assert validate_patterns([daily(longest, 3)], family)
    message = refused([daily(longest + 1, 3)], family)
    assert 'from 1 to %d days' % longest in message
    assert 'INTERVAL values must be integers from 1' in refused([daily(0, 3)], family)


def test_patterns_are_normalised():
    assert validate_patterns([' freq = weekly ; byday = mo , tu ; byhour = 6 ']) == \
        ['FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6']


# -- fire times ------------------------------------------------------------------------------

def test_the_first_run_is_on_the_start_day_if_its_time_has_not_passed():
    # rule: P5
    start = MONDAY.replace(hour=10)
    end = start + timedelta(days=10)
    assert fire_times([daily(3, 14)], start, end) == [
        datetime(2024, 1, day, 14, tzinfo=UTC) for day in (1, 4, 7, 10)]
    assert fire_times([daily(3, 6)], start, end) == [
        datetime(2024, 1, day, 6, tzinfo=UTC) for day in (4, 7, 10)]
    assert fire_times([daily(3, 10)], start, end)[0] == start


def test_weekly_runs_fall_on_their_days():
    # rule: P5
    times = fire_times([weekly('MO,FR', 6)], MONDAY, MONDAY + timedelta(days=14))
    assert [(moment.day, moment.hour) for moment in times] == [(1, 6), (5, 6), (8, 6), (12, 6)]


def test_fire_times_are_merged_sorted_and_each_given_once():
    times = fire_times(['FREQ=DAILY;BYHOUR=6', weekly('TH', 6), weekly('WE', 5)],
                       MONDAY, MONDAY + timedelta(days=7))
    assert len(times) == 8
    assert times == sorted(set(times))


def test_fire_times_are_in_utc_and_end_is_excluded():
    start = datetime(2024, 1, 1, 23, 0, tzinfo=timezone(timedelta(hours=8)))  # 15:00 UTC
    times = fire_times([daily(1, 16)], start, start + timedelta(days=2, hours=1))
    assert times == [datetime(2024, 1, 1, 16, tzinfo=UTC), datetime(2024, 1, 2, 16, tzinfo=UTC)]
    assert all(moment.utcoffset() == timedelta(0) for moment in times)


def test_fire_times_need_aware_datetimes_and_parseable_patterns():
    with pytest.raises(ValueError, match='timezone-aware'):
        fire_times([daily(1, 6)], datetime(2024, 1, 1), datetime(2024, 2, 1))
    with pytest.raises(ValueError, match=r"pattern\[1\] 'FREQ=YEARLY"):
        fire_times([daily(1, 6), 'FREQ=YEARLY'], MONDAY, MONDAY + HOUR)


# -- properties ------------------------------------------------------------------------------

FAMILIES = ('cbr', 'csbs', 'vbs')
STARTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31),
                      timezones=st.just(UTC))


def rule_text(cycle: str, hours: list[int], minute: int) -> str:
    return '%s;BYHOUR=%s;BYMINUTE=%d' % (cycle, ','.join(map(str, hours)), minute)


def weekly_cycles(most_days: int = 7) -> st.SearchStrategy[str]:
    return st.sets(st.sampled_from(WEEKDAYS), min_size=1, max_size=most_days).map(
        lambda chosen: 'FREQ=WEEKLY;BYDAY=' + ','.join(day for day in WEEKDAYS if day in chosen))


def daily_cycles(intervals: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return intervals.map(lambda every: 'FREQ=DAILY;INTERVAL=%d' % every)


def hour_lists(most: int) -> st.SearchStrategy[list[int]]:
    """Hours, often 0 and 23, where runs meet across midnight."""
    return st.lists(st.sampled_from((0, 23)) | st.integers(0, 23), min_size=1, max_size=most,
                    unique=True)


def patterns_of(family: str) -> st.SearchStrategy[str]:
    """Patterns within the limits of ``family`` for one rule. One minute each: two would
    put two runs within an hour, which is always refused."""
    minute = st.integers(0, 59) if family == 'csbs' else st.just(0)
    interval = st.integers(1, 14 if family == 'vbs' else 30)
    return st.builds(rule_text, weekly_cycles() | daily_cycles(interval), hour_lists(3), minute)


@st.composite
def accepted_pattern_sets(draw: st.DrawFn) -> list[str]:
    family = draw(st.sampled_from(FAMILIES))
    patterns = draw(st.lists(patterns_of(family), min_size=1, max_size=4))
    try:
        return validate_patterns(patterns, family)
    except ValueError:
        reject()


@settings(max_examples=200, deadline=None)
@given(patterns=accepted_pattern_sets(), start=STARTS)
def test_accepted_patterns_fire_an_hour_apart_at_most_24_times_a_day(patterns, start):
    # rule: P4
    end = start + timedelta(days=60)
    times = fire_times(patterns, start, end)
    assert times == sorted(set(times))
    assert all(start <= moment < end for moment in times)
    assert not too_close(times)
    assert max(Counter(moment.date() for moment in times).values(), default=0) <= 24


@settings(max_examples=100, deadline=None)
@given(patterns=st.lists(patterns_of('csbs'), min_size=1, max_size=6), start=STARTS,
       days=st.integers(0, 40))
def test_fire_times_are_sorted_and_distinct_for_any_patterns(patterns, start, days):
    times = fire_times(patterns, start, start + timedelta(days=days))
    assert times == sorted(set(times))


@settings(max_examples=200, deadline=None)
@given(interval=st.integers(1, 30), hour=st.integers(0, 23), minute=st.integers(0, 59),
       start=STARTS)
def test_every_n_days_runs_first_today_or_on_the_next_cycle(interval, hour, minute, start):
    # rule: P5
    times = fire_times([daily(interval, hour, minute)], start, start + timedelta(days=90))
    today = start.replace(hour=hour, minute=minute, second=0, microsecond=0)
    assert times[0] == (today if today >= start else today + timedelta(days=interval))
    assert all(after - before == timedelta(days=interval)
               for before, after in zip(times, times[1:]))


# DAILY intervals dividing 12: with the week, every run repeats after 84 days.
SHORT_CYCLE_PATTERNS = st.builds(
    rule_text, weekly_cycles(2) | daily_cycles(st.sampled_from((1, 2, 3, 4, 6))),
    hour_lists(2), st.integers(0, 59))


@settings(max_examples=300, deadline=None)
@given(patterns=st.lists(SHORT_CYCLE_PATTERNS, min_size=2, max_size=3))
def test_spacing_is_refused_exactly_when_some_start_day_brings_runs_within_an_hour(patterns):
    # rule: P4
    try:
        validate_patterns(patterns, 'csbs')
        accepted = True
    except ValueError:
        accepted = False
    close = False
    for start in (MONDAY + timedelta(days=day) for day in range(7)):
        end = start + timedelta(days=86)
        # each pattern expanded alone, so that two runs at one instant both count
        runs = [moment for pattern in patterns for moment in fire_times([pattern], start, end)]
        close = close or too_close(sorted(runs))
    assert accepted != close
