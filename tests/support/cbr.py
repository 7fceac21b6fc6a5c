"""A CBR v3 driver for functional tests: signed HTTP calls to a running stack, the EVS and
ECS APIs to make disks and servers, and the /sim data API to write and check their bytes."""
from __future__ import annotations

from typing import Any

import requests

from tests.support.client import SignedClient, poll
from tests.support.stack import Stack

TYPES = {'server': 'OS::Nova::Server', 'disk': 'OS::Cinder::Volume', 'turbo': 'OS::Sfs::Turbo'}


class CallFailed(AssertionError):
    """A call answered with another status than expected."""


class Cbr:
    """One project's view of a stack's CBR v3 API."""

    API = '/v3'                       # the API's path below the endpoint
    CODE_PREFIX = 'BackupService.'    # its error codes

    def __init__(self, stack: Stack, project: str = 'demo') -> None:
        self.stack = stack
        self.client: SignedClient = stack.client(project)
        self.admin: SignedClient = stack.admin()
        self.project_id = self.client.project_id

    # -- raw calls -----------------------------------------------------------------------
    def response(self, method: str, suffix: str, **kwargs: Any) -> requests.Response:
        return self.client.request(method, '%s/%s/%s' % (self.API, self.project_id, suffix),
                                   **kwargs)

    def call(self, method: str, suffix: str, expect: int = 200, **kwargs: Any) -> dict:
        """The JSON body of a call that must answer ``expect``."""
        response = self.response(method, suffix, **kwargs)
        if response.status_code != expect:
            raise CallFailed('%s %s: %d %s' % (method, suffix, response.status_code,
                                               response.text))
        return response.json() if response.content else {}

    def error(self, method: str, suffix: str, status: int, **kwargs: Any) -> dict:
        """The error body of a call that must fail with ``status``."""
        body = self.call(method, suffix, expect=status, **kwargs)
        assert set(body) == {'error_code', 'error_msg'}, body
        assert body['error_code'].startswith(self.CODE_PREFIX), body
        return body

    # -- inventory -----------------------------------------------------------------------
    def disk(self, size: int = 10) -> str:
        body = self.client.post('/v2.1/%s/cloudvolumes' % self.project_id, json={'volume': {
            'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': size}}).json()
        assert self.client.wait_job(body['job_id'])['status'] == 'SUCCESS'
        return body['volume_ids'][0]

    def file_system(self, size: int = 500) -> str:
        """A new SFS Turbo file system, available."""
        created = self.client.post('/v1/%s/sfs-turbo/shares' % self.project_id, json={'share': {
            'name': 'fs-test', 'size': size, 'availability_zone': 'sim-az-1', 'vpc_id': 'vpc',
            'subnet_id': 'net', 'security_group_id': 'sg'}}).json()
        poll(lambda: self.client.get('/v1/%s/sfs-turbo/shares/%s' % (
            self.project_id, created['id'])).json()['status'], lambda status: status == '200',
            30, 'the file system was not created')
        return created['id']

    def server(self, disk_sizes: tuple[int, ...] = (10, 10),
               shared: bool = False) -> tuple[str, list[str]]:
        """A running server with a system disk and data disks (shared ones if ``shared``);
        (id, disk ids by device)."""
        body = self.client.post('/v1/%s/cloudservers' % self.project_id, json={'server': {
            'name': 'srv', 'imageRef': 'image', 'flavorRef': 's3.small.1',
            'availability_zone': 'sim-az-1', 'vpcid': 'vpc', 'nics': [{'subnet_id': 'net'}],
            'root_volume': {'volumetype': 'SSD', 'size': disk_sizes[0]},
            'data_volumes': [{'volumetype': 'SSD', 'size': s, 'multiattach': shared}
                             for s in disk_sizes[1:]]}}).json()
        assert self.client.wait_job(body['job_id'])['status'] == 'SUCCESS'
        server_id = body['serverIds'][0]
        return server_id, self.server_disks(server_id)

    def server_disks(self, server_id: str) -> list[str]:
        shown = self.client.get('/v1/%s/cloudservers/%s' % (self.project_id, server_id)).json()
        attached = sorted(shown['server']['os-extended-volumes:volumes_attached'],
                          key=lambda a: a['device'])
        return [a['id'] for a in attached]

    def ecs_job(self, method: str, suffix: str, body: dict | None = None) -> None:
        """An ECS call below ``cloudservers/`` that answers a job; waits for its success."""
        response = self.client.request(method, '/v1/%s/cloudservers/%s' % (self.project_id,
                                                                           suffix), json=body)
        assert response.status_code == 200, response.text
        assert self.client.wait_job(response.json()['job_id'])['status'] == 'SUCCESS'

    def server_status(self, server_id: str) -> str:
        return self.client.get('/v1/%s/cloudservers/%s' % (self.project_id,
                                                           server_id)).json()['server']['status']

    def disk_status(self, disk_id: str) -> str:
        return self.client.get('/v2/%s/cloudvolumes/%s' % (self.project_id,
                                                           disk_id)).json()['volume']['status']

    def write(self, disk_id: str, offset: int, data: bytes) -> None:
        response = self.admin.put('/sim/v1/%s/volumes/%s/data' % (self.project_id, disk_id),
                                  params={'offset': offset}, data=data)
        assert response.status_code == 204, response.text

    def fill(self, disk_id: str, seed: int, fraction: float = 0.001) -> None:
        response = self.admin.post('/sim/v1/%s/volumes/%s/fill' % (self.project_id, disk_id),
                                   json={'seed': seed, 'fraction': fraction})
        assert response.status_code == 200, response.text

    def checksum(self, disk_id: str) -> str:
        return self.admin.get('/sim/v1/%s/volumes/%s/checksum'
                              % (self.project_id, disk_id)).json()['digest']

    def stored_objects(self, vault_id: str) -> list[str]:
        """The chunk store's objects of a vault (the stack's local chunk folder)."""
        root = self.stack.root / 'state' / 'chunks' / vault_id
        return sorted(str(path) for path in root.rglob('*') if path.is_file())

    def wait_freed(self, vault_id: str, timeout: float = 30.0) -> None:
        """Wait until the chunk store holds no object of the vault (freed after the
        deleting job's commit)."""
        poll(lambda: self.stored_objects(vault_id), lambda objects: objects == [], timeout,
             'the blocks of vault %s were not freed' % vault_id)

    # -- CBR -----------------------------------------------------------------------------
    def vault(self, object_type: str = 'disk', size: int = 100, resources: list[str] = (),
              **extra: Any) -> dict:
        body = {'vault': {'name': extra.pop('name', 'vault-test'),
                          'billing': {'consistent_level': 'crash_consistent',
                                      'object_type': object_type, 'protect_type': 'backup',
                                      'size': size},
                          'resources': [{'id': r, 'type': TYPES[object_type]}
                                        for r in resources], **extra}}
        return self.call('POST', 'vaults', json=body)['vault']

    def checkpoint(self, vault_id: str, resources: list[str] | None = None,
                   **parameters: Any) -> dict:
        if resources is not None:
            parameters['resources'] = resources
        return self.call('POST', 'checkpoints', json={'checkpoint': {
            'vault_id': vault_id, 'parameters': parameters}})['checkpoint']

    def backups_of(self, checkpoint_id: str) -> list[dict]:
        return self.call('GET', 'backups', params={'checkpoint_id': checkpoint_id})['backups']

    def backup(self, vault_id: str, resource: str, **parameters: Any) -> dict:
        """Back up one resource and wait until its backup is ``available``."""
        checkpoint = self.checkpoint(vault_id, [resource], **parameters)
        backups = poll(lambda: self.backups_of(checkpoint['id']),
                       lambda found: len(found) == 1 and found[0]['status'] != 'protecting',
                       60, 'backup of %s did not finish' % resource)
        assert backups[0]['status'] == 'available', backups[0]
        return backups[0]

    def wait_backup(self, backup_id: str, statuses: tuple[str, ...] = ('available', 'error'),
                    timeout: float = 60.0) -> dict:
        return poll(lambda: self.call('GET', 'backups/%s' % backup_id)['backup'],
                    lambda backup: backup['status'] in statuses, timeout,
                    'backup %s did not reach %s' % (backup_id, statuses))

    def restore_disk(self, backup_id: str, disk_id: str) -> None:
        """Restore a disk backup onto its disk and wait until the disk is back."""
        self.call('POST', 'backups/%s/restore' % backup_id, expect=202,
                  json={'restore': {'volume_id': disk_id}})
        self.wait_backup(backup_id, ('available',))
        poll(lambda: self.disk_status(disk_id), lambda status: status == 'available', 60,
             'disk %s did not come back' % disk_id)

    def wait_gone(self, suffix: str, timeout: float = 60.0) -> None:
        poll(lambda: self.response('GET', suffix).status_code, lambda status: status == 404,
             timeout, '%s was not deleted' % suffix)

    def tasks(self, **filters: Any) -> list[dict]:
        return self.call('GET', 'operation-logs', params=filters)['operation_logs']

    def wait_task(self, task_id: str, timeout: float = 60.0) -> dict:
        return poll(lambda: self.call('GET', 'operation-logs/%s' % task_id)['operation_log'],
                    lambda task: task['status'] in ('success', 'failed'), timeout,
                    'task %s did not finish' % task_id)

    def policy(self, name: str = 'daily', **definition: Any) -> dict:
        return self.call('POST', 'policies', json={'policy': {
            'name': name, 'operation_type': 'backup',
            'operation_definition': definition or {'max_backups': 10},
            'trigger': {'properties': {'pattern': [
                'FREQ=DAILY;INTERVAL=1;BYHOUR=3;BYMINUTE=00']}}}})['policy']
