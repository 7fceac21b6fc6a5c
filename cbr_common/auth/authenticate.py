"""Who is calling: an SDK-HMAC-SHA256 signature (AK/SK) or an X-Auth-Token.

:func:`authenticate` is what the API middleware calls.  AK/SK and token lookups are cached
in-process for ``[identity] credential_cache_seconds`` (monotonic time), so a busy API
process does not query the database on every request; a deleted credential therefore
keeps working in a process for at most that long.  Signature skew and token expiry use
real (wall-clock) time, never the simulated domain clock.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from cbr_common import clock
from cbr_common.auth import Caller, IncomingRequest, signer
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.db.engine import read_scope
from cbr_common.errors import AuthenticationFailed
from cbr_common.identity import token_digest

SIGNATURE_FAILED = 'Incorrect IAM authentication information: verify aksk signature fail'
_PREFIX = 'Incorrect IAM authentication information: '

V = TypeVar('V')


class TTLCache(Generic[V]):
    """A small thread-safe map whose entries expire after a number of monotonic seconds."""

    def __init__(self, max_entries: int = 10000,
                 now: Callable[[], float] = clock.monotonic) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, V]] = {}
        self._max_entries = max_entries
        self._now = now

    def get(self, key: str) -> V | None:
        """The live value under ``key``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._now():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: str, value: V, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds; nothing is kept when ``ttl`` is not positive."""
        if ttl <= 0:
            return
        with self._lock:
            now = self._now()
            if len(self._entries) >= self._max_entries:
                self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
            self._entries[key] = (now + ttl, value)

    def fetch(self, key: str, load: Callable[[str], V | None], ttl: float) -> V | None:
        """The live value under ``key``, else ``load(key)``, kept when it is not None."""
        value = self.get(key)
        if value is None:
            value = load(key)
            if value is not None:
                self.put(key, value, ttl)
        return value

    def discard(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class CredentialRecord:
    """An AK/SK pair's secret and the caller it acts as."""

    secret_key: str
    caller: Caller


@dataclass(frozen=True)
class TokenRecord:
    """An issued token's expiry (real epoch seconds) and the caller it acts as."""

    expires_at: float
    caller: Caller


_CREDENTIALS: TTLCache[CredentialRecord] = TTLCache()
_TOKENS: TTLCache[TokenRecord] = TTLCache()


def clear_cache() -> None:
    """Forget every cached credential and token (after a reset or a deletion)."""
    _CREDENTIALS.clear()
    _TOKENS.clear()


# -- database lookups -----------------------------------------------------------------------
def _caller(user: models.User, method: str) -> Caller:
    return Caller(user_id=user.id, user_name=user.name, project_id=user.project.id,
                  project_name=user.project.name, roles=frozenset(user.roles or ()),
                  method=method)


def load_credential(access_key: str) -> CredentialRecord | None:
    """The credential with ``access_key`` from the database, or None."""
    query = (select(models.Credential)
             .options(joinedload(models.Credential.user).joinedload(models.User.project))
             .where(models.Credential.access_key == access_key))
    with read_scope() as session:
        row = session.execute(query).scalar_one_or_none()
        return None if row is None else CredentialRecord(row.secret_key, _caller(row.user, 'aksk'))


def load_token(digest: str) -> TokenRecord | None:
    """The token stored under ``digest`` from the database, or None."""
    query = (select(models.Token)
             .options(joinedload(models.Token.user).joinedload(models.User.project))
             .where(models.Token.digest == digest))
    with read_scope() as session:
        row = session.execute(query).scalar_one_or_none()
        return None if row is None else TokenRecord(row.expires_at, _caller(row.user, 'token'))


def _cached_credential(access_key: str) -> CredentialRecord | None:
    return _CREDENTIALS.fetch(access_key, load_credential, CONF.identity.credential_cache_seconds)


def _cached_token(digest: str) -> TokenRecord | None:
    return _TOKENS.fetch(digest, load_token, CONF.identity.credential_cache_seconds)


# -- the rules --------------------------------------------------------------------------------
def check_sdk_date(value: str | None, now: float, max_skew: float) -> None:
    """Refuse an X-Sdk-Date that is missing, malformed or more than ``max_skew`` seconds
    away from ``now`` (real epoch seconds)."""
    try:
        signed_at = signer.epoch_seconds(signer.parse_sdk_date(value))
    except signer.SignatureError as exc:
        raise AuthenticationFailed(_PREFIX + str(exc), field='X-Sdk-Date') from exc
    if abs(now - signed_at) > max_skew:
        raise AuthenticationFailed(_PREFIX + 'X-Sdk-Date %s is more than %d seconds from the '
                                   'server time' % (value, max_skew), field='X-Sdk-Date')


def check_signature(req: IncomingRequest, authorization: signer.SignedAuthorization,
                    secret_key: str, now: float, max_skew: float) -> None:
    """Refuse a stale X-Sdk-Date or a signature that ``secret_key`` did not make."""
    check_sdk_date(signer.header(req.headers, 'X-Sdk-Date'), now, max_skew)
    if not signer.verify(req, secret_key, authorization):
        raise AuthenticationFailed(SIGNATURE_FAILED)


def _by_signature(req: IncomingRequest, value: str) -> Caller:
    try:
        authorization = signer.parse_authorization(value)
    except signer.SignatureError as exc:
        raise AuthenticationFailed(_PREFIX + str(exc), field='Authorization') from exc
    record = _cached_credential(authorization.access_key)
    if record is None:
        raise AuthenticationFailed(_PREFIX + 'access key %s does not exist'
                                   % authorization.access_key, field='Authorization')
    check_signature(req, authorization, record.secret_key, clock.real_time(),
                    CONF.identity.signature_max_skew)
    return record.caller


def _by_token(token: str) -> Caller:
    digest = token_digest(token)
    record = _cached_token(digest)
    if record is None:
        raise AuthenticationFailed('The token is invalid or unknown.', field='X-Auth-Token')
    if record.expires_at < clock.real_time():
        _TOKENS.discard(digest)
        raise AuthenticationFailed('The token has expired.', field='X-Auth-Token')
    return record.caller


def authenticate(req: IncomingRequest) -> Caller:
    """The caller of ``req``, or AuthenticationFailed (HTTP 401)."""
    authorization = signer.header(req.headers, 'Authorization')
    if authorization and authorization.startswith(signer.ALGORITHM):
        return _by_signature(req, authorization)
    token = signer.header(req.headers, 'X-Auth-Token')
    if token:
        return _by_token(token)
    if authorization:
        raise AuthenticationFailed(_PREFIX + 'only %s signatures are supported'
                                   % signer.ALGORITHM, field='Authorization')
    raise AuthenticationFailed('no credentials: sign the request with AK/SK '
                               '(SDK-HMAC-SHA256) or send X-Auth-Token')
