"""The timestamp formats of the real APIs."""
from __future__ import annotations

import datetime as dt


def evs(value: dt.datetime | None) -> str | None:
    """EVS/Cinder style: ``2016-05-25T02:42:10.856332`` (UTC, no zone)."""
    return None if value is None else value.replace(tzinfo=None).isoformat(timespec='microseconds')


def zulu(value: dt.datetime | None) -> str:
    """ECS style: ``2018-08-13T13:46:09Z``; empty string for none."""
    return '' if value is None else value.strftime('%Y-%m-%dT%H:%M:%SZ')


def job(value: dt.datetime | None) -> str:
    """Job API style: ``2016-01-28T16:14:09.466Z``; empty string while unset."""
    return '' if value is None else milliseconds(value) + 'Z'


def milliseconds(value: dt.datetime | None) -> str:
    """VBS backup task style: ``2016-12-03T06:24:34.467`` (UTC, no zone); empty while
    unset."""
    if value is None:
        return ''
    return value.strftime('%Y-%m-%dT%H:%M:%S.') + '%03d' % (value.microsecond // 1000)
