"""Request bodies of CSBS v1 backup policies (create, update, execute), as pydantic models.

Field names are the real API's.  A CSBS policy has exactly one scheduled operation, whose
trigger is an iCalendar text (a VCALENDAR holding a VEVENT with RRULE lines), parsed with
``icalendar`` and checked by :mod:`cbr_common.policies.triggers` with the CSBS limits
(rule P4: any minute, at most 24 times a day, at least an hour apart).  Retention
(rule P6, CSBS): a number of backups (1–99999) or a number of days (1–99999), -1 meaning
no limit, or ``permanent``; long-term day/week/month/year counts need a timezone.
At most 64 servers (rule C1) and 10 tags per policy.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from icalendar import Calendar
from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from cbr_common.backups import SERVER
from cbr_common.csbs import PROVIDER_ID
from cbr_common.csbs.fields import Description, Name
from cbr_common.naming import Tag, rule_error, unique_keys
from cbr_common.policies import schema, triggers

MAX_SERVERS = 64  # rule C1
MAX_TAGS = 10
MAX_PATTERN_CHARS = 10240


def _the_provider(value: str) -> str:
    if value != PROVIDER_ID:
        raise rule_error('provider_id must be %s' % PROVIDER_ID)
    return value


def rrules_of(text: str) -> list[str]:
    """The RRULE lines of an iCalendar trigger text, or ValueError saying what is wrong."""
    try:
        calendar = Calendar.from_ical(text)
    except ValueError as exc:
        raise ValueError('pattern is not an iCalendar text: %s' % exc) from exc
    rules: list[str] = []
    for event in calendar.walk('VEVENT'):
        found = event.get('RRULE')
        for rule in found if isinstance(found, list) else [found] if found else []:
            rules.append(rule.to_ical().decode())
    if not rules:
        raise ValueError('pattern needs a VEVENT with an RRULE')
    return rules


Count = Annotated[int, schema.unlimited_or(1, 99999)]


class OperationDefinition(schema.OperationDefinition):
    """``operation_definition``: the CSBS retention settings."""

    max_backups: Count | None = None
    retention_duration_days: Count | None = None
    permanent: bool = False

    def core(self) -> dict[str, Any]:
        """The retention rule as the core reads it (:mod:`cbr_common.policies.retention`):
        ``permanent`` keeps every backup whatever the two counts say."""
        if self.permanent:
            return {'max_backups': schema.UNLIMITED,
                    'retention_duration_days': schema.UNLIMITED, 'permanent': True}
        return self.model_dump(exclude_none=True, include={
            'max_backups', 'retention_duration_days', 'timezone', *schema.LONG_TERM_FIELDS})


class TriggerProperties(schema.Body):
    """``trigger.properties``: the iCalendar text, and the checked RRULEs it holds."""

    pattern: str = Field(min_length=1, max_length=MAX_PATTERN_CHARS)
    _rules: list[str] = PrivateAttr(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return list(self._rules)

    @model_validator(mode='after')
    def _checked_rules(self) -> TriggerProperties:
        try:
            self._rules = triggers.validate_patterns(rrules_of(self.pattern), 'csbs')
        except ValueError as exc:
            raise schema.field_error(type(self).__name__, ('pattern',), str(exc),
                                     self.pattern) from exc
        return self


class Trigger(schema.Body):
    """``trigger`` of the scheduled operation."""

    properties: TriggerProperties


class ScheduledOperation(schema.Body):
    """The one element of ``scheduled_operations`` on create."""

    name: Annotated[str, Field(max_length=255)] = ''
    description: Description = ''
    enabled: bool = True
    operation_type: Literal['backup'] = 'backup'
    operation_definition: OperationDefinition
    trigger: Trigger


class ScheduledOperationUpdate(schema.Body):
    """The one element of ``scheduled_operations`` on update: ``id`` names it."""

    id: str = Field(min_length=1, max_length=64)
    name: Annotated[str, Field(max_length=255)] | None = None
    description: Description | None = None
    enabled: bool | None = None
    operation_definition: OperationDefinition | None = None
    trigger: Trigger | None = None


class Resource(schema.Body):
    """A server of ``resources``."""

    id: str = Field(min_length=1, max_length=64)
    type: Literal['OS::Nova::Server'] = SERVER
    name: Annotated[str, Field(max_length=255)] = ''
    extra_info: dict[str, Any] | None = None


Resources = Annotated[list[Resource], Field(max_length=MAX_SERVERS)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(unique_keys)]


class PolicyCreate(schema.Body):
    """``policy`` of ``POST /v1/{project_id}/policies``."""

    name: Name
    description: Description = ''
    provider_id: Annotated[str, AfterValidator(_the_provider)]
    parameters: dict[str, Any] = Field(default_factory=lambda: {'common': {}})
    resources: Resources
    scheduled_operations: Annotated[list[ScheduledOperation],
                                    Field(min_length=1, max_length=1)]
    tags: Tags = Field(default_factory=list)


class PolicyUpdate(schema.Body):
    """``policy`` of ``PUT /v1/{project_id}/policies/{policy_id}``: what is given changes."""

    name: Name | None = None
    description: Description | None = None
    parameters: dict[str, Any] | None = None
    resources: Resources | None = None
    scheduled_operations: Annotated[list[ScheduledOperationUpdate],
                                    Field(min_length=1, max_length=1)] | None = None


class PolicyCreateBody(schema.Body):
    """The create body."""

    policy: PolicyCreate


class PolicyUpdateBody(schema.Body):
    """The update body."""

    policy: PolicyUpdate


class ExecuteParameters(schema.Body):
    """``checkpoint.parameters`` of a manual run of a policy."""

    auto_trigger: bool = False
    resources: list[str] | None = None


class Execute(schema.Body):
    """``checkpoint`` of ``POST /v1/{project_id}/providers/{provider_id}/checkpoints``."""

    plan_id: str = Field(min_length=1, max_length=64)
    parameters: ExecuteParameters = Field(default_factory=ExecuteParameters)


class ExecuteBody(schema.Body):
    """The execute body."""

    checkpoint: Execute
