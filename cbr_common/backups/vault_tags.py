"""Tags on a vault (rule V13), a CSBS or VBS policy (P16) or a CSBS backup, and the search
of a project's vaults, policies or backups by tags.

A vault's or policy's ``tags`` column is a JSON list of ``{"key", "value"}``; every change
here assigns a new list, so SQLAlchemy sees it. Keys are unique per row, at most
:data:`MAX_TAGS` of them; adding a key the row has replaces its value. The search
(``resource_instances``) is a pure filter over rows, the same on every database.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cbr_common import clock
from cbr_common.backups import OBJECT_TYPES, codes
from cbr_common.db import models
from cbr_common.errors import InvalidInput, NotFound

MAX_TAGS = 10
FUZZY = '*'

Tagged = models.Vault | models.Policy | models.Backup


def _what(row: Tagged) -> str:
    return type(row).__name__.lower()


def tags_of(row: Tagged) -> dict[str, str]:
    """The row's tags as ``key → value``, in their order."""
    return {tag['key']: tag['value'] for tag in row.tags or []}


def _store(row: Tagged, tags: dict[str, str]) -> None:
    row.tags = [{'key': key, 'value': value} for key, value in tags.items()]
    row.updated_at = clock.now()


def put(row: Tagged, pairs: Iterable[tuple[str, str]], *, field: str,
        code: str | None = None) -> None:
    """Add ``(key, value)`` tags; a key the row has gets the new value (V13).

    More than :data:`MAX_TAGS` keys in all is a 400 naming ``field`` (with ``code``).
    """
    tags = tags_of(row)
    tags.update(pairs)
    if len(tags) > MAX_TAGS:
        raise InvalidInput('invalid value for %s: a %s has at most %d tags, this would make '
                           'it %d' % (field, _what(row), MAX_TAGS, len(tags)), field=field,
                           code=code)
    _store(row, tags)


def remove(row: Tagged, pairs: Iterable[tuple[str, str | None]]) -> None:
    """Remove tags by key; with a value, only a tag of that key and value goes.

    Tags the row does not have are ignored, as the batch delete of the real API does.
    """
    tags = tags_of(row)
    for key, value in pairs:
        if key in tags and value in (None, tags[key]):
            del tags[key]
    _store(row, tags)


def delete_key(row: Tagged, key: str, *, code: str = codes.TAG_NOT_FOUND) -> None:
    """Remove the tag ``key``, or a 404 naming ``key`` (with ``code``) when the row has
    none."""
    tags = tags_of(row)
    if key not in tags:
        raise NotFound('%s %s has no tag %s' % (_what(row), row.id, key), field='key',
                       code=code)
    del tags[key]
    _store(row, tags)


def project_tags(rows: Iterable[Tagged]) -> list[dict[str, object]]:
    """Every key used on ``rows`` with its distinct values, both sorted."""
    values: dict[str, set[str]] = {}
    for row in rows:
        for key, value in tags_of(row).items():
            values.setdefault(key, set()).add(value)
    return [{'key': key, 'values': sorted(values[key])} for key in sorted(values)]


def _value_matches(wanted: str, value: str) -> bool:
    """``*text`` matches values containing ``text``; anything else matches itself."""
    if wanted.startswith(FUZZY):
        return wanted[len(FUZZY):] in value
    return wanted == value


@dataclass(frozen=True)
class TagCondition:
    """A key that must be present, with one of ``values`` (any value when empty)."""

    key: str
    values: tuple[str, ...] = ()

    def holds(self, tags: dict[str, str]) -> bool:
        if self.key not in tags:
            return False
        return not self.values or any(_value_matches(v, tags[self.key]) for v in self.values)


@dataclass(frozen=True)
class InstanceFilter:
    """The conditions of a ``resource_instances`` search; empty ones admit every row.

    ``tags`` must all hold (AND, V13), one of ``tags_any`` must; a row holding all of
    ``not_tags`` or any of ``not_tags_any`` is left out. ``without_any_tag`` admits only
    untagged rows and ignores those four. ``name_match`` is the ``resource_name`` match:
    a substring of the name, or, when empty, the whole name. ``object_type`` and
    ``cloud_type`` are CBR v3 names (``disk``, ``public``) and apply to vaults only.
    """

    tags: Sequence[TagCondition] = ()
    tags_any: Sequence[TagCondition] = ()
    not_tags: Sequence[TagCondition] = ()
    not_tags_any: Sequence[TagCondition] = ()
    without_any_tag: bool = False
    name_match: str | None = None
    object_type: str | None = None
    cloud_type: str | None = None

    def admits(self, row: Tagged) -> bool:
        """Whether ``row`` meets every condition."""
        return self._kind_matches(row) and self._name_matches(row.name) and \
            self._tags_match(tags_of(row))

    def _kind_matches(self, vault: Tagged) -> bool:
        if self.cloud_type not in (None, 'public'):
            return False
        return self.object_type is None or OBJECT_TYPES[self.object_type] == vault.resource_type

    def _name_matches(self, name: str) -> bool:
        if self.name_match is None:
            return True
        return name == self.name_match if self.name_match == '' else self.name_match in name

    def _tags_match(self, tags: dict[str, str]) -> bool:
        if self.without_any_tag:
            return not tags
        return (all(c.holds(tags) for c in self.tags)
                and (not self.tags_any or any(c.holds(tags) for c in self.tags_any))
                and not (self.not_tags and all(c.holds(tags) for c in self.not_tags))
                and not any(c.holds(tags) for c in self.not_tags_any))


def search(rows: Iterable[Tagged], conditions: InstanceFilter) -> list[Tagged]:
    """The rows ``conditions`` admit, in the order given."""
    return [row for row in rows if conditions.admits(row)]
