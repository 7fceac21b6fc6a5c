"""Request bodies of CBR v3 vaults, resources, checkpoints, backups and restores.

Field names and limits are the real API's (``../shared/reference/cbr-v3-api.md``) and
the rules': V2 names, V3 capacity, V4 resource counts, V13 tags, B1 backup names.
Unknown fields are ignored; every failure is a 400 naming the field.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from cbr_common.backups import RESOURCE_TYPES
from cbr_common.naming import Name, Tag, rule_error, unique_keys

MIN_VAULT_SIZE, MAX_VAULT_SIZE = 10, 10_485_760
MAX_RESOURCES = 256

VaultSize = Annotated[int, Field(ge=MIN_VAULT_SIZE, le=MAX_VAULT_SIZE, strict=True)]
Tags = Annotated[list[Tag], Field(min_length=1, max_length=10), AfterValidator(unique_keys)]
Identifier = Annotated[str, Field(min_length=1, max_length=64)]
Description = Annotated[str, Field(max_length=255)]


class _Body(BaseModel):
    model_config = ConfigDict(extra='ignore')


class BillingCreate(_Body):
    """``billing`` of a new vault."""

    consistent_level: Literal['crash_consistent', 'app_consistent']
    object_type: Literal['server', 'disk', 'turbo']
    protect_type: Literal['backup']
    size: VaultSize
    charging_mode: Literal['post_paid', 'pre_paid'] = 'post_paid'
    cloud_type: Literal['public'] = 'public'
    period_type: Literal['year', 'month'] | None = None
    period_num: int | None = Field(default=None, ge=1, le=9)
    is_auto_renew: bool = False
    is_auto_pay: bool = False
    console_url: str | None = None
    is_multi_az: bool = False

    @model_validator(mode='after')
    def _period(self) -> 'BillingCreate':
        if self.charging_mode == 'pre_paid' and (self.period_type is None
                                                 or self.period_num is None):
            raise rule_error('a pre_paid vault needs period_type and period_num')
        return self


class IncludedVolume(_Body):
    id: Identifier
    os_version: str | None = None


class ResourceExtraInfo(_Body):
    """Which disks of a server to back up (rule V12)."""

    include_volumes: list[IncludedVolume] | None = None
    exclude_volumes: list[Identifier] | None = None


class ResourceCreate(_Body):
    """One resource to associate with a vault."""

    id: Identifier
    type: Literal[RESOURCE_TYPES]  # type: ignore[valid-type]
    name: Annotated[str, Field(max_length=255)] | None = None
    extra_info: ResourceExtraInfo | None = None


class BindRules(_Body):
    tags: Annotated[list[Tag], Field(min_length=1, max_length=5)] | None = None


class VaultCreate(_Body):
    """``vault`` of ``POST /v3/{project_id}/vaults``."""

    name: Name | None = None
    billing: BillingCreate
    resources: Annotated[list[ResourceCreate], Field(max_length=MAX_RESOURCES)]
    description: Description = ''
    tags: Tags | None = None
    backup_policy_id: Identifier | None = None
    enterprise_project_id: str = '0'
    auto_bind: bool = False
    bind_rules: BindRules | None = None
    auto_expand: bool = False
    threshold: int = Field(default=80, ge=1, le=100)
    smn_notify: bool = True


class VaultCreateBody(_Body):
    vault: VaultCreate


class BillingUpdate(_Body):
    size: VaultSize | None = None
    consistent_level: Literal['crash_consistent', 'app_consistent'] | None = None


class VaultUpdate(_Body):
    """``vault`` of ``PUT /v3/{project_id}/vaults/{vault_id}``."""

    name: Name | None = None
    billing: BillingUpdate | None = None
    auto_bind: bool | None = None
    bind_rules: BindRules | None = None
    auto_expand: bool | None = None
    smn_notify: bool | None = None
    threshold: int | None = Field(default=None, ge=1, le=100)


class VaultUpdateBody(_Body):
    vault: VaultUpdate


class AddResourcesBody(_Body):
    resources: Annotated[list[ResourceCreate], Field(min_length=1, max_length=MAX_RESOURCES)]


class RemoveResourcesBody(_Body):
    resource_ids: Annotated[list[Identifier], Field(min_length=1, max_length=MAX_RESOURCES)]


class MigrateResourcesBody(_Body):
    destination_vault_id: Identifier
    resource_ids: Annotated[list[Identifier], Field(min_length=1, max_length=MAX_RESOURCES)]


class SetResourcesBody(_Body):
    """``set-resources``: stop (``suspend``) or resume (``unsuspend``) a resource's
    automatic backups by the vault's policy."""

    resource_ids: Annotated[list[Identifier], Field(min_length=1, max_length=MAX_RESOURCES)]
    action: Literal['suspend', 'unsuspend']


class VaultBatchUpdate(_Body):
    smn_notify: bool | None = None
    threshold: int | None = Field(default=None, ge=1, le=100)


class VaultBatchUpdateBody(_Body):
    vault: VaultBatchUpdate


class ExpirationBody(_Body):
    expect_expiration_date: Annotated[str, Field(min_length=10, max_length=10)]
    time_zone: Annotated[str, Field(min_length=9, max_length=9)]


class AssociatePolicyBody(_Body):
    """Exactly one of ``policy_id`` and ``add_policy_ids`` (which holds one id here)."""

    policy_id: Identifier | None = None
    add_policy_ids: Annotated[list[Identifier], Field(min_length=1, max_length=1)] | None = None
    destination_vault_id: Identifier | None = None

    @model_validator(mode='after')
    def _one(self) -> 'AssociatePolicyBody':
        if (self.policy_id is None) == (self.add_policy_ids is None):
            raise rule_error('give exactly one of policy_id and add_policy_ids')
        return self

    @property
    def chosen(self) -> str:
        return self.policy_id or (self.add_policy_ids or [''])[0]


class DissociatePolicyBody(_Body):
    policy_id: Identifier


class ResourceDetail(_Body):
    id: Identifier
    type: Literal[RESOURCE_TYPES]  # type: ignore[valid-type]
    name: Annotated[str, Field(max_length=255)] | None = None


class CheckpointParameters(_Body):
    """``checkpoint.parameters``: what to back up and how (rules B1, B4)."""

    auto_trigger: bool = False
    description: Description = ''
    incremental: bool = True
    name: Name | None = None
    resources: Annotated[list[Identifier], Field(min_length=1,
                                                 max_length=MAX_RESOURCES)] | None = None
    resource_details: Annotated[list[ResourceDetail],
                                Field(min_length=1, max_length=MAX_RESOURCES)] | None = None
    policy_id: Identifier | None = None
    retention_duration_days: int | None = None

    @model_validator(mode='after')
    def _retention(self) -> 'CheckpointParameters':
        days = self.retention_duration_days
        if days is not None:
            if self.auto_trigger:
                raise rule_error('retention_duration_days is not allowed when auto_trigger '
                                 'is true')
            if days != -1 and not 1 <= days <= 36500:
                raise rule_error('retention_duration_days must be -1 or from 1 to 36500')
        if self.auto_trigger:
            raise rule_error('auto_trigger backups are made by the policy scheduler only')
        return self

    @property
    def resource_ids(self) -> list[str] | None:
        if self.resources:
            return list(self.resources)
        if self.resource_details:
            return [detail.id for detail in self.resource_details]
        return None


class CheckpointCreate(_Body):
    vault_id: Identifier
    parameters: CheckpointParameters = Field(default_factory=CheckpointParameters)


class CheckpointCreateBody(_Body):
    checkpoint: CheckpointCreate


class RestoreMapping(_Body):
    backup_id: Identifier
    volume_id: Identifier


class Restore(_Body):
    """``restore`` of ``POST /backups/{backup_id}/restore`` (rules R1–R3)."""

    mappings: Annotated[list[RestoreMapping], Field(min_length=1, max_length=64)] | None = None
    power_on: bool = True
    server_id: Identifier | None = None
    volume_id: Identifier | None = None
    resource_id: Identifier | None = None

    @model_validator(mode='after')
    def _target(self) -> 'Restore':
        if self.server_id is None and self.volume_id is None and self.resource_id is None:
            raise rule_error('give server_id (with mappings) or volume_id')
        return self


class RestoreBody(_Body):
    restore: Restore


class BackupUpdate(_Body):
    name: Name | None = None


class BackupUpdateBody(_Body):
    backup: BackupUpdate = Field(default_factory=BackupUpdate)
