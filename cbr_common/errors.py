"""Domain errors: one class per kind of failure, each knowing its HTTP status.

The API layer renders them in each API family's own error shape and code space; the
domain says what went wrong, about which field, and how bad it is, and may name a code
of the family whose rule it enforces (``BackupService.NNNN``, see docs/errors.md), which
that family shows instead of its generic code for the kind.
"""
from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller can be told about."""

    status = 400
    kind = 'bad_request'

    def __init__(self, message: str, *, field: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class InvalidInput(DomainError):
    """A request field is missing, of the wrong type or out of range."""

    status = 400
    kind = 'invalid'


class AuthenticationFailed(DomainError):
    """No valid signature or token."""

    status = 401
    kind = 'unauthenticated'


class Forbidden(DomainError):
    """Authenticated, but not allowed: another project's path, or an admin-only call."""

    status = 403
    kind = 'forbidden'


class NotFound(DomainError):
    """No such resource in the caller's project (also for another project's resources)."""

    status = 404
    kind = 'not_found'


class WrongState(DomainError):
    """The resource's status does not allow the operation."""

    status = 409
    kind = 'conflict'


class QuotaExceeded(DomainError):
    """A quota or a size limit would be breached."""

    status = 413
    kind = 'quota'


class JobFailed(Exception):
    """Raised inside a job to fail it with a code and a reason the job API shows."""

    def __init__(self, reason: str, code: str = 'SIM.0001') -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
