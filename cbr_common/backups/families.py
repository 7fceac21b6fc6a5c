"""The API families that share the backup core, and the service vaults of the older two.

CBR v3 keeps backups in vaults its users create.  CSBS v1 and VBS v2 have no vaults: each
project gets one hidden *service vault* per family (``csbs`` for whole-server backups,
``vbs`` for disk backups), created on first use, and their backups live there.  So every
family's backups share one data plane (snapshots, chunks, manifests, restores), while each
API shows only its own: CBR v3 never lists a service vault or its backups, and a backup is
found by id only through the families that may see it (rule C5: a CSBS disk backup shows in
VBS lists, with source ``CSBS``).
"""
from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.backups import SERVER, VOLUME
from cbr_common.db import models
from cbr_common.errors import NotFound
from cbr_common.statemachine import transition

CBR = 'cbr'
CSBS = 'csbs'
VBS = 'vbs'
SERVICE_VAULT_TYPES = {CSBS: SERVER, VBS: VOLUME}
SERVICE_VAULT_GB = 1024 * 1024  # the older services bill by use: no capacity to run out of
_NAMESPACE = uuid.UUID('6f1c2e0a-5b7d-4c8e-9a3f-2d4b6e8c0a1f')


def service_vault_id(project_id: str, family: str) -> str:
    """The id of the project's service vault of ``family`` (the same in every process)."""
    return str(uuid.uuid5(_NAMESPACE, '%s/%s' % (project_id, family)))


def service_vault(session: Session, project_id: str, family: str) -> models.Vault:
    """The project's service vault of ``family`` (``csbs`` or ``vbs``), made on first use."""
    return _made(session, service_vault_id(project_id, family), project_id, family,
                 name='%s-service' % family)


def policy_vault(session: Session, policy: models.Policy) -> models.Vault:
    """The service vault of a CSBS or VBS policy: the resources bound to the policy are its
    resources, so the scheduler runs the policy on them as on any vault's."""
    return _made(session, str(uuid.uuid5(_NAMESPACE, 'policy/%s' % policy.id)),
                 policy.project_id, policy.family, name='%s-policy' % policy.family,
                 policy_id=policy.id)


def _made(session: Session, vault_id: str, project_id: str, family: str, *, name: str,
          policy_id: str | None = None) -> models.Vault:
    """The service vault ``vault_id``, made now if it does not exist yet."""
    vault = session.get(models.Vault, vault_id)
    if vault is not None:
        return vault
    now = clock.now()
    vault = models.Vault(id=vault_id, project_id=project_id, name=name,
                         resource_type=SERVICE_VAULT_TYPES[family], size=SERVICE_VAULT_GB,
                         family=family, created_at=now, updated_at=now, policy_id=policy_id,
                         bind_rules=[], tags=[])
    try:
        with session.begin_nested():
            transition(session, vault, 'available', entity_type='vault')
            session.add(vault)
    except IntegrityError:  # another request made it first
        vault = session.get(models.Vault, vault_id, populate_existing=True)
        assert vault is not None
    return vault

Row = TypeVar('Row', models.Vault, models.Backup, models.Policy)


def shown(row: Row, families: Collection[str], *, what: str, field: str,
          code: str | None) -> Row:
    """``row`` (a vault, backup or policy) if one of ``families`` shows it, else :class:`NotFound`
    as if it did not exist."""
    if row.family not in families:
        raise NotFound('%s %s does not exist' % (what, row.id), field=field, code=code)
    return row


def vaults_of(project_id: str, family: str = CBR) -> ColumnElement[bool]:
    """The condition on :class:`models.Vault` rows: the project's vaults of ``family``."""
    return and_(models.Vault.project_id == project_id, models.Vault.family == family)


def operation_in_cbr(project_id: str) -> ColumnElement[bool]:
    """The condition on :class:`models.Operation` rows: not a job of a service vault."""
    return or_(models.Operation.vault_id.is_(None), models.Operation.vault_id.not_in(
        select(models.Vault.id).where(models.Vault.project_id == project_id,
                                      models.Vault.family != CBR)))
