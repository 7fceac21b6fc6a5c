"""Simulated KMS keys and chunk sealing: ids, encryption, integrity and sizes."""
from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cbr_common.config import CONF
from cbr_common.dataplane import crypto
from cbr_common.dataplane.crypto import ChunkCorrupt, chunk_id, data_key, seal, stored_size, unseal
from cbr_common.errors import DomainError, InvalidInput

KEY = 'kms-key-1'
OTHER_KEY = 'project/kms:key_2'
PLAIN = b'the quarterly ledger, every line of it. ' * 2000


@pytest.fixture
def seed_secret():
    """Sets ``[simulation] seed_secret`` for the test, cleared after."""
    def set_secret(secret: str) -> None:
        CONF.set_override('seed_secret', secret, group='simulation')
    yield set_secret
    CONF.clear_override('seed_secret', group='simulation')


# -- chunk ids -------------------------------------------------------------------------------
def test_chunk_id_without_a_key_is_the_sha256():
    assert chunk_id(PLAIN, None) == hashlib.sha256(PLAIN).hexdigest()


def test_chunk_id_with_a_key_is_a_keyed_digest_that_dedupes_only_under_that_key():
    ids = {chunk_id(PLAIN, key) for key in (None, KEY, OTHER_KEY)}
    assert len(ids) == 3
    assert chunk_id(PLAIN, KEY) == chunk_id(bytes(PLAIN), KEY)
    assert chunk_id(PLAIN + b'!', KEY) != chunk_id(PLAIN, KEY)
    assert all(len(each) == 64 and int(each, 16) >= 0 for each in ids)


# -- sealing ---------------------------------------------------------------------------------
@pytest.mark.parametrize('key_id', [None, KEY])
@pytest.mark.parametrize('plain', [b'', b'x', PLAIN, os.urandom(1024 * 1024 + 3)])
def test_unseal_returns_what_was_sealed_and_stored_size_is_exact(key_id, plain):
    chunk = chunk_id(plain, key_id)
    stored = seal(plain, key_id, chunk)
    assert len(stored) == stored_size(len(plain), key_id)
    assert unseal(stored, key_id, chunk) == plain


def test_stored_size_adds_nonce_and_tag_only_with_a_key():
    assert stored_size(1000, None) == 1000
    assert stored_size(1000, KEY) == 1000 + 12 + 16


def test_sealed_bytes_hide_the_plaintext_and_differ_each_time():
    chunk = chunk_id(PLAIN, KEY)
    first, second = seal(PLAIN, KEY, chunk), seal(PLAIN, KEY, chunk)
    assert first != second
    for stored in (first, second):
        assert b'quarterly' not in stored and b'ledger' not in stored
        assert all(PLAIN[start:start + 16] not in stored for start in range(0, 4096, 7))


def test_without_a_key_the_plaintext_is_stored_as_it_is():
    assert seal(PLAIN, None, chunk_id(PLAIN, None)) == PLAIN


@pytest.mark.parametrize('key_id', [None, KEY])
@pytest.mark.parametrize('where', [0, 11, 12, 500, -16, -1])
def test_changing_any_byte_is_detected(key_id, where):
    chunk = chunk_id(PLAIN, key_id)
    stored = bytearray(seal(PLAIN, key_id, chunk))
    stored[where] ^= 0x01
    with pytest.raises(ChunkCorrupt):
        unseal(bytes(stored), key_id, chunk)


@pytest.mark.parametrize('key_id', [None, KEY])
def test_truncated_objects_are_detected(key_id):
    chunk = chunk_id(PLAIN, key_id)
    stored = seal(PLAIN, key_id, chunk)
    for length in (0, 5, 27, len(stored) - 1):
        with pytest.raises(ChunkCorrupt):
            unseal(stored[:length], key_id, chunk)


def test_another_key_or_another_chunk_name_does_not_open():
    chunk = chunk_id(PLAIN, KEY)
    stored = seal(PLAIN, KEY, chunk)
    with pytest.raises(ChunkCorrupt):
        unseal(stored, OTHER_KEY, chunk)
    with pytest.raises(ChunkCorrupt):
        unseal(stored, KEY, chunk_id(b'another chunk', KEY))
    with pytest.raises(ChunkCorrupt):
        unseal(stored, None, chunk)


def test_chunk_corrupt_is_an_internal_domain_error():
    error = crypto.ChunkCorrupt('damaged')
    assert isinstance(error, DomainError) and error.status == 500 and error.kind == 'internal'


# -- data keys -------------------------------------------------------------------------------
def test_data_key_is_the_hkdf_of_the_seed_secret(seed_secret):
    seed_secret('a secret')
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b'cbr-sim kms ' + KEY.encode()).derive(b'a secret')
    assert data_key(KEY) == expected


def test_data_key_follows_the_seed_secret(seed_secret):
    seed_secret('first')
    first = data_key(KEY)
    sealed = seal(PLAIN, KEY, 'chunk')
    assert data_key(KEY) == first and len(first) == 32
    assert data_key(OTHER_KEY) != first
    seed_secret('second')
    assert data_key(KEY) != first
    with pytest.raises(ChunkCorrupt):
        unseal(sealed, KEY, 'chunk')
    seed_secret('first')
    assert data_key(KEY) == first
    assert unseal(sealed, KEY, 'chunk') == PLAIN


@pytest.mark.parametrize('bad', ['', 'k' * 129, 'key id', 'key.1', 'cl\u00e9', 'key\n', 7])
def test_invalid_key_ids_are_refused(bad):
    for call in (lambda: data_key(bad), lambda: chunk_id(b'x', bad),
                 lambda: seal(b'x', bad, 'chunk'), lambda: unseal(bytes(40), bad, 'chunk')):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == 'key_id'


def test_no_key_is_not_a_key_id():
    with pytest.raises(InvalidInput):
        data_key(None)


def test_the_longest_key_id_is_accepted():
    assert len(data_key('k' * 128)) == 32
