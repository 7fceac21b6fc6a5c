"""The identity domain: projects, users, AK/SK credentials, passwords and tokens.

No web framework here; ``cbr_api.identity.keystone`` and the seeding code build on it.
Passwords are stored as ``scrypt$<salt hex>$<hash hex>``; tokens only as their SHA-256
digest, with issue and expiry instants in real (wall-clock) epoch seconds.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.errors import InvalidInput
from cbr_common.ids import new_hex_id

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2 ** 14, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
_HEX_ID = re.compile(r'^[0-9a-f]{32}$')


# -- passwords ------------------------------------------------------------------------------
def _scrypt(salt: bytes) -> Scrypt:
    return Scrypt(salt=salt, length=_KEY_BYTES, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``: ``scrypt$<salt hex>$<hash hex>``."""
    salt = os.urandom(_SALT_BYTES)
    key = _scrypt(salt).derive(password.encode('utf-8'))
    return 'scrypt$%s$%s' % (salt.hex(), key.hex())


def verify_password(encoded: str, password: str) -> bool:
    """Whether ``password`` matches an encoded hash; False for a malformed hash."""
    scheme, _, rest = encoded.partition('$')
    salt_hex, _, key_hex = rest.partition('$')
    try:
        salt, key = bytes.fromhex(salt_hex), bytes.fromhex(key_hex)
    except ValueError:
        return False
    if scheme != 'scrypt' or not salt or len(key) != _KEY_BYTES:
        return False
    try:
        _scrypt(salt).verify(password.encode('utf-8'), key)
    except InvalidKey:
        return False
    return True


def check_password(user: models.User, password: str) -> bool:
    """Whether ``password`` is the user's password."""
    return verify_password(user.password_hash, password)


# -- ids ----------------------------------------------------------------------------------
def stable_id(*parts: str) -> str:
    """A 32-hex id derived from ``parts``: the same parts give the same id in every process."""
    return hashlib.sha256('\x1f'.join(parts).encode('utf-8')).hexdigest()[:32]


def domain_id(domain_name: str) -> str:
    """The id reported for a domain (domains exist only as names on projects)."""
    return stable_id('domain', domain_name)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def _require_name(value: str, field: str) -> str:
    if not value or len(value) > 64:
        raise InvalidInput('%s must be 1 to 64 characters' % field, field=field)
    return value


# -- creating -----------------------------------------------------------------------------
def create_project(session: Session, name: str, project_id: str | None = None) -> models.Project:
    """A new project in the configured domain; ``project_id`` is 32 lowercase hex."""
    if project_id is not None and not _HEX_ID.match(project_id):
        raise InvalidInput('project id must be 32 lowercase hex characters', field='project_id')
    project = models.Project(id=project_id or new_hex_id(), name=_require_name(name, 'name'),
                             domain_name=CONF.identity.domain_name,
                             created_at=clock.now())
    session.add(project)
    return project


def create_user(session: Session, name: str, project: models.Project, password: str,
                roles: Sequence[str]) -> models.User:
    """A new user of ``project`` with a hashed password and the given roles."""
    if not password:
        raise InvalidInput('password must not be empty', field='password')
    user = models.User(id=new_hex_id(), name=_require_name(name, 'name'), project=project,
                       project_id=project.id,
                       password_hash=hash_password(password), roles=list(dict.fromkeys(roles)))
    session.add(user)
    return user


def create_credential(session: Session, user: models.User, access_key: str,
                      secret_key: str) -> models.Credential:
    """A new AK/SK pair acting as ``user``."""
    if not access_key or len(access_key) > 64 or not access_key.isalnum():
        raise InvalidInput('access key must be 1 to 64 letters or digits', field='access_key')
    if not secret_key or len(secret_key) > 128:
        raise InvalidInput('secret key must be 1 to 128 characters', field='secret_key')
    credential = models.Credential(access_key=access_key, secret_key=secret_key,
                                   user=user, user_id=user.id)
    session.add(credential)
    return credential


def issue_token(session: Session, user: models.User) -> str:
    """A new random token for ``user``, valid for ``[identity] token_ttl`` real seconds."""
    token = secrets.token_urlsafe(32)
    issued = clock.real_time()
    session.add(models.Token(digest=token_digest(token), user_id=user.id, issued_at=issued,
                             expires_at=issued + CONF.identity.token_ttl))
    return token


# -- finding ------------------------------------------------------------------------------
def find_user(session: Session, name: str, domain_name: str) -> models.User | None:
    """The user called ``name`` whose project is in the domain ``domain_name``."""
    query = (select(models.User)
             .join(models.Project, models.User.project_id == models.Project.id)
             .where(models.User.name == name, models.Project.domain_name == domain_name))
    return session.execute(query).scalar_one_or_none()

