"""How the outbox groups waiting operations into task messages."""
from __future__ import annotations

from collections import namedtuple

from cbr_common import config
from cbr_common.contracts import tasks
from cbr_common.operations import outbox

Waiting = namedtuple('Waiting', 'id job_type project_id dispatch_count parent_id')


def _op(number: int, job_type: str, project: str = 'p1', parent: str | None = None,
        sent: int = 0) -> Waiting:
    return Waiting('%032x' % number, job_type, project, sent, parent)


def test_batched_job_types_go_out_together_per_project_up_to_the_batch_size():
    waiting = [_op(1, 'backupDevice'), _op(2, 'backupDevice', sent=2), _op(3, 'createVolume'),
               _op(4, 'backupDevice', project='p2'), _op(5, 'backupDevice'),
               _op(6, 'backupDevice', parent='%032x' % 99), _op(7, 'deleteBackup'),
               _op(8, 'backupDevice'), _op(9, 'createVolume')]
    config.CONF.set_override('batch_size', 3, group='worker')
    try:
        messages = list(outbox._messages(waiting))
    finally:
        config.CONF.clear_override('batch_size', group='worker')
    assert [[int(op, 16) for op in m.operation_ids] for m in messages] == \
        [[1, 2, 5], [8], [3], [4], [6], [7], [9]]
    assert [m.dispatch for m in messages] == [1, 1, 1, 1, 1, 1, 1]
    assert messages[3].project_id == 'p2'
    # a group's disk (parent 99) runs alone, so a server's disks move in parallel
    assert messages[4].batch == ()
    assert all(tasks.parse(m.to_wire()) == m for m in messages)


def test_a_batch_size_of_one_sends_every_operation_alone():
    config.CONF.set_override('batch_size', 1, group='worker')
    try:
        messages = list(outbox._messages([_op(n, 'backupDevice') for n in range(1, 5)]))
    finally:
        config.CONF.clear_override('batch_size', group='worker')
    assert [m.batch for m in messages] == [()] * 4
