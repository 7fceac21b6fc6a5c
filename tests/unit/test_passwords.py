"""Password hashing of the identity domain: scrypt, salted, encoded as a string."""
from __future__ import annotations

import pytest

from cbr_common import identity
from cbr_common.db import models


def test_hash_round_trip() -> None:
    encoded = identity.hash_password('Passw0rd-sim')
    scheme, salt, key = encoded.split('$')
    assert scheme == 'scrypt' and len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(key)) == 32
    assert identity.verify_password(encoded, 'Passw0rd-sim')


def test_wrong_password_is_refused() -> None:
    encoded = identity.hash_password('Passw0rd-sim')
    for wrong in ('passw0rd-sim', 'Passw0rd-sim ', ''):
        assert not identity.verify_password(encoded, wrong)


def test_two_hashes_of_one_password_differ() -> None:
    first, second = identity.hash_password('same'), identity.hash_password('same')
    assert first != second
    assert identity.verify_password(first, 'same') and identity.verify_password(second, 'same')


def test_check_password_reads_the_users_hash() -> None:
    user = models.User(name='demo', password_hash=identity.hash_password('s3cret-\u00e9'))
    assert identity.check_password(user, 's3cret-\u00e9')
    assert not identity.check_password(user, 's3cret-e')


@pytest.mark.parametrize('encoded', ['', 'scrypt$', 'scrypt$zz$00', 'bcrypt$00$' + '00' * 32,
                                     'scrypt$$' + '00' * 32, 'scrypt$00$0011'])
def test_malformed_hash_is_refused(encoded: str) -> None:
    assert not identity.verify_password(encoded, 'anything')


def test_token_digest_is_sha256_hex() -> None:
    digest = identity.token_digest('abc')
    assert digest == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
