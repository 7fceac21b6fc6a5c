"""Crashing a stack's workers in the middle of a job, and checking what it leaves behind.

A job is held at a fault point (a long delay), the workers are killed with SIGKILL once
it is held there, and a new worker may be started; afterwards the scheduler's sweep must
leave the chunk index, the manifests and the store agreeing (``cbr-manage chunks audit``).
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support.client import poll
from tests.support.stack import Stack

FAST_GC = {'gc_interval': 1}
HOLD = {'action': 'delay', 'seconds': 600}


def settings(chunk_store: dict[str, Any] | None = None, **worker: Any) -> dict[str, dict]:
    """Stack settings for crash tests: a short lease, a fast sweep, ``[worker]`` extras."""
    return {'chunk_store': chunk_store or dict(FAST_GC),
            'worker': {'lease_seconds': 3, **worker}}


def hold(stack: Stack, point: str) -> None:
    """Make the next job that reaches ``point`` wait there (long enough to be killed)."""
    response = stack.admin().post('/sim/v1/faults', json={'point': point, **HOLD})
    assert response.status_code == 201, response.text


def kill_workers_when_held(stack: Stack) -> None:
    """Once every fault has been reached, SIGKILL every worker of the stack."""
    poll(lambda: stack.admin().get('/sim/v1/faults').json()['faults'],
         lambda faults: all(f['remaining'] == 0 for f in faults), 30, 'fault not reached')
    for name in [name for name in stack.processes if name.startswith('worker')]:
        stack.kill(name)


def start_worker(stack: Stack) -> None:
    stack.start('worker-%s' % uuid.uuid4().hex[:6], 'cbr-worker')


def clean_after_sweep(stack: Stack) -> dict[str, Any]:
    """The chunk audit once the sweep has left nothing over (the report)."""
    return poll(lambda: json.loads(stack.manage('chunks', 'audit')), lambda r: r['clean'], 30,
                'the store did not become clean')
