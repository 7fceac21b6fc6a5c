"""Request bodies of VBS v2 backup policies, and a VBS schedule said in the core's terms.

Field names are the real API's, misspellings included (``rentention_num``); unknown
fields are ignored.  A VBS schedule (``scheduled_policy``) becomes:

* one trigger pattern (rules P4, P5): ``start_time`` is a list of whole UTC hours;
  ``week_frequency`` gives days of the week (``FREQ=WEEKLY;BYDAY=...``), ``frequency`` N
  every N days counted from the 1st of each month (``FREQ=MONTHLY;BYMONTHDAY=1,1+N,...``);
  ``frequency`` wins when both are given;
* a retention definition (P6): ``rentention_num`` keeps so many backups per disk
  (``max_backups``), else ``rentention_day`` keeps each for so many days;
  ``remain_first_backup_of_curMonth`` keeps the first backup of the current month too
  (``keep_first_of_month``), in the policy's ``time_zone``;
* ``status`` ON/OFF, the policy's ``enabled``.

The schedule is stored as given (``Policy.family_fields``) so that lists echo it.
"""
from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from cbr_common.naming import Name, Tag, rule_error, unique_keys
from cbr_common.policies import triggers
from cbr_common.policies.schema import Body, TimeZone, field_error

WeekDay = Literal['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']
WEEK: tuple[str, ...] = get_args(WeekDay)
MAX_FREQUENCY = triggers.MAX_DAILY_INTERVAL['vbs']  # 1-14 days (P5)
RESERVED_PREFIX = 'default'  # rule P1
CYCLE_FIELDS = ('frequency', 'week_frequency')
RETENTION_FIELDS = ('rentention_num', 'rentention_day')
_HOUR = re.compile(r'([01][0-9]|2[0-3]):([0-5][0-9])')


def _start_times(text: str) -> str:
    """``"22:00,00:00"``: whole hours (P4), each once."""
    times = [item.strip() for item in text.split(',')]
    for item in times:
        match = _HOUR.fullmatch(item)
        if not match:
            raise rule_error('start_time must be HH:mm times separated by commas, not %r'
                             % item)
        if match.group(2) != '00':
            raise rule_error('backups run on whole hours only, not at %s' % item)
    if len(set(times)) != len(times):
        raise rule_error('start_time repeats a time')
    return ','.join(times)


def _yes_no(value: Any) -> Any:
    """``"Y"``/``"N"``, also given as a JSON boolean (otcextensions sends ``true``)."""
    return {True: 'Y', False: 'N'}.get(value, value) if isinstance(value, bool) else value


def _whole_days(value: Any) -> Any:
    """A fractional number of days is rounded down, as the real API does."""
    return math.floor(value) if isinstance(value, float) and math.isfinite(value) else value


def _distinct(days: list[str]) -> list[str]:
    if len(set(days)) != len(days):
        raise rule_error('week_frequency repeats a day')
    return days


def _not_reserved(name: str) -> str:
    if name.startswith(RESERVED_PREFIX):
        raise rule_error('only the default policy has a name starting with "%s"'
                         % RESERVED_PREFIX)
    return name


StartTime = Annotated[str, AfterValidator(_start_times)]
WeekDays = Annotated[list[WeekDay], Field(min_length=1, max_length=7), AfterValidator(_distinct)]
YesNo = Annotated[Literal['Y', 'N'], BeforeValidator(_yes_no)]
PolicyName = Annotated[Name, AfterValidator(_not_reserved)]
Tags = Annotated[list[Tag], Field(max_length=10), AfterValidator(unique_keys)]


class SchedulePatch(Body):
    """``scheduled_policy`` as an update gives it: any of its fields."""

    start_time: StartTime | None = None
    frequency: Annotated[int, Field(ge=1, le=MAX_FREQUENCY)] | None = None
    week_frequency: WeekDays | None = None
    rentention_num: Annotated[int, Field(ge=2, le=99)] | None = None
    rentention_day: Annotated[int, BeforeValidator(_whole_days),
                              Field(ge=2, le=99999)] | None = None
    remain_first_backup_of_curMonth: YesNo | None = None
    status: Literal['ON', 'OFF'] | None = None

    def given(self) -> dict[str, Any]:
        """The fields given, as stored and shown."""
        return self.model_dump(exclude_none=True)


class Schedule(SchedulePatch):
    """A whole ``scheduled_policy``: a start time, a cycle and a retention rule."""

    @model_validator(mode='after')
    def _complete(self) -> Schedule:
        for names in (('start_time',), CYCLE_FIELDS, RETENTION_FIELDS):
            if all(getattr(self, name) is None for name in names):
                raise field_error(type(self).__name__, (names[0],),
                                  '%s is required' % ' or '.join(names), None)
        return self

    @property
    def enabled(self) -> bool:
        return self.status != 'OFF'

    def pattern(self) -> str:
        """The trigger pattern of this schedule (P4, P5), in UTC."""
        assert self.start_time is not None  # a whole schedule has one
        hours = ','.join(str(hour) for hour in sorted(
            int(item[:2]) for item in self.start_time.split(',')))
        if self.frequency is not None:
            days = ','.join(str(day) for day in range(1, 32, self.frequency))
            return 'FREQ=MONTHLY;BYMONTHDAY=%s;BYHOUR=%s;BYMINUTE=0' % (days, hours)
        weekdays = self.week_frequency or []
        days = ','.join(triggers.WEEKDAYS[(WEEK.index(day) - 1) % 7]
                        for day in sorted(weekdays, key=WEEK.index))
        return 'FREQ=WEEKLY;BYDAY=%s;BYHOUR=%s;BYMINUTE=0' % (days, hours)

    def definition(self, time_zone: str | None) -> dict[str, Any]:
        """The core's retention definition of this schedule (P6)."""
        if self.rentention_num is not None:
            definition: dict[str, Any] = {'max_backups': self.rentention_num}
        else:
            definition = {'retention_duration_days': self.rentention_day}
        if self.remain_first_backup_of_curMonth == 'Y':
            definition['keep_first_of_month'] = True
        if time_zone:
            definition['timezone'] = time_zone
        return definition


def merged(stored: dict[str, Any], patch: SchedulePatch) -> dict[str, Any]:
    """The stored schedule with an update's fields: a cycle or a retention field given
    replaces the stored cycle or retention rule as a whole."""
    given = patch.given()
    fields = dict(stored)
    for group in (CYCLE_FIELDS, RETENTION_FIELDS):
        if any(name in given for name in group):
            for name in group:
                fields.pop(name, None)
    fields.update(given)
    return fields


class PolicyCreateBody(Body):
    """``POST /v2/{project_id}/backuppolicy`` (no wrapper key)."""

    backup_policy_name: PolicyName
    scheduled_policy: Schedule
    tags: Tags = []
    time_zone: TimeZone | None = None


class PolicyUpdateBody(Body):
    """``PUT /v2/{project_id}/backuppolicy/{policy_id}``: only the fields given change."""

    backup_policy_name: Name | None = None
    scheduled_policy: SchedulePatch | None = None
    time_zone: TimeZone | None = None


class ResourceRef(Body):
    """A disk in an associate or disassociate request."""

    resource_id: Annotated[str, Field(min_length=1, max_length=64)]
    resource_type: str = 'volume'


class AssociateBody(Body):
    """``POST /v2/{project_id}/backuppolicyresources``."""

    backup_policy_id: Annotated[str, Field(min_length=1, max_length=64)]
    resources: Annotated[list[ResourceRef], Field(min_length=1)]


class DisassociateBody(Body):
    """``POST /v2/{project_id}/backuppolicyresources/{policy_id}/deleted_resources``."""

    resources: Annotated[list[ResourceRef], Field(min_length=1)]
