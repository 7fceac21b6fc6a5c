"""Names and tags as the backup services accept them (rules V2, B1, P2, V13).

Names are letters of any script (Chinese too), ASCII digits, ``_`` and ``-``; tag keys
the same, up to 36 characters; tag values also ``.``, up to 43 characters, possibly empty.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

NAME_SYMBOLS = frozenset('0123456789_-')
VALUE_SYMBOLS = NAME_SYMBOLS | {'.'}


def rule_error(message: str) -> PydanticCustomError:
    """A validation error whose message is ``message`` as it is."""
    return PydanticCustomError('rule', '{reason}', {'reason': message})


def _only(symbols: frozenset[str], what: str) -> Callable[[str], str]:
    """A check that ``text`` holds only letters and ``symbols``."""
    def check(text: str) -> str:
        refused = sorted({char for char in text if not (char.isalpha() or char in symbols)})
        if refused:
            raise rule_error('%s may contain only letters, digits, %s, not %s' % (
                what, ', '.join('"%s"' % s for s in sorted(symbols - set('0123456789'))),
                ' '.join(repr(char) for char in refused)))
        return text
    return check


check_name = _only(NAME_SYMBOLS, 'name')
Name = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_name)]
TagKey = Annotated[str, Field(min_length=1, max_length=36),
                   AfterValidator(_only(NAME_SYMBOLS, 'tag key'))]
TagValue = Annotated[str, Field(max_length=43), AfterValidator(_only(VALUE_SYMBOLS, 'tag value'))]


class Tag(BaseModel):
    """A ``{"key", "value"}`` tag; surrounding spaces are dropped (rule V13)."""

    model_config = ConfigDict(extra='ignore', str_strip_whitespace=True)
    key: TagKey
    value: TagValue


def unique_keys(tags: list[Tag] | None) -> list[Tag] | None:
    """Refuse two tags with one key (rule V13)."""
    if tags is not None:
        keys = [tag.key for tag in tags]
        if len(set(keys)) != len(keys):
            raise rule_error('tag keys must be unique')
    return tags
