"""VBS v2 backup policies through otcextensions ``conn.volume_backup``, unmodified, after a
Keystone password login against the stack's identity endpoint.

``find_backup_policy`` and ``get_job`` are broken in otcextensions 0.34.8 (reference §2.6)
and are not used.  ``tasks()`` is broken too with openstacksdk 4.x: the proxy passes
``base_path`` to ``BackupTask.list``, whose query check refuses it
(``InvalidResourceQuery: base_path``) before anything is sent; the task list is read with
the SDK's own ``BackupTask.list`` on the proxy, as ``tasks()`` means to."""
from __future__ import annotations

import openstack
import pytest
from otcextensions import sdk
from otcextensions.sdk.volume_backup.v2.backup_task import BackupTask

from tests.support.cbr import Cbr
from tests.support.client import poll


@pytest.fixture
def conn(stack) -> openstack.connection.Connection:
    entry, domain = stack.project('demo'), stack.credentials['domain']
    connection = openstack.connect(
        auth_url=stack.credentials['identity_url'], username=entry['user'],
        password=entry['password'], project_name=entry['name'], user_domain_name=domain,
        project_domain_name=domain, region_name=stack.credentials['region'],
        load_yaml_config=False, load_envvars=False)
    sdk.register_otc_extensions(connection)
    return connection


def _listed(conn, policy_id: str):
    found = [policy for policy in conn.volume_backup.backup_policies() if policy.id == policy_id]
    return found[0] if found else None


def _tasks(conn, policy_id: str, **query) -> list[BackupTask]:
    return list(BackupTask.list(conn.volume_backup, policy_id=policy_id, **query))


def test_a_policy_life_through_otcextensions(conn, stack):
    # rule: P1, P3, P15, D1, D4
    disk = Cbr(stack).disk(10)
    missing = '22222222-2222-2222-2222-222222222222'
    backups = conn.volume_backup
    policy = backups.create_backup_policy(name='sdk-policy', scheduled_policy={
        'start_time': '12:00', 'frequency': 1, 'rentention_num': 3,
        'remain_first_backup_of_curMonth': True, 'status': 'ON'})
    assert policy.id
    shown = _listed(conn, policy.id)
    assert (shown.name, shown.policy_resource_count) == ('sdk-policy', 0)
    scheduled = shown.scheduled_policy
    assert (scheduled.start_time, scheduled.frequency, scheduled.rentention_num,
            scheduled.remain_first_backup_of_curMonth, scheduled.status) == \
        ('12:00', 1, 3, 'Y', 'ON')
    assert any(p.name == 'defaultPolicy' for p in backups.backup_policies())

    backups.update_backup_policy(policy, name='sdk-renamed', scheduled_policy={
        'rentention_num': 5, 'remain_first_backup_of_curMonth': False})
    backups.disable_policy(policy)
    shown = _listed(conn, policy.id)
    assert (shown.name, shown.scheduled_policy.rentention_num, shown.scheduled_policy.status,
            shown.scheduled_policy.remain_first_backup_of_curMonth) == \
        ('sdk-renamed', 5, 'OFF', 'N')
    backups.enable_policy(policy)
    assert _listed(conn, policy.id).scheduled_policy.status == 'ON'

    linked = backups.link_resources_to_policy(policy, [disk, missing])
    assert [entry.resource_id for entry in linked.success_resources] == [disk]
    failed, = linked.fail_resources
    assert (failed.resource_id, failed.code) == (missing, 'AutoBackup.1400')
    assert _listed(conn, policy.id).policy_resource_count == 1

    backups.execute_policy(policy)
    task, = poll(lambda: _tasks(conn, policy.id), lambda found: len(found) == 1
                 and found[0].status == 'EXECUTE_SUCCESS', 60, 'the policy run did not end')
    assert (task.resource_id, task.resource_type) == (disk, 'volume')
    assert task.backup_name.startswith('autobk_') and task.created_at and task.finished_at
    assert [t.id for t in _tasks(conn, policy.id, id=task.id, status='EXECUTE_SUCCESS',
                                 sort_dir='asc', limit=5, offset=0)] == [task.id]

    unlinked = backups.unlink_resources_of_policy(policy, [disk])
    assert [entry.resource_id for entry in unlinked.success_resources] == [disk]
    assert unlinked.fail_resources == []
    backups.delete_backup_policy(policy)
    assert _listed(conn, policy.id) is None
