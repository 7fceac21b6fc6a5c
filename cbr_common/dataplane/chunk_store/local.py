"""The local chunk store: one file per object below a folder, the key being its path.

``put`` writes a temporary file ``.tmp-<writer pid>-<n>`` next to the object and
renames it into place, so a reader sees the whole object or none.  A process killed half
way leaves only its temporary file: :meth:`LocalChunkStore.keys` never lists it (no key
segment starts with a dot) and :meth:`LocalChunkStore.remove_leftovers` deletes it once no
process with the writer's pid is running.  Nothing is fsync-ed: objects survive the crash
of a process, not of the machine.  Files are private to the user the services run as.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cbr_common.dataplane.chunk_store.base import (ChunkMissing, ChunkStore, check_key,
                                                   check_prefix)
from cbr_common.dataplane.sparse_io import pwrite_all

_TEMP_PREFIX = '.tmp-'
_TEMP_NAME = re.compile(r'\.tmp-([1-9][0-9]{0,8})-')
_ABSENT = (FileNotFoundError, IsADirectoryError, NotADirectoryError)
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_COUNTER = itertools.count()


class LocalChunkStore(ChunkStore):
    """Objects as files below ``root`` (created as needed)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def put(self, key: str, data: bytes) -> None:
        """Write a temporary file in the object's folder, then rename it over the object."""
        path = self._path(key)
        descriptor, temporary = _temporary_file(os.path.dirname(path))
        try:
            try:
                pwrite_all(descriptor, data, 0)
            finally:
                os.close(descriptor)
            os.replace(temporary, path)
        except BaseException:
            _unlink(temporary)
            raise

    def get(self, key: str) -> bytes:
        """The file's bytes; :class:`ChunkMissing` when it does not exist."""
        with self._opened(key) as source:
            return source.read()

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """One ``pread`` of the file."""
        with self._opened(key) as source:
            return os.pread(source.fileno(), length, offset)

    @contextlib.contextmanager
    def _opened(self, key: str) -> Iterator[BinaryIO]:
        try:
            source = open(self._path(key), 'rb')
        except _ABSENT:
            raise ChunkMissing('chunk object %s is missing from %s' % (key, self.describe()),
                               field='key') from None
        with source:
            yield source

    def delete(self, keys: Iterable[str]) -> int:
        """Unlink each file (every key is checked before any is removed); returns how many
        keys were given."""
        paths = [self._path(key) for key in keys]
        for path in paths:
            _unlink(path)
        return len(paths)

    def keys(self, prefix: str = '') -> Iterator[str]:
        """Walk only the folder the prefix names, skipping temporary files."""
        folder = check_prefix(prefix).rpartition('/')[0]
        start = os.path.join(self.root, folder)
        return (key for key, entry in _files(start, folder + '/' if folder else '')
                if key.startswith(prefix) and not entry.name.startswith('.'))

    def describe(self) -> str:
        """``local:<root>``."""
        return 'local:%s' % self.root

    def remove_leftovers(self) -> int:
        """Delete the temporary files whose writer is no longer running; returns how many.

        The writer is recognised by its pid on this machine, so a store folder shared by
        several machines must only be swept by one of them while the others are idle.
        """
        leftovers = [entry.path for _, entry in _files(self.root, '')
                     if _writer_gone(entry.name)]
        return sum(_unlink(path) for path in leftovers)

    def _path(self, key: str) -> str:
        return os.path.join(self.root, check_key(key))


def _temporary_file(folder: str) -> tuple[int, str]:
    """An open, new, uniquely named temporary file in ``folder`` (made when missing).

    The name is the writer's pid and a per-process counter (``next`` on it is atomic
    under the GIL); ``O_EXCL`` still refuses a name left by an earlier process of the
    same pid, and the next number is tried.
    """
    while True:
        path = os.path.join(folder, '%s%d-%d' % (_TEMP_PREFIX, os.getpid(), next(_COUNTER)))
        try:
            return os.open(path, _TEMP_FLAGS, 0o600), path
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:
            continue


def _files(folder: str, relative: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(path relative to the store root, entry) of every regular file below ``folder``."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _files(entry.path, relative + entry.name + '/')
        elif entry.is_file(follow_symlinks=False):
            yield relative + entry.name, entry


def _writer_gone(name: str) -> bool:
    """Whether ``name`` is a temporary file whose writing process no longer runs."""
    match = _TEMP_NAME.match(name)
    if match is None:
        return False
    try:
        os.kill(int(match[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # signalling it is refused: it runs, as another user
        pass
    return False


def _unlink(path: str) -> bool:
    """Remove the file at ``path``; False when there was none."""
    try:
        os.unlink(path)
    except _ABSENT:
        return False
    return True
