"""A VBS v2 driver for functional tests: ``cloudbackups`` calls and their jobs, and the
Cinder-native backup API under ``/v2`` or ``/block-storage/v3``; disks and their bytes
come from :class:`tests.support.cbr.Cbr`."""
from __future__ import annotations

from typing import Any

from tests.support.cbr import Cbr
from tests.support.client import poll
from tests.support.stack import Stack

V2, V3 = '/v2', '/block-storage/v3'


class Vbs:
    """One project's view of a stack's VBS v2 API."""

    def __init__(self, stack: Stack, project: str = 'demo') -> None:
        self.cbr = Cbr(stack, project)
        self.client = self.cbr.client
        self.project_id = self.client.project_id

    def call(self, method: str, suffix: str, expect: int = 200, root: str = V2,
             **kwargs: Any) -> dict:
        """``method`` on ``{root}/{project_id}/{suffix}``; its JSON body ({} if none)."""
        response = self.client.request(method, '%s/%s/%s' % (root, self.project_id, suffix),
                                       **kwargs)
        assert response.status_code == expect, (response.status_code, response.text)
        return response.json() if response.content else {}

    def error(self, method: str, suffix: str, status: int, **kwargs: Any) -> dict:
        """The VBS-native error body (``{"error": {"code", "message"}}``) of a failing call."""
        body = self.call(method, suffix, expect=status, **kwargs)
        assert set(body) == {'error'} and body['error']['code'].startswith('VolumeBackup.'), body
        return body['error']

    # -- cloudbackups and jobs -----------------------------------------------------------
    def create(self, volume_id: str, name: str = 'manual', **fields: Any) -> str:
        """Ask for a backup of the disk; the job id."""
        return self.call('POST', 'cloudbackups', json={'backup': {
            'volume_id': volume_id, 'name': name, **fields}})['job_id']

    def job(self, job_id: str, timeout: float = 60.0) -> dict:
        """The job once it has ended."""
        return self.client.wait_job(job_id, timeout=timeout)

    def backup(self, volume_id: str, name: str = 'manual', **fields: Any) -> dict:
        """Back up the disk, wait for the job's success; the backup's detail."""
        job = self.job(self.create(volume_id, name, **fields))
        assert job['status'] == 'SUCCESS', job
        return self.show(job['entities']['backup_id'])

    def restore(self, backup_id: str, volume_id: str) -> dict:
        """Restore through ``cloudbackups``; the ended job."""
        return self.job(self.call('POST', 'cloudbackups/%s/restore' % backup_id,
                                  json={'restore': {'volume_id': volume_id}})['job_id'])

    # -- Cinder-native -------------------------------------------------------------------
    def show(self, backup_id: str, root: str = V2) -> dict:
        return self.call('GET', 'backups/%s' % backup_id, root=root)['backup']

    def details(self, root: str = V2, **params: Any) -> list[dict]:
        return self.call('GET', 'backups/detail', root=root, params=params)['backups']

    def wait_status(self, backup_id: str, status: str, root: str = V2) -> dict:
        return poll(lambda: self.show(backup_id, root), lambda b: b['status'] == status, 60,
                    'backup %s did not become %s' % (backup_id, status))

    def wait_gone(self, backup_id: str) -> None:
        poll(lambda: self.client.get('%s/%s/backups/%s' % (V2, self.project_id, backup_id)
                                     ).status_code,
             lambda status: status == 404, 60, 'backup %s was not deleted' % backup_id)
