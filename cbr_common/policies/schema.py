"""Request bodies of CBR v3 backup policies (create and update), as pydantic models.

The field names are those of the real API. Unknown fields are ignored. Every failure is a
pydantic ``ValidationError`` whose ``loc`` names the field (``cbr_api.validation.parse``
turns the first into a 400): rules P2 (name), P4 and P5 (trigger patterns, checked by
:mod:`cbr_common.policies.triggers` for CBR) and P6 (retention).
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError,
                      field_validator, model_validator)
from pydantic_core import InitErrorDetails

from cbr_common.naming import Name, rule_error
from cbr_common.policies import triggers

OperationType = Literal['backup', 'replication']

UNLIMITED = -1
LONG_TERM_FIELDS = ('day_backups', 'week_backups', 'month_backups', 'year_backups')
REPLICATION_FIELDS = ('destination_region', 'destination_project_id', 'enable_acceleration',
                      'cross_account_urn')
REQUIRED_FOR_REPLICATION = ('destination_region', 'destination_project_id')

_TIMEZONE = re.compile(r'UTC[+-](0[0-9]|1[0-4]):(00|30|45)')


def field_error(title: str, loc: tuple[str, ...], message: str, value: Any) -> ValidationError:
    """A validation error at ``loc``, relative to the model being validated."""
    return ValidationError.from_exception_data(
        title, [InitErrorDetails(type=rule_error(message), loc=loc, input=value)])


def unlimited_or(low: int, high: int) -> AfterValidator:
    """A check that an integer is -1 (unlimited) or from ``low`` to ``high``."""
    def check(value: int) -> int:
        if value != UNLIMITED and not low <= value <= high:
            raise rule_error('must be -1 (unlimited) or from %d to %d, not %d'
                             % (low, high, value))
        return value
    return AfterValidator(check)


def _check_timezone(value: str) -> str:
    if not _TIMEZONE.fullmatch(value):
        raise rule_error('timezone must look like UTC+08:00 or UTC-03:30 (hours 00 to 14, '
                         'minutes 00, 30 or 45), not %r' % value)
    return value


PolicyName = Name
MaxBackups = Annotated[int, unlimited_or(2, 99999)]
RetentionDays = Annotated[int, unlimited_or(1, 99999)]
KeptBackups = Annotated[int, Field(ge=0, le=100)]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
Destination = Annotated[str, Field(min_length=1)]


class Body(BaseModel):
    """Base of the request models: unknown fields are ignored."""

    model_config = ConfigDict(extra='ignore')


class OperationDefinition(Body):
    """``operation_definition``: how many backups to keep, for how long, and where a
    replication policy copies them (P6)."""

    max_backups: MaxBackups | None = None
    retention_duration_days: RetentionDays | None = None
    day_backups: KeptBackups | None = None
    week_backups: KeptBackups | None = None
    month_backups: KeptBackups | None = None
    year_backups: KeptBackups | None = None
    timezone: TimeZone | None = None
    full_backup_interval: int | None = Field(default=None, ge=-1, le=100)
    destination_region: Destination | None = None
    destination_project_id: Destination | None = None
    enable_acceleration: bool | None = None
    cross_account_urn: str | None = None
    advanced_retention_rules: dict[str, Any] | None = None

    @model_validator(mode='after')
    def _timezone_for_long_term_retention(self) -> OperationDefinition:
        given = [name for name in LONG_TERM_FIELDS if getattr(self, name) is not None]
        if given and self.timezone is None:
            raise field_error(type(self).__name__, ('timezone',),
                               'timezone is required with %s' % ', '.join(given), None)
        return self


def destination_problem(definition: OperationDefinition,
                        operation_type: OperationType) -> tuple[str, str] | None:
    """(field, message) if ``definition`` does not suit ``operation_type``, else None.

    A replication policy names its destination region and project; a backup policy names
    no replication field. The update body has no operation type: its caller checks the
    definition against the stored policy's type with this function.
    """
    if operation_type == 'replication':
        for name in REQUIRED_FOR_REPLICATION:
            if getattr(definition, name) is None:
                return name, '%s is required for a replication policy' % name
        return None
    for name in REPLICATION_FIELDS:
        if getattr(definition, name) is not None:
            return name, '%s is only allowed for a replication policy' % name
    return None


class TriggerProperties(Body):
    """``trigger.properties``: the RRULE patterns (P4, P5) and the start window."""

    pattern: list[str] = Field(min_length=1, max_length=triggers.MAX_PATTERNS)
    start_window_minutes: int | None = Field(default=None, ge=60, le=480)

    @field_validator('pattern')
    @classmethod
    def _valid_patterns(cls, patterns: list[str]) -> list[str]:
        try:
            return triggers.validate_patterns(patterns, 'cbr')
        except ValueError as exc:
            raise rule_error(str(exc)) from exc


class TriggerCreate(Body):
    """``trigger`` of a policy."""

    properties: TriggerProperties


class PolicyCreate(Body):
    """``policy`` of the create request."""

    enabled: bool = True
    name: PolicyName
    operation_definition: OperationDefinition
    operation_type: OperationType
    trigger: TriggerCreate

    @model_validator(mode='after')
    def _destination_suits_type(self) -> PolicyCreate:
        problem = destination_problem(self.operation_definition, self.operation_type)
        if problem:
            field, message = problem
            raise field_error(type(self).__name__, ('operation_definition', field), message,
                               getattr(self.operation_definition, field))
        return self


class PolicyUpdate(Body):
    """``policy`` of the update request: only the fields given change."""

    enabled: bool | None = None
    name: PolicyName | None = None
    operation_definition: OperationDefinition | None = None
    trigger: TriggerCreate | None = None


class PolicyCreateBody(Body):
    """The body of ``POST /v3/{project_id}/policies``."""

    policy: PolicyCreate


class PolicyUpdateBody(Body):
    """The body of ``PUT /v3/{project_id}/policies/{policy_id}``."""

    policy: PolicyUpdate
