"""Request bodies of CSBS v1 backups, capability checks and restores.

Field names and limits are the OTC CSBS API reference's: a backup name is 1–255 letters,
digits, ``_`` and ``-``; a description 0–255 characters without ``<`` or ``>``; at most
10 tags with unique keys.  Unknown fields are ignored; every failure is a 400 naming the
field.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from cbr_common.backups import SERVER
from cbr_common.csbs.fields import Description, Name
from cbr_common.naming import Tag, rule_error, unique_keys
from cbr_common.policies.schema import Body

Identifier = Annotated[str, Field(min_length=1, max_length=64)]
Tags = Annotated[list[Tag], Field(min_length=1, max_length=10), AfterValidator(unique_keys)]


class ProtectParam(Body):
    """``protect`` of a one-off backup (#12); ``tags`` become the backup's."""

    backup_name: Name | None = None
    description: Description = ''
    incremental: bool = True
    resource_type: Identifier = SERVER
    tags: Tags | None = None
    extra_info: dict[str, Any] | None = None


class ProtectBody(Body):
    """The body of a one-off backup of a server (#12)."""

    protect: ProtectParam


class ResourceRef(Body):
    """One server of ``check_protectable``."""

    resource_id: Identifier
    resource_type: Identifier


class VolumeMapping(Body):
    """A disk backup and the disk that receives its data."""

    backup_id: Identifier
    volume_id: Identifier


def _unique_backups(volumes: list[VolumeMapping]) -> list[VolumeMapping]:
    if len({volume.backup_id for volume in volumes}) != len(volumes):
        raise rule_error('a disk backup is named twice in volumes')
    return volumes


Volumes = Annotated[list[VolumeMapping], Field(min_length=1), AfterValidator(_unique_backups)]


class RestoreTarget(Body):
    """``target`` of ``check_restorable``."""

    resource_id: Identifier
    resource_type: Identifier
    volumes: Volumes


class RestorableRef(Body):
    """One backup and its target of ``check_restorable``."""

    checkpoint_item_id: Identifier
    target: RestoreTarget


class ResourceActionBody(Body):
    """``POST /providers/{provider_id}/resources/action``: the body's key picks the check."""

    check_protectable: list[ResourceRef] | None = Field(default=None, min_length=1)
    check_restorable: list[RestorableRef] | None = Field(default=None, min_length=1)

    @model_validator(mode='after')
    def _one_check(self) -> 'ResourceActionBody':
        if (self.check_protectable is None) == (self.check_restorable is None):
            raise rule_error('give exactly one of check_protectable and check_restorable')
        return self


class ServerTargets(Body):
    """``parameters.targets`` of a restore: the server and each disk backup's target disk."""

    server_id: Identifier
    volumes: Volumes


class RestoreParameters(Body):
    """``restore.parameters``: the item to restore, where, and whether to start the server."""

    checkpoint_item_id: Identifier
    power_on: bool
    targets: ServerTargets


class RestoreSpec(Body):
    """``restore`` of ``POST /restores`` (#15)."""

    provider_id: Identifier
    checkpoint_id: Identifier
    restore_target: str | None = None
    parameters: RestoreParameters


class RestoreBody(Body):
    """The body of ``POST /v1/{project_id}/restores`` (#15)."""

    restore: RestoreSpec


def mapping(volumes: list[VolumeMapping]) -> dict[str, str]:
    """Disk backup id -> id of the disk that receives its data."""
    return {volume.backup_id: volume.volume_id for volume in volumes}
