"""HTTP clients for tests: requests signed by huaweicloudsdkcore's own signer, or a token."""
from __future__ import annotations

import json as jsonlib
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer


class SignedClient:
    """Sends requests signed exactly as the official SDK signs them (SDK-HMAC-SHA256)."""

    def __init__(self, endpoint: str, ak: str, sk: str, project_id: str) -> None:
        self.endpoint = endpoint.rstrip('/')
        self.project_id = project_id
        self.signer = Signer(BasicCredentials(ak, sk, project_id))
        self.http = requests.Session()

    def signed(self, method: str, path: str, *, params: list[tuple[str, Any]] | None = None,
               body: bytes | None = None,
               content_type: str = 'application/json') -> tuple[str, dict[str, str], bytes | None]:
        """The URL and headers the SDK would send for this request."""
        parts = urlsplit(self.endpoint)
        request = SdkRequest(method=method, schema=parts.scheme, host=parts.netloc,
                             resource_path=path, query_params=list(params or []),
                             header_params={'Content-Type': content_type,
                                            'X-Project-Id': self.project_id},
                             body=body if body is not None else '')
        self.signer.sign(request)
        return '%s://%s%s' % (parts.scheme, parts.netloc, request.uri), dict(request.header_params), body

    def request(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
                params: list[tuple[str, Any]] | dict[str, Any] | None = None,
                content_type: str | None = None) -> requests.Response:
        if isinstance(params, dict):
            params = list(params.items())
        body = jsonlib.dumps(json).encode() if json is not None else data
        ctype = content_type or ('application/octet-stream' if data is not None
                                 else 'application/json')
        url, headers, body = self.signed(method, path, params=params, body=body,
                                         content_type=ctype)
        return self.http.request(method, url, headers=headers, data=body, timeout=30)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request('GET', path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request('POST', path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request('PUT', path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request('DELETE', path, **kw)

    def wait_job(self, job_id: str, timeout: float = 30.0,
                 done: tuple[str, ...] = ('SUCCESS', 'FAIL')) -> dict[str, Any]:
        """Poll the job API until the job reaches one of ``done``; fail at the deadline."""
        return poll(lambda: self.get('/v1/%s/jobs/%s' % (self.project_id, job_id)).json(),
                    lambda job: job.get('status') in done, timeout,
                    'job %s did not finish' % job_id)


def poll(fetch, accept, timeout: float, what: str, interval: float = 0.1):
    """Call ``fetch`` until ``accept`` holds for its result, or raise after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if accept(last):
            return last
        time.sleep(interval)
    raise AssertionError('%s within %.0f s; last seen: %r' % (what, timeout, last))
