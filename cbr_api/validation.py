"""Request parsing: JSON bodies through pydantic models, with errors naming the field."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from cbr_common.errors import InvalidInput

M = TypeVar('M', bound=BaseModel)


def json_body() -> Any:
    """The request body parsed as JSON, or a 400 naming the body."""
    raw = request.get_data(cache=True)
    if not raw:
        raise InvalidInput('request body is required', field='body')
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput('request body is not valid JSON: %s' % exc, field='body') from exc


def parse(model: type[M], data: Any, *, prefix: str = '') -> M:
    """Validate ``data`` as ``model``; the first problem becomes a 400 naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = '.'.join(str(part) for part in first.get('loc', ()))
        field = '.'.join(part for part in (prefix, location) if part) or prefix or 'body'
        raise InvalidInput('invalid value for %s: %s' % (field, first.get('msg', 'invalid')),
                           field=field) from exc


def parse_body(model: type[M]) -> M:
    """Validate the whole JSON body as ``model``."""
    return parse(model, json_body())


def query_int(name: str, default: int | None = None, *, minimum: int = 0,
              maximum: int | None = None) -> int | None:
    """An integer query parameter within bounds, or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == '':
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput('%s must be an integer' % name, field=name) from exc
    if value < minimum:
        raise InvalidInput('%s must be at least %d' % (name, minimum), field=name)
    if maximum is not None and value > maximum:
        raise InvalidInput('%s must be at most %d' % (name, maximum), field=name)
    return value


def query_bool(name: str) -> bool | None:
    """A ``true``/``false`` query parameter, None when absent, or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == '':
        return None
    if raw.lower() not in ('true', 'false'):
        raise InvalidInput('%s must be true or false' % name, field=name)
    return raw.lower() == 'true'


def query_time(name: str) -> dt.datetime | None:
    """A ``2018-02-01T12:00:00Z`` query parameter as a UTC instant, or a 400 naming it."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return dt.datetime.strptime(raw, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=dt.timezone.utc)
    except ValueError as exc:
        raise InvalidInput('%s must look like 2018-02-01T12:00:00Z' % name, field=name) from exc


def query_iso_time(name: str) -> dt.datetime | None:
    """An ISO 8601 query parameter (``2017-04-18T01:21:52.701973``; without a zone it is
    UTC) as a UTC instant, or a 400 naming it."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput('%s must look like 2017-04-18T01:21:52.701973' % name,
                           field=name) from exc
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def query_period(column: Any, parse: Callable[[str], dt.datetime | None] = query_time
                 ) -> list[Any]:
    """Conditions that ``column`` lies between the ``start_time`` and ``end_time`` query
    parameters (each optional, both included), read with ``parse``."""
    start, end = parse('start_time'), parse('end_time')
    return ([column >= start] if start is not None else []) + \
        ([column <= end] if end is not None else [])


def query_page(max_limit: int = 1000) -> tuple[int, int]:
    """``limit`` (1 … ``max_limit``, default ``max_limit``) and ``offset`` (default 0)."""
    limit = query_int('limit', max_limit, minimum=1, maximum=max_limit) or max_limit
    return limit, query_int('offset', 0) or 0


def query_choice(name: str, choices: Collection[str], default: str | None = None) -> str | None:
    """A query parameter that must be one of ``choices``; ``default`` when absent or empty."""
    value = request.args.get(name) or default
    if value is not None and value not in choices:
        raise InvalidInput('%s must be one of %s' % (name, ', '.join(choices)), field=name)
    return value


def query_choices(name: str, choices: Collection[str]) -> list[str]:
    """A repeatable query parameter whose every value must be one of ``choices``."""
    values = request.args.getlist(name)
    for value in values:
        if value not in choices:
            raise InvalidInput('%s must be one of %s' % (name, ', '.join(choices)), field=name)
    return values
