"""SDK-HMAC-SHA256 request signatures, computed exactly as huaweicloudsdkcore's ``Signer``.

Pure functions, no I/O.  The request is seen as the server receives it: ``path`` is the
*decoded* path (werkzeug's ``request.path``), which equals the SDK's ``unquote(resource_path)``;
``query_string`` is the raw query; ``headers`` may be any mapping, looked up
case-insensitively; header values and the query arrive as latin-1 text (WSGI) and are turned
back into the UTF-8 text the SDK signed.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from cbr_common.auth import IncomingRequest

ALGORITHM = 'SDK-HMAC-SHA256'
DATE_FORMAT = '%Y%m%dT%H%M%SZ'
EMPTY_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
CONTENT_HASH_HEADER = 'x-sdk-content-sha256'
REQUIRED_SIGNED_HEADERS = frozenset({'host', 'x-sdk-date'})

_AUTHORIZATION = re.compile(r'^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),'
                            r'\s*Signature=([0-9a-f]{64})\s*$')


class SignatureError(ValueError):
    """A malformed Authorization header, X-Sdk-Date or signed-header set."""


@dataclass(frozen=True)
class SignedAuthorization:
    """The three parts of an ``Authorization: SDK-HMAC-SHA256 ...`` header."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> SignedAuthorization:
    """Split an Authorization header; signed headers must include host and x-sdk-date."""
    match = _AUTHORIZATION.match(value.strip())
    if match is None:
        raise SignatureError('Authorization is not "SDK-HMAC-SHA256 Access=..., '
                             'SignedHeaders=..., Signature=<64 hex>"')
    signed = tuple(match.group(2).split(';'))
    missing = REQUIRED_SIGNED_HEADERS.difference(name.lower() for name in signed)
    if missing:
        raise SignatureError('SignedHeaders must include %s' % ' and '.join(sorted(missing)))
    return SignedAuthorization(match.group(1), signed, match.group(3))


def parse_sdk_date(value: str | None) -> dt.datetime:
    """An X-Sdk-Date (``%Y%m%dT%H%M%SZ``) as a naive UTC datetime."""
    if not value:
        raise SignatureError('X-Sdk-Date is missing')
    try:
        return dt.datetime.strptime(value.strip(), DATE_FORMAT)
    except ValueError as exc:
        raise SignatureError('X-Sdk-Date %r is not in the format yyyymmddThhmmssZ'
                             % value) from exc


def epoch_seconds(sdk_date: dt.datetime) -> float:
    """Seconds since the epoch of a naive UTC datetime from :func:`parse_sdk_date`."""
    return float(calendar.timegm(sdk_date.utctimetuple()))


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers keyed by lower-cased name; the first of repeated headers wins."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), value)
    return lowered


def header(headers: Mapping[str, str], name: str) -> str | None:
    """One header, looked up case-insensitively in any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    return lower_headers(headers).get(name.lower())


def _wire_text(value: str) -> str:
    """Latin-1 text from the wire back to the UTF-8 text the client signed."""
    if value.isascii():
        return value
    try:
        return value.encode('latin-1').decode('utf-8')
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _encode(text: str) -> str:
    return quote(text, safe='~')


def canonical_uri(path: str) -> str:
    """Each segment of the decoded path percent-encoded, with a trailing slash."""
    uri = '/'.join(_encode(segment) for segment in path.split('/'))
    return uri if uri.endswith('/') else uri + '/'


def canonical_query_string(query_string: str) -> str:
    """The query's (key, value) pairs decoded, sorted and re-encoded, joined by ``&``."""
    pairs = parse_qsl(_wire_text(query_string), keep_blank_values=True)
    return '&'.join('%s=%s' % (_encode(key), _encode(value)) for key, value in sorted(pairs))


def canonical_headers(signed_headers: Iterable[str], headers: Mapping[str, str]) -> str:
    """``name:value`` lines of the signed headers; ``headers`` keyed by lower-case name."""
    lines = []
    for name in signed_headers:
        value = headers.get(name.lower())
        if value is None:
            raise SignatureError('signed header %s is not in the request' % name)
        lines.append('%s:%s\n' % (name, _wire_text(value).strip()))
    return ''.join(lines)


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    """Hex SHA-256 of the body, or the declared X-Sdk-Content-Sha256 (UNSIGNED-PAYLOAD).

    A declared hash other than UNSIGNED-PAYLOAD must match the body it describes.
    """
    if not body:
        return EMPTY_HASH
    declared = headers.get(CONTENT_HASH_HEADER)
    if declared is None:
        return hashlib.sha256(body).hexdigest()
    declared = declared.strip()
    if declared != UNSIGNED_PAYLOAD and declared != hashlib.sha256(body).hexdigest():
        raise SignatureError('X-Sdk-Content-Sha256 does not match the body')
    return declared


def canonical_request(request: IncomingRequest, signed_headers: tuple[str, ...]) -> str:
    """The SDK's CanonicalRequest of ``request`` for the given signed headers."""
    headers = lower_headers(request.headers)
    return '\n'.join((request.method.upper(), canonical_uri(request.path),
                      canonical_query_string(request.query_string),
                      canonical_headers(signed_headers, headers), ';'.join(signed_headers),
                      payload_hash(request.body, headers)))


def string_to_sign(canonical: str, sdk_date: dt.datetime) -> str:
    """``SDK-HMAC-SHA256\\n<date>\\n<hex sha256 of the canonical request>``."""
    digest = hashlib.sha256(canonical.encode('utf-8')).hexdigest()
    return '%s\n%s\n%s' % (ALGORITHM, sdk_date.strftime(DATE_FORMAT), digest)


def signature(secret_key: str, to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign, keyed with the secret key."""
    return hmac.new(secret_key.encode('utf-8'), to_sign.encode('utf-8'),
                    hashlib.sha256).hexdigest()


def expected_signature(request: IncomingRequest, authorization: SignedAuthorization,
                       secret_key: str) -> str:
    """The signature ``request`` should carry; SignatureError if it cannot be computed."""
    sdk_date = parse_sdk_date(header(request.headers, 'X-Sdk-Date'))
    canonical = canonical_request(request, authorization.signed_headers)
    return signature(secret_key, string_to_sign(canonical, sdk_date))


def verify(request: IncomingRequest, secret_key: str,
           authorization: SignedAuthorization | None = None) -> bool:
    """Whether ``request`` is signed with ``secret_key`` (date freshness is not checked).

    ``authorization`` is parsed from the request's Authorization header when not given.
    """
    try:
        if authorization is None:
            authorization = parse_authorization(header(request.headers, 'Authorization') or '')
        expected = expected_signature(request, authorization, secret_key)
    except SignatureError:
        return False
    return hmac.compare_digest(expected, authorization.signature)
