"""Protectable resources: which of a project's servers, disks and file systems could be
associated with a vault, and why not; and what the project's backups hold per resource
(storage usage) and per backup (its metadata).

A resource is protectable when it is in no vault yet (rule V4, code ``6302``) and its
status allows an association (rule V5, code ``6306``: a server ``ACTIVE`` or ``SHUTOFF``
with at least one disk, a disk ``available`` or ``in-use``, a file system ``200``).  A
page of resources, their attached disks and the vaults they are in are read in a few
queries, whatever the page size; so are storage usage and a backup's metadata.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from cbr_common.backups import OBJECT_TYPES, RESOURCE_TYPES, SERVER, TURBO, VOLUME, codes
from cbr_common.backups.vault_resources import INVENTORY, association_problem, size_of
from cbr_common.db import models
from cbr_common.errors import InvalidInput, NotFound
from cbr_common.statemachine import TRANSITIONS

UNSUPPORTED_TYPES = ('workspace', 'workspace_v2')
MAX_PAGE = 50
_ENTITY = {SERVER: 'server', VOLUME: 'volume', TURBO: 'share'}
_LOADS = {
    SERVER: (selectinload(models.Server.attachments).selectinload(models.VolumeAttachment.volume)
             .selectinload(models.Volume.attachments),),
    VOLUME: (selectinload(models.Volume.attachments),),
    TURBO: (),
}


@dataclass(frozen=True)
class Verdict:
    """Whether a resource may be associated with a vault; if not, the code and why.

    ``vault_id`` names the vault the resource is already in, if any.
    """

    result: bool
    code: str = ''
    reason: str = ''
    message: str = ''
    vault_id: str | None = None


@dataclass(frozen=True)
class Protectable:
    """One server, disk or file system with its size (GB), verdict and, for a server, its
    attached disks (by device)."""

    row: Any
    resource_type: str
    size: int
    verdict: Verdict
    children: tuple['Protectable', ...] = ()


@dataclass(frozen=True)
class Filter:
    """The list filters: exact name, status and id; ``server_id`` the disks attached to it."""

    name: str | None = None
    status: str | None = None
    id: str | None = None
    server_id: str | None = None


@dataclass(frozen=True)
class Found:
    """A page of protectables and the vaults their verdicts name (resources loaded)."""

    items: list[Protectable]
    vaults: dict[str, models.Vault] = field(default_factory=dict)


def resource_type_of(protectable_type: str) -> str:
    """The resource type a ``protectable_type`` path segment names, or a 400 naming it."""
    if protectable_type in UNSUPPORTED_TYPES:
        raise InvalidInput('protectable_type %s is not supported: this cloud has no desktops'
                           % protectable_type, field='protectable_type')
    if protectable_type not in OBJECT_TYPES:
        raise InvalidInput('protectable_type must be one of %s' % ', '.join(OBJECT_TYPES),
                           field='protectable_type')
    return OBJECT_TYPES[protectable_type]


def statuses(resource_type: str) -> frozenset[str]:
    """Every status a resource of the type can have (its state machine's)."""
    table = TRANSITIONS[_ENTITY[resource_type]]
    return frozenset(status for current, following in table.items()
                     for status in (current, *following) if status)


def validate(resource_type: str, flt: Filter) -> None:
    """400 naming the filter that cannot apply to the resource type."""
    if flt.status is not None and flt.status not in statuses(resource_type):
        raise InvalidInput('status must be one of %s' % ', '.join(sorted(statuses(resource_type))),
                           field='status')
    if flt.server_id is not None and resource_type != VOLUME:
        raise InvalidInput('server_id filters disks only', field='server_id')


def _conditions(model: Any, project_id: str, flt: Filter) -> list[Any]:
    where = [model.project_id == project_id]
    for name in ('name', 'status', 'id'):
        if getattr(flt, name) is not None:
            where.append(getattr(model, name) == getattr(flt, name))
    if flt.server_id is not None:
        where.append(model.id.in_(select(models.VolumeAttachment.volume_id)
                                  .where(models.VolumeAttachment.server_id == flt.server_id)))
    return where


def _after(session: Session, model: Any, where: list[Any], marker: str) -> Any:
    """The condition for rows after the marker's row in name, id order (or a 400)."""
    found = session.execute(select(model.name, model.id)
                            .where(*where, model.id == marker)).one_or_none()
    if found is None:
        raise InvalidInput('marker %s is not an instance of this list' % marker, field='marker')
    return or_(model.name > found.name, and_(model.name == found.name, model.id > found.id))


def listing(session: Session, project_id: str, resource_type: str, flt: Filter, *,
            limit: int = MAX_PAGE, offset: int = 0, marker: str | None = None) -> Found:
    """A page of the project's resources of the type, by name then id; with ``marker``
    the page starts after that resource (``offset`` further on)."""
    validate(resource_type, flt)
    model, _ = INVENTORY[resource_type]
    where = _conditions(model, project_id, flt)
    if marker:
        where.append(_after(session, model, where, marker))
    rows = list(session.execute(select(model).where(*where).options(*_LOADS[resource_type])
                                .order_by(model.name, model.id).limit(limit).offset(offset))
                .scalars())
    return _judge(session, rows, resource_type)


def get(session: Session, project_id: str, resource_type: str, instance_id: str) -> Found:
    """One resource of the project and type, or a 404."""
    found = listing(session, project_id, resource_type, Filter(id=instance_id), limit=1)
    if not found.items:
        raise NotFound('%s %s does not exist' % (INVENTORY[resource_type][1], instance_id),
                       field='instance_id', code=codes.RESOURCE_NOT_FOUND)
    return found


def _homes(session: Session, ids: list[str]) -> dict[str, str]:
    """The vault each of the resources is in, by resource id (those in none are absent)."""
    if not ids:
        return {}
    return dict(session.execute(select(models.VaultResource.resource_id,
                                       models.VaultResource.vault_id)
                                .where(models.VaultResource.resource_id.in_(ids))).all())


def _vaults(session: Session, vault_ids: set[str]) -> dict[str, models.Vault]:
    if not vault_ids:
        return {}
    return {v.id: v for v in session.execute(
        select(models.Vault).where(models.Vault.id.in_(vault_ids))
        .options(selectinload(models.Vault.resources))).scalars()}


def _judge(session: Session, rows: Sequence[Any], resource_type: str) -> Found:
    """The protectables of ``rows`` (of one type), with their disks and vaults."""
    disks = [a.volume for row in rows if resource_type == SERVER for a in row.attachments]
    homes = _homes(session, [row.id for row in (*rows, *disks)])
    vaults = _vaults(session, set(homes.values()))
    return Found(items=[_protectable(row, resource_type, homes, vaults) for row in rows],
                 vaults=vaults)


def _protectable(row: Any, resource_type: str, homes: dict[str, str],
                 vaults: dict[str, models.Vault]) -> Protectable:
    children = tuple(_protectable(a.volume, VOLUME, homes, vaults)
                     for a in row.attachments) if resource_type == SERVER else ()
    return Protectable(row=row, resource_type=resource_type, size=size_of(row),
                       verdict=verdict(row, resource_type, vaults.get(homes.get(row.id, ''))),
                       children=children)


def verdict(row: Any, resource_type: str, vault: models.Vault | None) -> Verdict:
    """Whether ``row`` may be associated with a vault, given the vault it is in (if any)."""
    if vault is not None:  # rule V4
        return Verdict(result=False, code=codes.RESOURCE_IN_VAULT, vault_id=vault.id,
                       reason='already in vault %s' % vault.name,
                       message='%s %s is already in vault %s (%s)'
                       % (INVENTORY[resource_type][1], row.id, vault.name, vault.id))
    problem = association_problem(row, resource_type)  # rule V5
    if problem is not None:
        return Verdict(result=False, code=codes.RESOURCE_STATE, reason=problem[0],
                       message=problem[1])
    return Verdict(result=True)


# -- storage usage -------------------------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    """What one resource's backups (top-level ones, any status) hold in the vaults."""

    resource_id: str
    resource_name: str
    resource_type: str
    backup_count: int
    backup_bytes: int


def storage_usage(session: Session, project_id: str, *, resource_id: str | None = None,
                  resource_type: str | None = None, limit: int, offset: int
                  ) -> tuple[int, list[Usage]]:
    """(how many resources match, a page of their usage by resource id); a resource's
    name is the one its newest backup recorded."""
    if resource_type is not None and resource_type not in RESOURCE_TYPES:
        raise InvalidInput('resource_type must be one of %s' % ', '.join(RESOURCE_TYPES),
                           field='resource_type')
    where = [models.Backup.project_id == project_id, models.Backup.parent_id.is_(None)]
    if resource_id is not None:
        where.append(models.Backup.resource_id == resource_id)
    if resource_type is not None:
        where.append(models.Backup.resource_type == resource_type)
    grouped = (select(models.Backup.resource_id, models.Backup.resource_type, func.count(),
                      func.sum(models.Backup.added_bytes))
               .where(*where).group_by(models.Backup.resource_id, models.Backup.resource_type))
    count = session.execute(select(func.count()).select_from(grouped.subquery())).scalar_one()
    page = session.execute(grouped.order_by(models.Backup.resource_id, models.Backup.resource_type)
                           .limit(limit).offset(offset)).all()
    names = _newest_names(session, where, [row[0] for row in page])
    return count, [Usage(resource_id=rid, resource_name=names.get(rid, ''),
                         resource_type=rtype, backup_count=int(n), backup_bytes=int(total or 0))
                   for rid, rtype, n, total in page]


def _newest_names(session: Session, where: list[Any], resource_ids: list[str]) -> dict[str, str]:
    if not resource_ids:
        return {}
    rows = session.execute(select(models.Backup.resource_id, models.Backup.resource_name)
                           .where(*where, models.Backup.resource_id.in_(resource_ids))
                           .order_by(models.Backup.created_at, models.Backup.id)).all()
    return {rid: name for rid, name in rows}  # the newest comes last and wins


# -- backup metadata -----------------------------------------------------------------------
@dataclass(frozen=True)
class Metadata:
    """What a backup's metadata is made of: the backup, the server it backed up (if a
    server backup and the server still exists), the device backups it holds (a server
    backup's children, else the backup itself) and the disks of those still existing."""

    backup: models.Backup
    server: models.Server | None
    devices: list[models.Backup]
    disks: dict[str, models.Volume]


def _current(session: Session, project_id: str, resource_type: str,
             ids: list[str]) -> dict[str, Any]:
    """The project's existing resources of the type among ``ids``, by id."""
    if not ids:
        return {}
    model, _ = INVENTORY[resource_type]
    return {row.id: row for row in session.execute(
        select(model).where(model.id.in_(ids), model.project_id == project_id)
        .options(*_LOADS[resource_type])).scalars()}


def metadata(session: Session, backup: models.Backup) -> Metadata:
    """The sources of ``backup``'s metadata, read in a few queries."""
    is_server = backup.resource_type == SERVER
    devices = list(backup.children) if is_server else [backup]
    servers = _current(session, backup.project_id, SERVER,
                       [backup.resource_id] if is_server else [])
    disks = _current(session, backup.project_id, VOLUME,
                     [d.resource_id for d in devices if d.resource_type == VOLUME])
    return Metadata(backup=backup, server=servers.get(backup.resource_id), devices=devices,
                    disks=disks)
