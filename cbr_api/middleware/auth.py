"""Authenticates every request and keeps each caller inside its own project.

Public: ``GET /``, ``GET /v3`` (Keystone discovery), ``POST /v3/auth/tokens`` and the
Cinder v3 version discovery below ``/block-storage``.
Everything else needs a valid SDK-HMAC-SHA256 signature or X-Auth-Token.  A path naming
another project's id gets 403; ``/sim/...`` needs the admin role.
"""
from __future__ import annotations

import re

from flask import Flask, g, request

from cbr_api.errors import gateway_error
from cbr_api.vbs_v2 import discovery
from cbr_common import auth
from cbr_common.auth import IncomingRequest
from cbr_common.auth.authenticate import authenticate
from cbr_common.errors import AuthenticationFailed, Forbidden

PUBLIC = frozenset({('GET', '/'), ('GET', '/v3'), ('GET', '/v3/'),
                    ('POST', '/v3/auth/tokens'), *(('GET', path) for path in discovery.PATHS)})
_PROJECT_PATH = re.compile(r'^/(?:sim/|block-storage/)?v\d+(?:\.\d+)?/([^/]+)(?:/|$)')
_NOT_PROJECTS = frozenset({'auth', 'projects', 'users', 'services', 'endpoints', 'regions',
                           'domains', 'clock', 'reset', 'health', 'faults', 'cloudimages',
                           'images'})


def project_in_path(path: str) -> str | None:
    """The project id a path addresses, if it addresses one."""
    match = _PROJECT_PATH.match(path)
    if match is None or match.group(1) in _NOT_PROJECTS:
        return None
    return match.group(1)


def install(app: Flask) -> None:
    @app.before_request
    def _authenticate():
        if (request.method, request.path) in PUBLIC:
            return None
        incoming = IncomingRequest(method=request.method, path=request.path,
                                   query_string=request.query_string.decode('latin-1'),
                                   headers=request.headers,
                                   body=request.get_data(cache=True) if request.content_length
                                   else b'')
        try:
            g.caller = authenticate(incoming)
        except AuthenticationFailed as exc:
            return gateway_error(exc.message)
        is_sim = request.path.startswith('/sim/')
        if is_sim and auth.ADMIN_ROLE not in g.caller.roles:
            raise Forbidden('the /sim API needs the admin role')
        project_id = project_in_path(request.path)
        if project_id is not None and not is_sim and project_id != g.caller.project_id:
            raise Forbidden('project %s in the path is not the caller\'s project' % project_id,
                            field='project_id')
        return None
