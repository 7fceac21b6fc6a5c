"""Tags on a vault (rule V13) and the search of a project's vaults by tags.

A vault's ``tags`` column is a JSON list of ``{"key", "value"}``; every change here
assigns a new list, so SQLAlchemy sees it. Keys are unique per vault, at most
:data:`MAX_TAGS` of them; adding a key the vault has replaces its value. The search
(``resource_instances``) is a pure filter over vault rows, the same on every database.
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


def tags_of(vault: models.Vault) -> dict[str, str]:
    """The vault's tags as ``key → value``, in their order."""
    return {tag['key']: tag['value'] for tag in vault.tags or []}


def _store(vault: models.Vault, tags: dict[str, str]) -> None:
    vault.tags = [{'key': key, 'value': value} for key, value in tags.items()]
    vault.updated_at = clock.now()


def put(vault: models.Vault, pairs: Iterable[tuple[str, str]], *, field: str) -> None:
    """Add ``(key, value)`` tags; a key the vault has gets the new value (V13).

    More than :data:`MAX_TAGS` keys in all is a 400 naming ``field``.
    """
    tags = tags_of(vault)
    tags.update(pairs)
    if len(tags) > MAX_TAGS:
        raise InvalidInput('invalid value for %s: a vault has at most %d tags, this would make '
                           'it %d' % (field, MAX_TAGS, len(tags)), field=field)
    _store(vault, tags)


def remove(vault: models.Vault, pairs: Iterable[tuple[str, str | None]]) -> None:
    """Remove tags by key; with a value, only a tag of that key and value goes.

    Tags the vault does not have are ignored, as the batch delete of the real API does.
    """
    tags = tags_of(vault)
    for key, value in pairs:
        if key in tags and value in (None, tags[key]):
            del tags[key]
    _store(vault, tags)


def delete_key(vault: models.Vault, key: str) -> None:
    """Remove the tag ``key``, or a 404 naming ``key`` when the vault has none."""
    tags = tags_of(vault)
    if key not in tags:
        raise NotFound('vault %s has no tag %s' % (vault.id, key), field='key',
                       code=codes.TAG_NOT_FOUND)
    del tags[key]
    _store(vault, tags)


def project_tags(vaults: Iterable[models.Vault]) -> list[dict[str, object]]:
    """Every key used on ``vaults`` with its distinct values, both sorted."""
    values: dict[str, set[str]] = {}
    for vault in vaults:
        for key, value in tags_of(vault).items():
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
    """The conditions of a ``resource_instances`` search; empty ones admit every vault.

    ``tags`` must all hold (AND, V13), one of ``tags_any`` must; a vault holding all of
    ``not_tags`` or any of ``not_tags_any`` is left out. ``without_any_tag`` admits only
    untagged vaults and ignores those four. ``name_match`` is the ``resource_name`` match:
    a substring of the name, or, when empty, the whole name. ``object_type`` and
    ``cloud_type`` are CBR v3 names (``disk``, ``public``).
    """

    tags: Sequence[TagCondition] = ()
    tags_any: Sequence[TagCondition] = ()
    not_tags: Sequence[TagCondition] = ()
    not_tags_any: Sequence[TagCondition] = ()
    without_any_tag: bool = False
    name_match: str | None = None
    object_type: str | None = None
    cloud_type: str | None = None

    def admits(self, vault: models.Vault) -> bool:
        """Whether ``vault`` meets every condition."""
        return self._kind_matches(vault) and self._name_matches(vault.name) and \
            self._tags_match(tags_of(vault))

    def _kind_matches(self, vault: models.Vault) -> bool:
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


def search(vaults: Iterable[models.Vault], conditions: InstanceFilter) -> list[models.Vault]:
    """The vaults ``conditions`` admit, in the order given."""
    return [vault for vault in vaults if conditions.admits(vault)]
