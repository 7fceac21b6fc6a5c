"""A minimal Keystone v3: version discovery, password tokens with a catalog, own project.

Enough for keystoneauth1/openstacksdk/otcextensions (``POST /v3/auth/tokens``) and for the
huaweicloudsdk's project lookup (``GET /v3/projects?name=<region>``).  Every catalog URL
points back at this process and already ends in the project id where the service wants it.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cbr_api import errors
from cbr_api.validation import parse_body
from cbr_common import clock, identity
from cbr_common.config import CONF
from cbr_common.db import models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.errors import AuthenticationFailed

blueprint = Blueprint('keystone', __name__)
errors.use_style(blueprint, 'identity')

API_VERSION = 'v3.14'
VERSION_UPDATED = '2020-04-07T00:00:00Z'
MEDIA_TYPE = 'application/vnd.openstack.identity-v3+json'
# (service type, service name, path below the base; {pid} is the project id)
SERVICES = (('cbr', 'cbr', '/v3/{pid}'), ('data-protect', 'csbs', '/v1/{pid}'),
            ('vbs', 'vbs', '/v2/{pid}'), ('evs', 'evs', '/v2/{pid}'),
            ('ecs', 'ecs', '/v1/{pid}'), ('sfs-turbo', 'sfs-turbo', '/v1/{pid}'),
            ('image', 'ims', ''), ('identity', 'keystone', '/v3'),
            ('block-storage', 'cinderv3', '/block-storage/v3/{pid}'))


class IdOrName(BaseModel):
    """A reference to a domain or project by ``id`` or ``name``."""

    model_config = ConfigDict(extra='ignore')
    id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode='after')
    def _one_given(self) -> 'IdOrName':
        if self.id is None and self.name is None:
            raise ValueError('id or name is required')
        return self


class PasswordUser(IdOrName):
    """``auth.identity.password.user``: the user by id, or by name in a domain."""

    password: str = Field(max_length=4096)
    domain: IdOrName | None = None


class PasswordMethod(BaseModel):
    """``auth.identity.password``."""

    model_config = ConfigDict(extra='ignore')
    user: PasswordUser


class IdentityPart(BaseModel):
    """``auth.identity``: only the password method is supported."""

    model_config = ConfigDict(extra='ignore')
    methods: list[str] = Field(min_length=1)
    password: PasswordMethod

    @field_validator('methods')
    @classmethod
    def _password_method(cls, methods: list[str]) -> list[str]:
        if 'password' not in methods:
            raise ValueError('only the "password" method is supported')
        return methods


class ProjectScope(IdOrName):
    """``auth.scope.project``."""

    domain: IdOrName | None = None


class Scope(BaseModel):
    """``auth.scope``: a project scope."""

    model_config = ConfigDict(extra='ignore')
    project: ProjectScope


class AuthPart(BaseModel):
    """``auth``; without a scope the token is scoped to the user's own (default) project."""

    model_config = ConfigDict(extra='ignore')
    identity: IdentityPart
    scope: Scope | None = None


class TokenRequest(BaseModel):
    """The body of ``POST /v3/auth/tokens``."""

    model_config = ConfigDict(extra='ignore')
    auth: AuthPart


def base_url() -> str:
    """The URL clients reach this API at, without a trailing slash."""
    return (CONF.api.public_endpoint or request.host_url).rstrip('/')


def catalog(base: str, project_id: str) -> list[dict[str, Any]]:
    """The service catalog for ``project_id``: every service of cbr-sim at ``base``."""
    return [{'type': kind, 'name': name, 'id': identity.stable_id('service', kind),
             'endpoints': [{'id': identity.stable_id('endpoint', kind, project_id),
                            'interface': 'public', 'region': CONF.region,
                            'region_id': CONF.region,
                            'url': base + path.format(pid=project_id)}]}
            for kind, name, path in SERVICES]


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, clock.UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def _matches(ref: IdOrName | None, ident: str, name: str) -> bool:
    return ref is None or ((ref.id is None or ref.id == ident)
                           and (ref.name is None or ref.name == name))


def _domain(domain_name: str) -> dict[str, str]:
    return {'id': identity.domain_id(domain_name), 'name': domain_name}


def _load_user(spec: PasswordUser) -> models.User | None:
    """The user ``spec`` names (with its project loaded), or None."""
    with read_scope() as session:
        if spec.id is not None:
            user = session.get(models.User, spec.id)
        else:
            domain_name = (spec.domain.name if spec.domain and spec.domain.name
                           else CONF.identity.domain_name)
            user = identity.find_user(session, spec.name or '', domain_name)
        if user is None or not _matches(spec, user.id, user.name):
            return None
        domain = user.project.domain_name
        return user if _matches(spec.domain, identity.domain_id(domain), domain) else None


def _check_scope(scope: Scope | None, project: models.Project) -> None:
    if scope is None:
        return
    wanted = scope.project
    if not (_matches(wanted, project.id, project.name)
            and _matches(wanted.domain, identity.domain_id(project.domain_name),
                         project.domain_name)):
        raise AuthenticationFailed('The user has no access to project %s.'
                                   % (wanted.id or wanted.name))


def _token_body(user: models.User, token: models.Token) -> dict[str, Any]:
    project = user.project
    domain = _domain(project.domain_name)
    return {'token': {
        'methods': ['password'],
        'expires_at': _iso(token.expires_at), 'issued_at': _iso(token.issued_at),
        'user': {'id': user.id, 'name': user.name, 'domain': domain},
        'project': {'id': project.id, 'name': project.name, 'domain': domain},
        'roles': [{'id': identity.stable_id('role', role), 'name': role}
                  for role in user.roles or ()],
        'catalog': catalog(base_url(), project.id)}}


def _version() -> dict[str, Any]:
    return {'version': {'id': API_VERSION, 'status': 'stable', 'updated': VERSION_UPDATED,
                        'links': [{'rel': 'self', 'href': base_url() + '/v3/'}],
                        'media-types': [{'base': 'application/json', 'type': MEDIA_TYPE}]}}


@blueprint.get('/v3')
@blueprint.get('/v3/')
def show_version():
    """Keystone v3 version discovery."""
    return jsonify(_version())


@blueprint.post('/v3/auth/tokens')
def issue_token():
    """Password authentication: 201, the token in X-Subject-Token, the catalog in the body."""
    auth = parse_body(TokenRequest).auth
    spec = auth.identity.password.user
    user = _load_user(spec)
    if user is None or not identity.check_password(user, spec.password):
        raise AuthenticationFailed('The request you have made requires authentication.')
    _check_scope(auth.scope, user.project)
    with session_scope() as session:
        token = identity.issue_token(session, user)
        session.flush()
        row = session.get_one(models.Token, identity.token_digest(token))
    return jsonify(_token_body(user, row)), 201, {'X-Subject-Token': token}


@blueprint.get('/v3/projects')
def list_projects():
    """The caller's own project, if ``name`` is absent, its name or the region's name.

    Huawei IAM names a region's main project after the region, and the huaweicloudsdk looks
    the project id up by region name, so the region name also finds the caller's project.
    """
    name = request.args.get('name')
    with read_scope() as session:
        project = session.get(models.Project, g.caller.project_id)
    projects = []
    if project is not None and name in (None, project.name, CONF.region):
        projects.append({'id': project.id, 'name': project.name,
                         'domain_id': identity.domain_id(project.domain_name),
                         'enabled': True})
    return jsonify({'projects': projects,
                    'links': {'self': base_url() + '/v3/projects', 'previous': None,
                              'next': None}})
