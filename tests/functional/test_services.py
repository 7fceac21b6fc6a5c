"""Service-level behaviour: scheduler leadership, and housekeeping with cbr-manage purge."""
from __future__ import annotations

import json
from pathlib import Path

from cbr_common.dataplane.volume_store import VolumeStore
from tests.support.client import poll


def _schedulers(stack) -> list[dict]:
    return stack.admin().get('/sim/v1/health').json()['scheduler']


def test_a_standby_scheduler_takes_over_when_the_leader_dies(fresh_stack_factory):
    stack = fresh_stack_factory()
    stack.start('scheduler-2', 'cbr-scheduler')
    alive = poll(lambda: [s for s in _schedulers(stack) if s['alive']],
                 lambda found: len(found) == 2, 20, 'second scheduler did not report')
    assert sum(s['leader'] for s in alive) == 1
    leader_pid = next(s['pid'] for s in alive if s['leader'])
    name = next(n for n, p in stack.processes.items() if p.pid == leader_pid)

    stack.kill(name)
    lease = 3
    new = poll(lambda: [s for s in _schedulers(stack) if s['leader']],
               lambda found: len(found) == 1 and found[0]['pid'] != leader_pid,
               lease * 5, 'the standby did not take the lead')
    assert new[0]['alive']
    # the new leader does the leader's work: an unsent job is still dispatched
    client = stack.client()
    body = client.post('/v2.1/%s/cloudvolumes' % client.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10}}).json()
    assert client.wait_job(body['job_id'])['status'] == 'SUCCESS'


def test_purge_drops_old_finished_jobs_and_orphan_disk_files(fresh_stack_factory):
    stack = fresh_stack_factory()
    client, admin = stack.client(), stack.admin()
    body = client.post('/v2.1/%s/cloudvolumes' % client.project_id, json={
        'volume': {'availability_zone': 'sim-az-1', 'volume_type': 'SSD', 'size': 10}}).json()
    client.wait_job(body['job_id'])
    volumes = Path(stack.root, 'state', 'volumes')
    # what a crash between a delete's commit and the file removal leaves behind
    VolumeStore(str(volumes), 65536).create('orphan-device', 1024 ** 3)

    kept = json.loads(stack.manage('purge'))
    assert kept['operations'] == 0 and kept['orphan_devices'] == 1
    assert not list(volumes.glob('orphan-device*'))
    assert client.get('/v1/%s/jobs/%s' % (client.project_id, body['job_id'])).status_code == 200

    admin.post('/sim/v1/clock', json={'action': 'advance', 'seconds': 31 * 86400})
    purged = json.loads(stack.manage('purge'))
    assert purged['orphan_devices'] == 0
    # purge or, as likely, the scheduler's own pruning (rule T1) has dropped the job
    assert client.get('/v1/%s/jobs/%s' % (client.project_id, body['job_id'])).status_code == 404
    # the disk itself is untouched
    shown = client.get('/v2/%s/cloudvolumes/%s' % (client.project_id, body['volume_ids'][0]))
    assert shown.json()['volume']['status'] == 'available'
