"""SDK-HMAC-SHA256 verification against huaweicloudsdkcore's own Signer, and the AK/SK and
token rules of ``authenticate`` with the database lookups replaced (no I/O)."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from urllib.parse import quote, unquote

import pytest
from flask import Flask, g, jsonify
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from cbr_common import clock
from cbr_common.auth import Caller, IncomingRequest, authenticate, signer
from cbr_common.config import CONF
from cbr_common.errors import AuthenticationFailed
from cbr_common.identity import token_digest

AK, SK = 'SIMAK0000000000000000', 'SIMSK000000000000000000000000000000000000'
PID = '0123456789abcdef0123456789abcdef'
HOST = '127.0.0.1:8799'
SDK_DATE = '20261122T023843Z'
SIGNED_AT = 1795315123.0  # SDK_DATE as epoch seconds
CALLER = Caller(user_id='u' * 32, user_name='demo', project_id=PID, project_name='demo',
                roles=frozenset({'member'}), method='aksk')


def sdk_sign(method: str, resource_path: str, query: list[tuple[str, object]] | None = None,
             body: str | bytes | None = None, content_type: str | None = 'application/json',
             secret: str = SK) -> IncomingRequest:
    """Sign with the SDK's Signer and return the request as the server receives it.

    The SDK is imported here, not at collection, because importing it writes to $HOME and
    the shared conftest points $HOME at a scratch folder only once tests run.
    """
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    headers = {'User-Agent': 'huaweicloud-usdk-python/3.0', 'X-Project-Id': PID,
               'X-Sdk-Date': SDK_DATE}
    if content_type is not None:
        headers['Content-Type'] = content_type
    request = SdkRequest(method=method, schema='http', host=HOST, resource_path=resource_path,
                         query_params=query or [], header_params=headers, body=body)
    Signer(BasicCredentials(AK, secret, PID)).sign(request)
    _, _, query_string = request.uri.partition('?')
    raw_body = request.body if isinstance(request.body, bytes) else b''
    return IncomingRequest(method=method, path=unquote(resource_path),
                           query_string=query_string,
                           headers=Headers(list(request.header_params.items())),
                           body=raw_body)


def with_header(req: IncomingRequest, name: str, value: str) -> IncomingRequest:
    headers = Headers(list(req.headers.items()))
    headers[name] = value
    return dataclasses.replace(req, headers=headers)


@pytest.fixture
def get_repeated() -> IncomingRequest:
    return sdk_sign('GET', '/v3/%s/vaults' % PID,
                    [('status', 'available'), ('id', ['b-id', 'a-id']), ('limit', 10)])


@pytest.fixture
def post_json() -> IncomingRequest:
    body = json.dumps({'vault': {'name': 'vault-1', 'billing': {'size': 100}}})
    return sdk_sign('POST', '/v3/%s/vaults' % PID, body=body)


# -- the SDK's own signatures verify ------------------------------------------------------
def test_get_with_repeated_query_keys_verifies(get_repeated: IncomingRequest) -> None:
    assert get_repeated.query_string == 'id=a-id&id=b-id&limit=10&status=available'
    assert signer.verify(get_repeated, SK)


def test_post_with_json_body_verifies(post_json: IncomingRequest) -> None:
    assert post_json.body.startswith(b'{"vault"')
    assert signer.verify(post_json, SK)


def test_unsubstituted_project_id_path_verifies() -> None:
    req = sdk_sign('GET', '/v3/{project_id}/vaults')
    assert req.path == '/v3/{project_id}/vaults'
    assert signer.canonical_uri(req.path) == '/v3/%7Bproject_id%7D/vaults/'
    assert signer.verify(req, SK)


def test_delete_without_body_and_iam_lookup_verify() -> None:
    assert signer.verify(sdk_sign('DELETE', '/v3/%s/vaults/v-1' % PID), SK)
    assert signer.verify(sdk_sign('GET', '/v3/projects', [('name', 'sim-region-1')],
                                  content_type=None), SK)


def test_unsigned_payload_verifies_and_a_false_declared_hash_is_refused() -> None:
    req = sdk_sign('PUT', '/sim/v1/disks/d-1/data', body=b'\x00\x01raw',
                   content_type='application/octet-stream')
    assert req.headers['X-Sdk-Content-Sha256'] == signer.UNSIGNED_PAYLOAD
    assert signer.verify(req, SK)
    assert not signer.verify(with_header(req, 'X-Sdk-Content-Sha256', 'ab' * 32), SK)


def test_headers_are_found_in_a_plain_dict_of_any_case(post_json: IncomingRequest) -> None:
    lowered = {name.lower(): value for name, value in post_json.headers.items()}
    assert signer.header(lowered, 'X-Sdk-Date') == SDK_DATE
    assert signer.verify(dataclasses.replace(post_json, headers=lowered), SK)


@settings(max_examples=60, deadline=None)
@given(segment=st.text(min_size=1, max_size=12),
       pairs=st.lists(st.tuples(st.text(min_size=1, max_size=6), st.text(max_size=8)),
                      max_size=4))
def test_any_path_segment_and_query_verify(segment: str, pairs: list[tuple[str, str]]) -> None:
    req = sdk_sign('GET', '/v3/%s/vaults/%s' % (PID, quote(segment, safe='')), list(pairs))
    assert signer.verify(req, SK)


# -- tampering is refused -------------------------------------------------------------------
def test_tampered_body_is_refused(post_json: IncomingRequest) -> None:
    assert not signer.verify(dataclasses.replace(post_json, body=post_json.body + b' '), SK)


def test_tampered_path_is_refused(get_repeated: IncomingRequest) -> None:
    other = dataclasses.replace(get_repeated, path='/v3/%s/vaults' % ('f' * 32))
    assert not signer.verify(other, SK)


def test_tampered_query_value_is_refused(get_repeated: IncomingRequest) -> None:
    other = dataclasses.replace(get_repeated, query_string=get_repeated.query_string
                                .replace('limit=10', 'limit=11'))
    assert not signer.verify(other, SK)


def test_tampered_date_is_refused(get_repeated: IncomingRequest) -> None:
    assert not signer.verify(with_header(get_repeated, 'X-Sdk-Date', '20261122T023844Z'), SK)


def test_wrong_secret_is_refused(get_repeated: IncomingRequest) -> None:
    assert not signer.verify(get_repeated, SK + 'x')
    assert not signer.verify(sdk_sign('GET', '/v3/%s/vaults' % PID, secret='other'), SK)


def test_tampered_signed_header_is_refused(get_repeated: IncomingRequest) -> None:
    assert not signer.verify(with_header(get_repeated, 'X-Project-Id', 'f' * 32), SK)


@pytest.mark.parametrize('authorization', [
    'SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;x-sdk-date, Signature=' + 'a' * 64,
    'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;user-agent, Signature=' + 'a' * 64,
    'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=short',
    'SDK-HMAC-SHA256 Access=AK',
    'Bearer abc',
])
def test_malformed_authorization_is_refused(authorization: str) -> None:
    with pytest.raises(signer.SignatureError):
        signer.parse_authorization(authorization)


def test_a_signed_header_missing_from_the_request_is_refused(
        get_repeated: IncomingRequest) -> None:
    headers = Headers([(k, v) for k, v in get_repeated.headers.items() if k != 'X-Project-Id'])
    assert not signer.verify(dataclasses.replace(get_repeated, headers=headers), SK)


# -- date skew --------------------------------------------------------------------------------
def test_date_within_the_skew_is_accepted() -> None:
    authenticate.check_sdk_date(SDK_DATE, now=SIGNED_AT + 900, max_skew=900)
    authenticate.check_sdk_date(SDK_DATE, now=SIGNED_AT - 900, max_skew=900)


@pytest.mark.parametrize('value, now', [
    (SDK_DATE, SIGNED_AT + 901), (SDK_DATE, SIGNED_AT - 901), (None, SIGNED_AT),
    ('', SIGNED_AT), ('2026-11-22T02:38:43Z', SIGNED_AT), ('20261122T023843', SIGNED_AT),
])
def test_stale_missing_or_malformed_date_is_refused(value: str | None, now: float) -> None:
    with pytest.raises(AuthenticationFailed):
        authenticate.check_sdk_date(value, now=now, max_skew=900)


# -- authenticate() with the database lookups replaced ---------------------------------------
@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Replace the database lookups by one credential and one token; record each lookup."""
    calls: list[str] = []
    tokens = {token_digest('good-token'): SIGNED_AT + 3600,
              token_digest('old-token'): SIGNED_AT - 1}

    def load_credential(access_key: str) -> authenticate.CredentialRecord | None:
        calls.append('ak:' + access_key)
        return authenticate.CredentialRecord(SK, CALLER) if access_key == AK else None

    def load_token(digest: str) -> authenticate.TokenRecord | None:
        calls.append('token')
        expires = tokens.get(digest)
        return None if expires is None else authenticate.TokenRecord(
            expires, dataclasses.replace(CALLER, method='token'))

    monkeypatch.setattr(authenticate, 'load_credential', load_credential)
    monkeypatch.setattr(authenticate, 'load_token', load_token)
    monkeypatch.setattr(clock, 'real_time', lambda: SIGNED_AT + 10)
    authenticate.clear_cache()
    yield calls
    authenticate.clear_cache()


def test_signed_request_authenticates_and_the_credential_is_cached(
        lookups: list[str], get_repeated: IncomingRequest) -> None:
    for _ in range(3):
        assert authenticate.authenticate(get_repeated) == CALLER
    assert lookups == ['ak:' + AK]


def test_no_credential_is_cached_when_the_cache_is_off(
        lookups: list[str], get_repeated: IncomingRequest) -> None:
    CONF.set_override('credential_cache_seconds', 0, group='identity')
    try:
        authenticate.authenticate(get_repeated)
        authenticate.authenticate(get_repeated)
    finally:
        CONF.clear_override('credential_cache_seconds', group='identity')
    assert lookups == ['ak:' + AK, 'ak:' + AK]


def test_bad_signature_unknown_key_and_stale_date_are_refused(
        lookups: list[str], monkeypatch: pytest.MonkeyPatch,
        get_repeated: IncomingRequest) -> None:
    tampered = dataclasses.replace(get_repeated, query_string='limit=10')
    with pytest.raises(AuthenticationFailed, match='verify aksk signature fail'):
        authenticate.authenticate(tampered)
    unknown = with_header(get_repeated, 'Authorization', get_repeated.headers['Authorization']
                          .replace('Access=' + AK, 'Access=NOSUCHAK'))
    with pytest.raises(AuthenticationFailed, match='NOSUCHAK'):
        authenticate.authenticate(unknown)
    monkeypatch.setattr(clock, 'real_time', lambda: SIGNED_AT + 3600)
    with pytest.raises(AuthenticationFailed, match='X-Sdk-Date'):
        authenticate.authenticate(get_repeated)


def test_token_authenticates_cached_and_expired_or_unknown_refused(lookups: list[str]) -> None:
    def with_token(token: str) -> IncomingRequest:
        return IncomingRequest('GET', '/v3/%s/vaults' % PID, '',
                               Headers({'X-Auth-Token': token}), b'')

    for _ in range(2):
        assert authenticate.authenticate(with_token('good-token')).method == 'token'
    assert lookups == ['token']
    for token in ('old-token', 'no-such-token'):
        with pytest.raises(AuthenticationFailed):
            authenticate.authenticate(with_token(token))


def test_no_credentials_are_refused(lookups: list[str]) -> None:
    for headers in ({}, {'Authorization': 'Basic Zm9vOmJhcg=='}):
        with pytest.raises(AuthenticationFailed):
            authenticate.authenticate(IncomingRequest('GET', '/v3', '', Headers(headers), b''))


def test_cache_entries_expire() -> None:
    now = [100.0]
    cache: authenticate.TTLCache[str] = authenticate.TTLCache(max_entries=2,
                                                              now=lambda: now[0])
    cache.put('a', 'A', 5)
    cache.put('b', 'B', 10)
    cache.put('c', 'C', 10)
    assert cache.get('c') == 'C'
    now[0] = 106.0
    assert cache.get('a') is None


# -- through Flask: the decoded path and werkzeug's headers -----------------------------------
def test_middleware_accepts_a_signed_request_with_an_encoded_path(lookups: list[str]) -> None:
    from cbr_api.middleware import auth as auth_middleware

    app = Flask('signer-test')
    auth_middleware.install(app)

    @app.get('/v3/<project_id>/vaults/<path:name>')
    def _vault(project_id: str, name: str):
        return jsonify({'project': g.caller.project_id, 'name': name})

    name = 'a b/\u00fc%41'
    wire_path = '/v3/%s/vaults/%s' % (PID, quote(name, safe=''))
    req = sdk_sign('GET', wire_path, [('id', ['y', 'x'])])
    url = '%s?%s' % (wire_path, req.query_string)
    client = app.test_client()
    response = client.get(url, headers=list(req.headers.items()))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {'project': PID, 'name': name}
    tampered = client.get(url.replace('id=x', 'id=z'), headers=list(req.headers.items()))
    assert tampered.status_code == 401
