"""Error bodies in each API family's own shape, and the handlers that produce them.

Every error response is JSON and carries ``X-Request-Id``; no traceback ever leaves the
process.  A blueprint picks its family's style with :func:`use_style`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from cbr_common.csbs.codes import KIND_CODES as _CSBS_CODES
from cbr_common.errors import DomainError
from cbr_common.vbs import codes as vbs_codes
from cbr_common.vbs.policy_codes import KIND_CODES as _VBS_POLICY_CODES

LOG = logging.getLogger(__name__)

Body = dict[str, Any]
Style = Callable[[str, str, int, 'str | None'], Body]   # (kind, message, status, code)

# Codes per family and error kind; see docs/errors.md.
_EVS_CODES = {'invalid': 'EVS.2001', 'not_found': 'EVS.2007', 'conflict': 'EVS.2011',
              'quota': 'EVS.2003', 'forbidden': 'EVS.0003', 'internal': 'EVS.0001',
              'unauthenticated': 'EVS.0001', 'bad_request': 'EVS.2001'}
_ECS_CODES = {'invalid': 'Ecs.0005', 'not_found': 'Ecs.0114', 'conflict': 'Ecs.0015',
              'quota': 'Ecs.0013', 'forbidden': 'Ecs.0009', 'internal': 'Ecs.0000',
              'unauthenticated': 'Ecs.0009', 'bad_request': 'Ecs.0005'}
_SFS_CODES = {'invalid': 'SFS.TURBO.0001', 'not_found': 'SFS.TURBO.0002',
              'conflict': 'SFS.TURBO.0003', 'quota': 'SFS.TURBO.0004',
              'forbidden': 'SFS.TURBO.0005', 'internal': 'SFS.TURBO.0500',
              'unauthenticated': 'SFS.TURBO.0005', 'bad_request': 'SFS.TURBO.0001'}
_IMS_CODES = {'invalid': 'IMG.0001', 'not_found': 'IMG.0027', 'conflict': 'IMG.0030',
              'quota': 'IMG.0034', 'forbidden': 'IMG.0003', 'internal': 'IMG.0500',
              'unauthenticated': 'IMG.0003', 'bad_request': 'IMG.0001'}
_CBR_CODES = {'invalid': 'BackupService.0100', 'not_found': 'BackupService.0404',
              'conflict': 'BackupService.0409', 'quota': 'BackupService.0413',
              'forbidden': 'BackupService.0403', 'internal': 'BackupService.0001',
              'unauthenticated': 'BackupService.0401', 'bad_request': 'BackupService.0100'}
_VBS_CODES = {'invalid': vbs_codes.BAD_REQUEST, 'not_found': vbs_codes.RESTORE_NOT_FOUND,
              'conflict': vbs_codes.BACKUP_STATE, 'quota': vbs_codes.QUOTA,
              'forbidden': vbs_codes.FORBIDDEN, 'internal': vbs_codes.INTERNAL,
              'unauthenticated': vbs_codes.FORBIDDEN, 'bad_request': vbs_codes.BAD_REQUEST}
_SIM_CODES = {'invalid': 'SIM.0400', 'not_found': 'SIM.0404', 'conflict': 'SIM.0409',
              'quota': 'SIM.0413', 'forbidden': 'SIM.0403', 'internal': 'SIM.0500',
              'unauthenticated': 'SIM.0401', 'bad_request': 'SIM.0400'}


def _code(codes: dict[str, str], kind: str, code: str | None) -> str:
    """The domain's own code when it is of this family's code space, else the kind's."""
    prefix = codes['internal'].split('.', 1)[0] + '.'
    if code is not None and code.startswith(prefix):
        return code
    return codes.get(kind, codes['internal'])


def nested_style(codes: dict[str, str]) -> Style:
    """EVS/ECS job-API style: ``{"error": {"message", "code"}}``."""
    def render(kind: str, message: str, status: int, code: str | None) -> Body:
        return {'error': {'message': message, 'code': _code(codes, kind, code)}}
    return render


def flat_style(codes: dict[str, str]) -> Style:
    """CBR/CSBS/SFS Turbo/simulator style: ``{"error_code", "error_msg"}``."""
    def render(kind: str, message: str, status: int, code: str | None) -> Body:
        return {'error_code': _code(codes, kind, code), 'error_msg': message}
    return render


_CINDER_FAULTS = {400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound',
                  405: 'badMethod', 409: 'conflictingRequest', 413: 'overLimit'}


def cinder_style(kind: str, message: str, status: int, code: str | None) -> Body:
    """Cinder style (VBS's Cinder-native backup API): ``{"badRequest": {"code", "message"}}``,
    the key naming the fault of the HTTP status."""
    return {_CINDER_FAULTS.get(status, 'computeFault'): {'code': status, 'message': message}}


def keystone_style(kind: str, message: str, status: int, code: str | None) -> Body:
    titles = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found'}
    return {'error': {'code': status, 'message': message,
                      'title': titles.get(status, 'Error')}}


STYLES: dict[str, Style] = {
    'evs': nested_style(_EVS_CODES),
    'ecs': nested_style(_ECS_CODES),
    'jobs': nested_style(_ECS_CODES),
    'ims': nested_style(_IMS_CODES),
    'sfs': flat_style(_SFS_CODES),
    'cbr': flat_style(_CBR_CODES),
    'csbs': flat_style(_CSBS_CODES),
    'vbs': nested_style(_VBS_CODES),
    'vbs_policies': nested_style(_VBS_POLICY_CODES),
    'cinder': cinder_style,
    'sim': flat_style(_SIM_CODES),
    'identity': keystone_style,
}
_DEFAULT_STYLE = flat_style(_SIM_CODES)
_BLUEPRINT_STYLE: dict[str, str] = {}


def use_style(blueprint: Blueprint, style: str) -> None:
    """Make errors raised inside ``blueprint`` use the named family style."""
    _BLUEPRINT_STYLE[blueprint.name] = style


def gateway_error(message: str) -> tuple[Body, int]:
    """What Huawei's API gateway answers (401) to a missing or bad signature or token."""
    return {'error_code': 'APIGW.0301', 'error_msg': message,
            'request_id': g.get('request_id', '')}, 401


def error_response(kind: str, message: str, status: int, code: str | None = None):
    style = STYLES.get(_BLUEPRINT_STYLE.get(request.blueprint or '', ''), _DEFAULT_STYLE)
    response = jsonify(style(kind, message, status, code))
    response.status_code = status
    return response


def describe(error: DomainError) -> str:
    if error.field and error.field not in error.message:
        return '%s (field: %s)' % (error.message, error.field)
    return error.message


def install(app: Flask) -> None:
    """Register the JSON error handlers on ``app``."""

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return error_response(error.kind, describe(error), error.status, error.code)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        kind = {404: 'not_found', 405: 'invalid', 413: 'quota'}.get(error.code or 500,
                                                                    'bad_request')
        return error_response(kind, error.description or error.name, error.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        LOG.exception('unhandled error in %s %s', request.method, request.path)
        return error_response('internal', 'internal error; request id %s' %
                              g.get('request_id', ''), 500)
