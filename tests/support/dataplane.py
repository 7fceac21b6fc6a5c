"""An in-process backup service for data-plane tests: real database, real stores, no workers.

Jobs run through the real runner (:func:`cbr_common.operations.runner.execute`) in the
test's thread instead of on a Celery worker; everything else is the production code on a
fresh SQLite database (or PostgreSQL), a volume store folder and the chunk store that
``[chunk_store]`` points at.  Messages the jobs publish go to a private queue prefix on
the test Redis and are deleted afterwards.
"""
from __future__ import annotations

import contextlib
import json
import struct
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis as redis_lib
from sqlalchemy import select

from cbr_common import clock, ids
from cbr_common.backups import requests, vaults
from cbr_common.config import CONF
from cbr_common.contracts.tasks import TaskMessage
from cbr_common.dataplane.volume_store import GIB, VolumeStore
from cbr_common.inventory.volumes import CMK_KEY, ENCRYPTED_KEY
from cbr_common.db import engine, migrate, models
from cbr_common.db.engine import read_scope, session_scope
from cbr_common.messaging.celery_app import reset_app
from cbr_common.operations import batches, outbox, runner
from tests.support.client import poll
from tests.support.stack import REDIS_BASE, Stack

BROKER = REDIS_BASE + '/12'
COUNTER_BLOCK = 65536


@contextlib.contextmanager
def overrides(values: dict[str, dict[str, Any]]) -> Iterator[None]:
    """``CONF`` overrides for the block, then the engine and broker app are forgotten."""
    for group, options in values.items():
        for name, value in options.items():
            CONF.set_override(name, value, group=None if group == 'DEFAULT' else group)
    engine.dispose()
    reset_app()
    try:
        yield
    finally:
        for group, options in values.items():
            for name in options:
                CONF.clear_override(name, group=None if group == 'DEFAULT' else group)
        engine.dispose()
        reset_app()


class BackupService:
    """One project with disks, a disk vault and a server vault, driven in-process."""

    def __init__(self, root: Path, database_url: str | None = None,
                 block_size: int = 4096) -> None:
        self.root = root
        self.prefix = 'dp-%s-' % uuid.uuid4().hex[:8]
        self.settings = {
            'DEFAULT': {'state_path': str(root / 'state')},
            'database': {'connection': database_url or 'sqlite:///%s' % (root / 'cbr.sqlite')},
            'messaging': {'broker_url': BROKER, 'queue_prefix': self.prefix},
            'volume_store': {'path': str(root / 'volumes'), 'block_size': block_size},
        }
        self.volumes = VolumeStore(str(root / 'volumes'), block_size)
        self.project_id = uuid.uuid4().hex

    @contextlib.contextmanager
    def running(self) -> Iterator[BackupService]:
        with overrides(self.settings):
            migrate.sync()
            with session_scope() as session:
                session.add(models.Project(id=self.project_id, name='p-%s' % self.project_id[:8],
                                           domain_name='d', created_at=clock.now()))
            try:
                yield self
            finally:
                client = redis_lib.Redis.from_url(BROKER)
                keys = list(client.scan_iter('*%s*' % self.prefix))
                if keys:
                    client.delete(*keys)

    # -- inventory -------------------------------------------------------------------------
    def disk(self, size_gb: int = 1, key_id: str | None = None) -> str:
        """A new available disk of ``size_gb`` GB (encrypted with ``key_id`` if given)."""
        metadata = ({ENCRYPTED_KEY: '1', CMK_KEY: key_id} if key_id else {})
        volume_id = ids.new_uuid()
        now = clock.now()
        with session_scope() as session:
            session.add(models.Volume(id=volume_id, project_id=self.project_id, name=volume_id,
                                      status='available', size=size_gb, volume_type='SSD',
                                      availability_zone='az', metadata_=metadata, tags={},
                                      created_at=now, updated_at=now))
        self.volumes.create(volume_id, size_gb * GIB)
        return volume_id

    def server(self, disk_ids: list[str]) -> str:
        """A running server with ``disk_ids`` attached (the first as its system disk)."""
        server_id = ids.new_uuid()
        now = clock.now()
        with session_scope() as session:
            session.add(models.Server(id=server_id, project_id=self.project_id, name=server_id,
                                      status='ACTIVE', flavor_id='f', image_id='i',
                                      availability_zone='az', created_at=now, updated_at=now))
            for index, disk_id in enumerate(disk_ids):
                session.add(models.VolumeAttachment(
                    id=ids.new_uuid(), volume_id=disk_id, server_id=server_id,
                    device='/dev/vd%s' % 'abcdefgh'[index], boot_index=0 if index == 0 else -1,
                    attached_at=now))
                session.get(models.Volume, disk_id).status = 'in-use'
        return server_id

    def vault(self, resource_type: str, size_gb: int = 100) -> str:
        with session_scope() as session:
            return vaults.create(session, self.project_id, name='v', resource_type=resource_type,
                                 size=size_gb).id

    # -- jobs ------------------------------------------------------------------------------
    def run_pending(self) -> list[str]:
        """Run every waiting operation (and those they create) to the end; their ids."""
        ran: list[str] = []
        while True:
            with read_scope() as session:
                waiting = session.execute(select(models.Operation.id, models.Operation.job_type)
                                          .where(models.Operation.status == 'INIT')
                                          .order_by(models.Operation.created_at)).all()
            if not waiting:
                return ran
            for operation_id, job_type in waiting:
                runner.execute(TaskMessage(operation_id=operation_id, job_type=job_type,
                                           project_id=self.project_id, dispatch=1), 'test')
                ran.append(operation_id)

    def run_batch(self, job_type: str, operation_ids: list[str]) -> str:
        """Run the operations as one batch message, as a worker would; its outcome."""
        first, *others = operation_ids
        return batches.execute_batch(TaskMessage(operation_id=first, job_type=job_type,
                                                 project_id=self.project_id, dispatch=1,
                                                 batch=tuple(others)), 'test')

    def operation(self, operation_id: str) -> models.Operation:
        with read_scope() as session:
            return session.get(models.Operation, operation_id)

    def request(self, make, *args: Any, **kwargs: Any) -> models.Operation:
        """Commit one request (a function of :mod:`cbr_common.backups.requests`), run it."""
        with session_scope() as session:
            operation_id = make(session, self.project_id, *args, **kwargs).id
        self.run_pending()
        return self.operation(operation_id)

    def backup(self, vault_id: str, resource_id: str, full: bool = False) -> models.Backup:
        operation = self.request(requests.request_backup, vault_id, resource_id, full=full)
        assert operation.status == 'SUCCESS', (operation.status, operation.fail_reason)
        return self.backup_row(operation.params['backup_id'])

    def backup_row(self, backup_id: str) -> models.Backup:
        with read_scope() as session:
            return session.get(models.Backup, backup_id)

    def manifest(self, backup_id: str) -> bytes:
        """The backup's stored manifest."""
        with read_scope() as session:
            return session.get(models.Backup, backup_id).manifest

    def restore(self, backup_id: str, targets: dict[str, str]) -> models.Operation:
        return self.request(requests.request_restore, backup_id, targets)

    def delete(self, backup_id: str) -> models.Operation:
        return self.request(requests.request_delete, backup_id)

    def usage(self, vault_id: str) -> vaults.VaultUsage:
        with read_scope() as session:
            return vaults.usage(session, session.get(models.Vault, vault_id))


class StackBackups:
    """Backup requests committed from the test process into a running stack's database.

    The stack's own workers run the jobs; this only commits the requests (as cbr-api will)
    and publishes them, and reads the stack's stores directly.
    """

    def __init__(self, stack: Stack, project: str = 'demo') -> None:
        self.stack = stack
        self.client = stack.client(project)
        self.project_id = self.client.project_id
        self.volumes = VolumeStore(str(stack.root / 'state' / 'volumes'),
                                   CONF.volume_store.block_size)

    @contextlib.contextmanager
    def attached(self) -> Iterator[StackBackups]:
        """Point this process's configuration at the stack for the block."""
        settings = {group: values for group, values in self.stack.settings.items()
                    if group in ('chunk_store', 'volume_store')}
        settings.update({
            'DEFAULT': {'state_path': str(self.stack.root / 'state')},
            'database': {'connection': self.stack.database.url},
            'messaging': {'broker_url': self.stack.broker_url,
                          'queue_prefix': self.stack.queue_prefix}})
        with overrides(settings):
            yield self

    def disk(self, size_gb: int = 10, metadata: dict[str, str] | None = None) -> str:
        """A disk created through the EVS API, available."""
        body = self.client.post('/v2.1/%s/cloudvolumes' % self.project_id, json={'volume': {
            'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': size_gb,
            'metadata': metadata or {}}}).json()
        assert self.client.wait_job(body['job_id'])['status'] == 'SUCCESS'
        return body['volume_ids'][0]

    def server(self, disk_sizes: list[int]) -> tuple[str, list[str]]:
        """A server created through the ECS API with disks of these sizes; (id, disk ids)."""
        disks = [{'volumetype': 'SSD', 'size': size} for size in disk_sizes[1:]]
        body = self.client.post('/v1/%s/cloudservers' % self.project_id, json={'server': {
            'name': 'cg', 'imageRef': 'image', 'flavorRef': 's3.small.1',
            'availability_zone': 'sim-az-1', 'vpcid': 'vpc', 'nics': [{'subnet_id': 'net'}],
            'root_volume': {'volumetype': 'SSD', 'size': disk_sizes[0]},
            'data_volumes': disks}}).json()
        assert self.client.wait_job(body['job_id'])['status'] == 'SUCCESS'
        server_id = body['serverIds'][0]
        with read_scope() as session:
            attachments = session.execute(select(models.VolumeAttachment)
                                          .where(models.VolumeAttachment.server_id == server_id)
                                          .order_by(models.VolumeAttachment.device)).scalars()
            return server_id, [a.volume_id for a in attachments]

    def vault(self, resource_type: str, size_gb: int = 100) -> str:
        with session_scope() as session:
            return vaults.create(session, self.project_id, name='v', resource_type=resource_type,
                                 size=size_gb).id

    def submit(self, make, *args: Any, **kwargs: Any) -> str:
        """Commit a request, publish its operation; the operation id."""
        return self.submit_all(make, [args], **kwargs)[0]

    def submit_all(self, make, each_args: list[tuple], **kwargs: Any) -> list[str]:
        """Commit one request per argument tuple, then publish their operations together
        (batched job types go out in batch messages); the operation ids."""
        with session_scope() as session:
            operation_ids = [make(session, self.project_id, *args, **kwargs).id
                             for args in each_args]
        outbox.dispatch(operation_ids)
        return operation_ids

    def wait(self, operation_id: str, timeout: float = 60.0,
             done: tuple[str, ...] = ('SUCCESS', 'FAIL')) -> dict[str, Any]:
        return self.client.wait_job(operation_id, timeout=timeout, done=done)

    def backup_row(self, backup_id: str) -> models.Backup:
        with read_scope() as session:
            return session.get(models.Backup, backup_id)

    def operation(self, operation_id: str) -> models.Operation:
        with read_scope() as session:
            return session.get(models.Operation, operation_id)

    def manage_json(self, *args: str) -> dict[str, Any]:
        return json.loads(self.stack.manage(*args))


@contextlib.contextmanager
def guest_writing(volumes: VolumeStore, disks: list[str]) -> Iterator[None]:
    """A guest writing an ever larger counter over the first block of each disk, always
    in the order of ``disks``, for the whole block (which starts once every disk holds a
    counter).  A crash-consistent copy of the disks (rule C3) holds the same counter on
    all of them, or on a later disk one less: see :func:`counters`."""
    stop = threading.Event()

    def writes() -> None:
        counter = 0
        while not stop.is_set():
            counter += 1
            for disk in disks:
                volumes.write(disk, 0, struct.pack('<Q', counter) * (COUNTER_BLOCK // 8))

    writer = threading.Thread(target=writes)
    writer.start()
    try:
        poll(lambda: volumes.read(disks[-1], 0, 8), lambda b: b != bytes(8), 10,
             'the guest did not write')
        yield
    finally:
        stop.set()
        writer.join()


def counters(volumes: VolumeStore, disks: list[str]) -> list[int]:
    """The counter :func:`guest_writing` left on each disk."""
    return [struct.unpack('<Q', volumes.read(disk, 0, 8))[0] for disk in disks]
