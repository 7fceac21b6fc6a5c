"""Task history keeps 30 days of domain time (rule T1)."""
from __future__ import annotations

from tests.support.cbr import Cbr
from tests.support.client import poll

DAY = 86400


def test_tasks_older_than_30_days_are_pruned_and_newer_ones_kept(fresh_stack_factory):
    # rule: T1
    stack = fresh_stack_factory()
    cbr, admin = Cbr(stack), stack.admin()

    def advance(seconds: float) -> None:
        assert admin.post('/sim/v1/clock', json={'action': 'advance',
                                                 'seconds': seconds}).status_code == 200

    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 20, [disk])
    cbr.backup(vault['id'], disk)
    old = {task['id'] for task in cbr.tasks(vault_id=vault['id'])}
    assert len(old) == 1
    advance(2 * DAY)
    cbr.backup(vault['id'], disk)
    now = admin.get('/sim/v1/clock').json()['now']
    recent_tasks = [task for task in cbr.tasks(vault_id=vault['id']) if task['id'] not in old]
    recent = {task['id'] for task in recent_tasks}
    assert len(recent) == 1
    # work started right after a clock change carries the new time
    assert recent_tasks[0]['ended_at'][:19] == now[:19]

    advance(29 * DAY + 3600)  # the first ended 31 days ago, the second 29
    poll(lambda: {task['id'] for task in cbr.tasks(vault_id=vault['id'])},
         lambda tasks: tasks == recent, 30, 'the 31-day-old task was not pruned')
    old_id, = old
    assert cbr.response('GET', 'operation-logs/%s' % old_id).status_code == 404
    assert len(cbr.call('GET', 'backups', params={'vault_id': vault['id']})['backups']) == 2
