"""What every chunk store offers, and the rules its keys follow."""
from __future__ import annotations

import abc
import re
from collections.abc import Iterable, Iterator

from cbr_common.errors import InvalidInput, NotFound

MAX_KEY_LENGTH = 512
"""Longest key accepted; far above a chunk key and below every backend's own limit."""

# A segment never starts with a dot, so keys cannot name '.', '..' or a local temp file.
_SEGMENT = r'[A-Za-z0-9_-][A-Za-z0-9._-]*'
_KEY = re.compile(r'{0}(?:/{0})*'.format(_SEGMENT))
_PREFIX = re.compile(r'(?:{0}/)*(?:{0})?'.format(_SEGMENT))


class ChunkMissing(NotFound):
    """A chunk object that should be there is not."""


def check_key(key: str) -> str:
    """``key`` itself when it is a valid object key, else :class:`InvalidInput` on ``key``.

    A key is one or more ``/``-separated segments of ``[A-Za-z0-9._-]`` that do not start
    with a dot, at most :data:`MAX_KEY_LENGTH` characters: no leading, trailing or doubled
    ``/``, no ``.`` or ``..``.
    """
    return _checked(_KEY, key, 'key')


def check_prefix(prefix: str) -> str:
    """``prefix`` itself when some valid key could start with it, else :class:`InvalidInput`
    on ``prefix``."""
    return _checked(_PREFIX, prefix, 'prefix')


def _checked(pattern: re.Pattern[str], value: str, field: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_KEY_LENGTH or not pattern.fullmatch(value):
        raise InvalidInput('invalid chunk %s %r' % (field, value), field=field)
    return value


class ChunkStore(abc.ABC):
    """Where backup chunks (and nothing else) live: opaque immutable objects named by keys.

    Keys are checked with :func:`check_key` (:class:`InvalidInput` with ``field='key'``).
    Instances are safe to share between threads.  Failures of the storage itself propagate
    as the backend raises them (``OSError`` locally, botocore errors for S3).  What writers
    that died half way left behind is cleaned up by :meth:`remove_leftovers`, which every
    garbage-collection sweep calls (a no-op unless the backend overrides it).
    """

    @abc.abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Store atomically (readers never see a partial object); putting the same key again
        with the same bytes is harmless."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The stored bytes; :class:`ChunkMissing` when there is no such object."""

    @abc.abstractmethod
    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes of the object from ``offset`` (fewer at its end);
        :class:`ChunkMissing` when there is no such object."""

    @abc.abstractmethod
    def delete(self, keys: Iterable[str]) -> int:
        """Remove the objects (missing ones are fine); returns how many keys were given."""

    @abc.abstractmethod
    def keys(self, prefix: str = '') -> Iterator[str]:
        """Every stored key starting with ``prefix``, in any order."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the store is, for logs: ``local:/path`` or ``s3://bucket/prefix``."""

    def remove_leftovers(self) -> int:
        """Remove what crashed writers left behind (the garbage collector calls this on every
        sweep); returns how many leftovers were removed.  Nothing to do by default: only
        backends whose writes are not atomic by themselves leave anything."""
        return 0
