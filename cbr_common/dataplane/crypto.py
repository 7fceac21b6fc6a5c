"""Simulated KMS keys and the sealing of chunks: their ids, encryption and integrity.

A KMS key id names a 256-bit data key derived (HKDF-SHA256) from ``[simulation]
seed_secret``, so every process agrees on it and a reset with the same secret gives the
same keys.  Without a key a chunk is stored as it is and named by its SHA-256; with one it
is named by an HMAC-SHA256 under the data key (equal plaintexts dedupe under one key and
nothing about them can be matched across keys) and stored as
``nonce (12 random bytes) + AES-256-GCM ciphertext + tag (16 bytes)``, the chunk id being
the associated data, so an object found under another chunk's name does not open either.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cbr_common.config import CONF
from cbr_common.errors import DomainError, InvalidInput

NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
_KEY_ID = re.compile(r'[A-Za-z0-9:/_-]{1,128}')


class ChunkCorrupt(DomainError):
    """A stored chunk does not match its id: damaged, tampered with, or sealed with another
    key.  Nothing the caller did wrong, so it is an internal error (HTTP 500) in the API,
    and a job that meets one fails with code ``SIM.500`` and this message."""

    status = 500
    kind = 'internal'


def data_key(key_id: str) -> bytes:
    """The 256-bit data key of a simulated KMS key id (1 to 128 of ``[A-Za-z0-9:/_-]``,
    else :class:`InvalidInput` on ``key_id``).  Derivations are cached per seed secret and
    key id, so changing ``seed_secret`` needs no cache clearing."""
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise InvalidInput('invalid KMS key id %r' % (key_id,), field='key_id')
    return _derive(CONF.simulation.seed_secret, key_id)


@functools.lru_cache(maxsize=1024)
def _derive(secret: str, key_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=b'cbr-sim kms ' + key_id.encode()).derive(secret.encode())


def chunk_id(plain: bytes, key_id: str | None) -> str:
    """64 hex digits naming ``plain``: its SHA-256 without a key, else its HMAC-SHA256 under
    the key's data key."""
    if key_id is None:
        return hashlib.sha256(plain).hexdigest()
    return hmac.digest(data_key(key_id), plain, 'sha256').hex()


def seal(plain: bytes, key_id: str | None, chunk: str) -> bytes:
    """The bytes to store for chunk ``chunk``: ``plain`` itself without a key, else a random
    nonce followed by the AES-GCM encryption of ``plain`` with ``chunk`` as associated data."""
    if key_id is None:
        return plain
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key(key_id)).encrypt(nonce, plain, chunk.encode())


def unseal(stored: bytes, key_id: str | None, chunk: str) -> bytes:
    """The plaintext of what :func:`seal` stored for ``chunk``.  Raises :class:`ChunkCorrupt`
    when the bytes were changed or sealed with another key (or for another chunk); without
    a key, when their SHA-256 is not ``chunk``."""
    if key_id is None:
        if hashlib.sha256(stored).hexdigest() != chunk:
            raise _corrupt(chunk, key_id)
        return stored
    if len(stored) < NONCE_BYTES + TAG_BYTES:
        raise _corrupt(chunk, key_id)
    try:
        return AESGCM(data_key(key_id)).decrypt(stored[:NONCE_BYTES], stored[NONCE_BYTES:],
                                                chunk.encode())
    except InvalidTag:
        raise _corrupt(chunk, key_id) from None


def stored_size(plain_size: int, key_id: str | None) -> int:
    """How many bytes :func:`seal` makes of ``plain_size`` bytes."""
    return plain_size if key_id is None else plain_size + NONCE_BYTES + TAG_BYTES


def _corrupt(chunk: str, key_id: str | None) -> ChunkCorrupt:
    return ChunkCorrupt('chunk %s is damaged or was not sealed with %s' %
                        (chunk, 'KMS key %s' % key_id if key_id else 'no key'))
