"""Read-only snapshots of rows for list APIs, loaded without the ORM's per-object cost.

A record has the same attribute names as the model's instances (``metadata_`` included),
so views render records and instances alike; records are never written back.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Session


@functools.cache
def columns(model: type) -> tuple[Any, ...]:
    """The model's columns, labelled ``<table>__<attribute>`` (built once per model)."""
    table = model.__tablename__
    return tuple(prop.columns[0].label('%s__%s' % (table, prop.key))
                 for prop in inspect(model).column_attrs)


def query(*models: type) -> Select:
    """A SELECT of every column of ``models``, to be joined and narrowed by the caller."""
    return select(*(column for model in models for column in columns(model)))


def _split(row: dict[str, Any], model: type) -> dict[str, Any]:
    prefix = model.__tablename__ + '__'
    return {key[len(prefix):]: value for key, value in row.items() if key.startswith(prefix)}


def load_with_children(session: Session, statement: Select, parent: type, child: type,
                       attribute: str) -> list[SimpleNamespace]:
    """Records of ``parent`` from a parent-outer-join-child query, each with a list of its
    ``child`` records under ``attribute``, in the query's order."""
    parents: dict[Any, SimpleNamespace] = {}
    for row in session.connection().execute(statement).mappings():
        values = _split(row, parent)
        record = parents.get(values['id'])
        if record is None:
            record = parents[values['id']] = SimpleNamespace(**values, **{attribute: []})
        child_values = _split(row, child)
        if child_values['id'] is not None:
            getattr(record, attribute).append(SimpleNamespace(**child_values))
    return list(parents.values())
