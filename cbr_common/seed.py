"""The seeded world: projects demo, alt_demo and admin, and each demo project's inventory.

Identities derive from ``[simulation] seed_secret``, so the same secret gives the same
project ids and AK/SK pairs every time (and after every reset).  Each demo project gets
two running servers (a system disk and one data disk each), three unattached disks and
one SFS Turbo file system, created directly in their final states.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cbr_common import clock, identity
from cbr_common.auth import ADMIN_ROLE, MEMBER_ROLE
from cbr_common.config import CONF
from cbr_common.dataplane import gc
from cbr_common.dataplane.volume_store import VolumeStore
from cbr_common.db import changes, models
from cbr_common.db.engine import session_scope
from cbr_common.inventory import GIB, servers, shares, volumes

DEMO_PROJECTS = ('demo', 'alt_demo')
ADMIN_PROJECT = 'admin'
_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
_SECRET_ALPHABET = _KEY_ALPHABET + 'abcdefghijklmnopqrstuvwxyz'


def _derived(kind: str, name: str, length: int, alphabet: str) -> str:
    digest = hashlib.sha512(('%s:%s:%s' % (CONF.simulation.seed_secret, kind, name))
                            .encode()).digest()
    return ''.join(alphabet[b % len(alphabet)] for b in digest[:length])


def _ensure_identity(session: Session, name: str, roles: list[str]) -> dict[str, Any]:
    project_id = identity.stable_id(CONF.simulation.seed_secret, 'project', name)
    project = session.get(models.Project, project_id) or identity.create_project(
        session, name, project_id)
    user = session.execute(select(models.User).where(models.User.name == name)).scalar_one_or_none()
    if user is None:
        user = identity.create_user(session, name, project, CONF.simulation.seed_password, roles)
    access_key = _derived('ak', name, 20, _KEY_ALPHABET)
    secret_key = _derived('sk', name, 40, _SECRET_ALPHABET)
    if session.get(models.Credential, access_key) is None:
        identity.create_credential(session, user, access_key, secret_key)
    session.flush()
    return {'name': name, 'id': project_id, 'ak': access_key, 'sk': secret_key,
            'user': name, 'password': CONF.simulation.seed_password}


def _seed_inventory(session: Session, project_id: str) -> list[tuple[str, int]]:
    """Create the project's starting inventory; returns (device id, bytes) to allocate."""
    zone = CONF.availability_zone
    devices: list[tuple[str, int]] = []
    for index in (1, 2):
        spec = servers.ServerSpec(
            name='server-%d' % index, image_id='sim-image-ubuntu-22.04', flavor_id='s6.large.2',
            root_volume=volumes.VolumeSpec(size=40, volume_type='SSD', availability_zone=zone,
                                           bootable=True),
            data_volumes=(volumes.VolumeSpec(size=10, volume_type='SSD',
                                             availability_zone=zone),))
        server = servers.new_server(session, project_id, spec, name=spec.name, status='ACTIVE')
        devices += [(a.volume.id, a.volume.size * GIB) for a in server.attachments]
    for index, size in enumerate((10, 20, 40), start=1):
        disk = volumes.new_volume(session, project_id,
                                  volumes.VolumeSpec(size=size, volume_type='SAS',
                                                     availability_zone=zone),
                                  name='disk-%d' % index, status='available')
        devices.append((disk.id, size * GIB))
    share = shares.new_share(session, project_id,
                             shares.ShareSpec(name='share-1', size=500, vpc_id='sim-vpc',
                                              subnet_id='sim-subnet',
                                              security_group_id='sim-sg'),
                             status=shares.AVAILABLE)
    devices.append((share.id, share.size * GIB))
    return devices


def _has_inventory(session: Session, project_id: str) -> bool:
    return any(session.execute(select(model.id).where(model.project_id == project_id).limit(1))
               .first() for model in (models.Server, models.Volume, models.Share))


def seed() -> dict[str, Any]:
    """Create whatever of the seeded world is missing; returns the credentials document."""
    created: list[tuple[str, int]] = []
    with session_scope() as session:
        projects = [_ensure_identity(session, name, [MEMBER_ROLE]) for name in DEMO_PROJECTS]
        admin = _ensure_identity(session, ADMIN_PROJECT, [ADMIN_ROLE, MEMBER_ROLE])
        for project in projects:
            if not _has_inventory(session, project['id']):
                created += _seed_inventory(session, project['id'])
    store = VolumeStore.from_config()
    for device_id, size in created:
        store.create(device_id, size)
    return credentials_document(projects, admin)


def public_endpoint() -> str:
    return (CONF.api.public_endpoint or 'http://%s:%d' % (CONF.api.bind_host,
                                                         CONF.api.bind_port)).rstrip('/')


def credentials_document(projects: list[dict[str, Any]], admin: dict[str, Any]) -> dict[str, Any]:
    endpoint = public_endpoint()
    return {'endpoint': endpoint, 'identity_url': endpoint + '/v3', 'region': CONF.region,
            'domain': CONF.identity.domain_name, 'projects': projects, 'admin': admin}


_WIPED = (models.ChunkPin, models.Chunk, models.BackupMember, models.Image, models.Backup,
          models.VaultResource, models.Checkpoint, models.PolicyRun, models.Vault,
          models.Policy, models.VolumeAttachment, models.Server, models.Volume, models.Share,
          models.Operation, models.StatusEvent, models.Fault, models.SimClock)


def reset() -> None:
    """Wipe every resource, vault, policy, backup, job, fault and clock setting, then seed
    again.

    Identities (projects, users, AK/SK pairs, tokens) stay: they are what seeding would
    create again.  The clock returns to real time.
    """
    with session_scope() as session:
        devices = [row[0] for model in (models.Volume, models.Share)
                   for row in session.execute(select(model.id))]
        projects = [row[0] for row in session.execute(select(models.Project.id))]
        for model in _WIPED:
            session.execute(delete(model))
        changes.bump(session, [*projects, *map(changes.vaults_scope, projects)])
    store = VolumeStore.from_config()
    for device_id in devices:
        store.delete(device_id)
    gc.sweep()  # no chunk row is left, so every stored chunk goes
    clock.CLOCK.invalidate()
    seed()
