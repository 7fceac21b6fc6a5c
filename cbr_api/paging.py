"""Sorting and paging of list endpoints: ``sort=key[:asc|desc],...`` and ``marker``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from cbr_common.errors import InvalidInput

MAX_SORT_CHARS = 255


def page_start(session: Session, ids: Select, marker: str | None, offset: int = 0) -> int:
    """The index of a page's first row: just after the ``marker`` row among ``ids`` (the
    list's ids, in its order), plus ``offset``; ``offset`` without a marker.  A marker
    that is not in the list is a 400 naming it."""
    if not marker:
        return offset
    found = list(session.execute(ids).scalars())
    if marker not in found:
        raise InvalidInput('marker %s is not in this list' % marker, field='marker')
    return offset + found.index(marker) + 1


def order_by(raw: str | None, keys: Mapping[str, InstrumentedAttribute],
             tiebreak: InstrumentedAttribute, default: str = 'created_at') -> list[Any]:
    """The ORDER BY of ``sort`` (``key1[:asc|desc],key2...``, each descending unless said,
    ``default`` when absent), then ``tiebreak`` descending so pages are stable."""
    if raw and len(raw) > MAX_SORT_CHARS:
        raise InvalidInput('sort is longer than %d characters' % MAX_SORT_CHARS, field='sort')
    order = []
    for part in (raw or default).split(','):
        key, _, direction = part.strip().partition(':')
        direction = direction or 'desc'
        if key not in keys or direction not in ('asc', 'desc'):
            raise InvalidInput('sort keys are %s, each optionally :asc or :desc'
                               % ', '.join(keys), field='sort')
        order.append(keys[key].asc() if direction == 'asc' else keys[key].desc())
    return order + [tiebreak.desc()]
