"""Trigger patterns of backup policies: iCalendar (RFC 2445) RRULE strings.

A policy's ``trigger.properties.pattern`` lists 1 to 24 rules such as
``FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=14;BYMINUTE=00`` or ``FREQ=DAILY;INTERVAL=3;BYHOUR=6``.
Only ``FREQ`` (WEEKLY or DAILY; for VBS also MONTHLY), ``INTERVAL``, ``BYDAY``,
``BYMONTHDAY`` (with MONTHLY only), ``BYHOUR`` and ``BYMINUTE`` are accepted.
:func:`validate_patterns` enforces, for one service family:

* P4 -- CBR and VBS run on whole hours, CSBS at any minute; at most 24 execution times
  on a day; at least 1 hour between any two execution times, across midnight and across
  the days of the week too.
* P5 -- the cycle is days of the week (WEEKLY with BYDAY) or every N days (DAILY with
  INTERVAL N: CBR and CSBS 1-30, VBS 1-14); BYHOUR is required.  VBS counts every N days
  from the 1st of each month: days of the month (MONTHLY with BYMONTHDAY), which
  :mod:`cbr_common.vbs.policy_schema` writes from a VBS schedule.

:func:`fire_times` expands patterns with dateutil. Every cycle starts on the UTC day a
schedule starts, so the spacing rule must hold whatever that day is: rather than expanding
the hundreds of days after which two coprime DAILY intervals meet, the check reasons on
each pattern's times of day and on which days two patterns can run (same day, or one the
day after the other), for any start day.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import product
from math import gcd
from typing import Literal

from dateutil.rrule import rruleset, rrulestr

Family = Literal['cbr', 'csbs', 'vbs']

MAX_PATTERNS = 24
MAX_TIMES_PER_DAY = 24
MIN_SPACING_MINUTES = 60
MAX_DAILY_INTERVAL: dict[str, int] = {'cbr': 30, 'csbs': 30, 'vbs': 14}
WHOLE_HOURS_ONLY: frozenset[str] = frozenset({'cbr', 'vbs'})
WEEKDAYS = ('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')
RULE_PARTS = ('FREQ', 'INTERVAL', 'BYDAY', 'BYMONTHDAY', 'BYHOUR', 'BYMINUTE')
FREQUENCIES: dict[str, tuple[str, ...]] = {'cbr': ('WEEKLY', 'DAILY'),
                                           'csbs': ('WEEKLY', 'DAILY'),
                                           'vbs': ('WEEKLY', 'DAILY', 'MONTHLY')}
ANY_FREQUENCY = ('WEEKLY', 'DAILY', 'MONTHLY')
MONTH_ENDS = frozenset({28, 29, 30, 31})  # the days a month can end on

_MINUTES_PER_DAY = 24 * 60
_NUMBER = re.compile(r'[0-9]{1,5}')


@dataclass(frozen=True)
class _Rule:
    """One parsed pattern: its normalised text, its cycle and its times of day."""

    text: str
    interval: int
    weekdays: frozenset[int]  # 0 = Monday; empty unless WEEKLY
    monthdays: frozenset[int]  # 1 to 31; empty unless MONTHLY
    minutes: tuple[int, ...]  # execution times as minutes after midnight, ascending


def _parts(text: str) -> dict[str, str]:
    """The rule parts of ``text`` by name, upper-cased and without blanks."""
    parts: dict[str, str] = {}
    for part in text.split(';'):
        name, equals, value = part.partition('=')
        name = name.strip().upper()
        value = ','.join(item.strip() for item in value.upper().split(','))
        if not equals or not name or not value:
            raise ValueError('rule part %r is not NAME=VALUE' % part)
        if name not in RULE_PARTS:
            raise ValueError('%s is not allowed (only %s)' % (name, ', '.join(RULE_PARTS)))
        if name in parts:
            raise ValueError('%s is given twice' % name)
        parts[name] = value
    return parts


def _items(parts: dict[str, str], name: str) -> list[str]:
    """The comma-separated values of part ``name`` (none if it is absent); no repeats."""
    items = parts[name].split(',') if name in parts else []
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise ValueError('%s repeats %s' % (name, ','.join(repeated)))
    return items


def _numbers(parts: dict[str, str], name: str, low: int, high: int) -> list[int]:
    """The integer values of part ``name``, each between ``low`` and ``high``."""
    values = []
    for item in _items(parts, name):
        if not _NUMBER.fullmatch(item) or not low <= int(item) <= high:
            raise ValueError('%s values must be integers from %d to %d, not %r'
                             % (name, low, high, item))
        values.append(int(item))
    return values


def _weekdays(parts: dict[str, str]) -> frozenset[int]:
    """The days of part BYDAY as numbers (0 = Monday)."""
    days = _items(parts, 'BYDAY')
    unknown = [day for day in days if day not in WEEKDAYS]
    if unknown:
        raise ValueError('BYDAY values must be among %s, not %s'
                         % (','.join(WEEKDAYS), ','.join(unknown)))
    return frozenset(WEEKDAYS.index(day) for day in days)


def _parse(text: str, frequencies: tuple[str, ...]) -> _Rule:
    """``text`` as a rule of one of ``frequencies``, or ValueError saying what is wrong
    with it (P5 shape)."""
    parts = _parts(text)
    freq = parts.get('FREQ')
    if freq not in frequencies:
        raise ValueError('FREQ must be %s or %s' % (', '.join(frequencies[:-1]),
                                                    frequencies[-1]))
    if 'BYHOUR' not in parts:
        raise ValueError('BYHOUR is required')
    intervals = _numbers(parts, 'INTERVAL', 1, 99999) or [1]
    if len(intervals) > 1:
        raise ValueError('INTERVAL takes one value')
    weekdays = _weekdays(parts)
    if freq == 'WEEKLY' and not weekdays:
        raise ValueError('FREQ=WEEKLY needs BYDAY, the days of the week it runs on')
    if freq == 'WEEKLY' and intervals != [1]:
        raise ValueError('INTERVAL must be 1 or absent with FREQ=WEEKLY')
    if freq != 'WEEKLY' and weekdays:
        raise ValueError('BYDAY is only allowed with FREQ=WEEKLY')
    monthdays = frozenset(_numbers(parts, 'BYMONTHDAY', 1, 31))
    if (freq == 'MONTHLY') != bool(monthdays):
        raise ValueError('BYMONTHDAY, the days of the month, goes with FREQ=MONTHLY only, '
                         'and FREQ=MONTHLY needs it')
    if freq == 'MONTHLY' and intervals != [1]:
        raise ValueError('INTERVAL must be 1 or absent with FREQ=MONTHLY')
    hours = _numbers(parts, 'BYHOUR', 0, 23)
    minutes = _numbers(parts, 'BYMINUTE', 0, 59) or [0]
    return _Rule(text=';'.join('%s=%s' % part for part in parts.items()),
                 interval=intervals[0], weekdays=weekdays, monthdays=monthdays,
                 minutes=tuple(sorted(h * 60 + m for h, m in product(hours, minutes))))


def _check_family(rule: _Rule, family: Family) -> None:
    """The limits of ``family`` on one rule: whole hours (P4), DAILY interval (P5)."""
    if family in WHOLE_HOURS_ONLY and any(minute % 60 for minute in rule.minutes):
        raise ValueError('%s runs on whole hours only: BYMINUTE must be 0 or absent'
                         % family.upper())
    high = MAX_DAILY_INTERVAL[family]
    if not rule.weekdays and rule.interval > high:
        raise ValueError('INTERVAL with FREQ=DAILY must be from 1 to %d days for %s'
                         % (high, family.upper()))


def _busiest_day(rules: list[_Rule]) -> int:
    """The most execution times ``rules`` can have on one day.

    On the first day of a schedule every DAILY rule runs, with the WEEKLY rules of that
    day's weekday, which can be any; a MONTHLY rule is counted as if it ran that day too.
    """
    every_cycle = {minute for rule in rules if not rule.weekdays for minute in rule.minutes}
    return max(len(every_cycle.union(*(rule.minutes for rule in rules if day in rule.weekdays)))
               for day in range(7))


def _monthdays_follow(first: frozenset[int], second: frozenset[int], days_later: int) -> bool:
    """Whether a day of the month in ``second`` can come ``days_later`` (0 or 1) days after
    one in ``first``, also from a month's last day to the 1st."""
    if days_later == 0:
        return bool(first & second)
    return any(day + 1 in second for day in first) or (1 in second and bool(first & MONTH_ENDS))


def _can_follow(first: _Rule, second: _Rule, days_later: int) -> bool:
    """Whether, for some start day, ``second`` runs ``days_later`` (0 or 1) days after a
    day on which ``first`` runs."""
    if first.weekdays and second.weekdays:
        return any((day + days_later) % 7 in second.weekdays for day in first.weekdays)
    if first.monthdays and second.monthdays:
        return _monthdays_follow(first.monthdays, second.monthdays, days_later)
    if first.weekdays or second.weekdays or first.monthdays or second.monthdays:
        return True  # an every-N-days cycle falls on each weekday (and day) for some start
    # Both cycles run on the start day; they meet on consecutive days iff coprime.
    return days_later == 0 or gcd(first.interval, second.interval) == 1


def _too_close(first: _Rule, second: _Rule, same: bool) -> tuple[int, int, int] | None:
    """A time of ``first`` followed less than an hour later by a time of ``second``, as
    (first's minute, second's minute, days between), or None."""
    for days_later in (0, 1):
        if not _can_follow(first, second, days_later):
            continue
        for early, late in product(first.minutes, second.minutes):
            gap = days_later * _MINUTES_PER_DAY + late - early
            if 0 <= gap < MIN_SPACING_MINUTES and not (same and gap == 0):
                return early, late, days_later
    return None


def _clock(minute: int) -> str:
    return '%02d:%02d' % divmod(minute, 60)


def _spacing_problem(rules: list[_Rule], index: int) -> str | None:
    """Why rule ``index`` runs less than an hour from itself or an earlier rule, or None."""
    def name(position: int) -> str:
        return 'this pattern' if position == index else 'pattern[%d] %r' % (
            position, rules[position].text)

    for other in range(index + 1):
        orders = [(index, index)] if other == index else [(other, index), (index, other)]
        for early, late in orders:
            found = _too_close(rules[early], rules[late], same=early == late)
            if not found:
                continue
            early_minute, late_minute, days_later = found
            later = ' the next day' if days_later else ''
            if early == late:
                return ('execution times must be at least 1 hour apart, but it runs at %s '
                        'and at %s%s' % (_clock(early_minute), _clock(late_minute), later))
            return ('execution times must be at least 1 hour apart, but %s runs at %s and '
                    '%s at %s%s' % (name(early), _clock(early_minute), name(late),
                                    _clock(late_minute), later))
    return None


def _refused(index: int, text: str, reason: str) -> ValueError:
    return ValueError('pattern[%d] %r: %s' % (index, text, reason))


def _parsed(index: int, text: str, frequencies: tuple[str, ...] = ANY_FREQUENCY) -> _Rule:
    """Pattern ``index`` parsed, or ValueError naming it."""
    try:
        return _parse(text, frequencies)
    except ValueError as exc:
        raise _refused(index, text, str(exc)) from exc


def validate_patterns(patterns: list[str], family: Family = 'cbr') -> list[str]:
    """The patterns normalised (upper case, no blanks, parts in their order), or
    ValueError naming the first offending pattern by its index (rules P4 and P5)."""
    if not 1 <= len(patterns) <= MAX_PATTERNS:
        raise ValueError('from 1 to %d patterns are allowed, not %d'
                         % (MAX_PATTERNS, len(patterns)))
    rules: list[_Rule] = []
    for index, text in enumerate(patterns):
        rule = _parsed(index, text, FREQUENCIES[family])
        try:
            _check_family(rule, family)
        except ValueError as exc:
            raise _refused(index, text, str(exc)) from exc
        rules.append(rule)
        if _busiest_day(rules) > MAX_TIMES_PER_DAY:
            raise _refused(index, text, 'more than %d execution times on one day'
                           % MAX_TIMES_PER_DAY)
        problem = _spacing_problem(rules, index)
        if problem:
            raise _refused(index, text, problem)
    return [rule.text for rule in rules]


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError('fire times need timezone-aware datetimes, not %s' % moment)
    return moment.astimezone(timezone.utc)


def fire_times(patterns: list[str], start: datetime, end: datetime) -> list[datetime]:
    """Every execution time of ``patterns`` from ``start`` (included) to ``end``
    (excluded), in UTC, ascending, each once.

    Cycles start on the UTC day of ``start``: a pattern first runs that day if its time
    has not passed, else on its next cycle (P5); a MONTHLY pattern runs on its days of
    every month, whatever the start. Patterns must parse (ValueError naming
    the first that does not); the limits of a family are :func:`validate_patterns`' job.
    """
    start, end = _utc(start), _utc(end)
    first_day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    schedule = rruleset()
    for index, text in enumerate(patterns):
        schedule.rrule(rrulestr(_parsed(index, text).text, dtstart=first_day))
    return [moment for moment in schedule.between(start, end, inc=True) if moment < end]
