"""The state machines of every stateful entity, and the one function that changes state.

```transition`` checks the change against the entity's table, sets the new status and
writes a :class:`StatusEvent` audit row in the caller's transaction, so a state change
and its trace commit together or not at all.  No other code assigns ``status``.
Deletion is a transition too (to ``deleted``/``DELETED``), made just before the row goes.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cbr_common import clock
from cbr_common.db import models
from cbr_common.errors import WrongState

# entity type -> {from status -> allowed next statuses}
TRANSITIONS: dict[str, dict[str | None, frozenset[str]]] = {
    'volume': {
        None: frozenset({'creating', 'available', 'in-use'}),
        'creating': frozenset({'available', 'in-use', 'error'}),
        'available': frozenset({'attaching', 'in-use', 'deleting', 'deleted',
                                'restoring-backup'}),
        'restoring-backup': frozenset({'available', 'in-use', 'error_restoring'}),
        'error_restoring': frozenset({'available', 'deleting', 'deleted'}),
        'attaching': frozenset({'in-use', 'available', 'error'}),
        'in-use': frozenset({'detaching', 'available', 'deleting', 'deleted',
                             'restoring-backup'}),
        'detaching': frozenset({'available', 'in-use', 'error'}),
        'deleting': frozenset({'error_deleting', 'deleted'}),
        'error': frozenset({'deleting', 'deleted'}),
        'error_deleting': frozenset({'deleting'}),
    },
    'server': {
        None: frozenset({'BUILD', 'ACTIVE'}),
        'BUILD': frozenset({'ACTIVE', 'ERROR'}),
        'ACTIVE': frozenset({'SHUTOFF', 'ERROR', 'DELETED'}),
        'SHUTOFF': frozenset({'ACTIVE', 'ERROR', 'DELETED'}),
        'ERROR': frozenset({'DELETED'}),
    },
    'share': {
        None: frozenset({'100', '200'}),
        '100': frozenset({'200', '303'}),
        '200': frozenset({'deleted'}),
        '303': frozenset({'deleted'}),
    },
    'vault': {
        None: frozenset({'available'}),
        'available': frozenset({'deleting'}),
        'deleting': frozenset({'deleted', 'error'}),
        'error': frozenset({'deleting'}),
    },
    'backup': {
        None: frozenset({'protecting'}),
        'protecting': frozenset({'available', 'error'}),
        'available': frozenset({'restoring', 'deleting', 'error'}),
        'restoring': frozenset({'available'}),
        'deleting': frozenset({'deleted', 'error'}),
        'error': frozenset({'deleting'}),
    },
    'image': {
        None: frozenset({'queued'}),
        'queued': frozenset({'active', 'killed'}),
        'active': frozenset({'deleted'}),
        'killed': frozenset({'deleted'}),
    },
    'member': {
        None: frozenset({'pending'}),
        'pending': frozenset({'accepted', 'rejected', 'deleted'}),
        'accepted': frozenset({'rejected', 'deleted'}),
        'rejected': frozenset({'accepted', 'deleted'}),
    },
    'operation': {
        None: frozenset({'INIT', 'SKIPPED'}),
        'INIT': frozenset({'RUNNING', 'FAIL'}),
        'RUNNING': frozenset({'SUCCESS', 'FAIL', 'INIT'}),
        'SUCCESS': frozenset(),
        'FAIL': frozenset(),
        'SKIPPED': frozenset(),
    },
}


def can_transition(entity_type: str, current: str | None, new: str) -> bool:
    return new in TRANSITIONS[entity_type].get(current, frozenset())


def transition(session: Session, entity: Any, new_status: str, *, entity_type: str,
               reason: str | None = None, operation_id: str | None = None) -> None:
    """Move ``entity`` to ``new_status`` and record it, or raise :class:`WrongState`."""
    current = getattr(entity, 'status', None)
    if not can_transition(entity_type, current, new_status):
        raise WrongState('%s %s cannot go from %s to %s' % (
            entity_type, entity.id, current, new_status), field='status')
    entity.status = new_status
    if hasattr(entity, 'updated_at'):
        entity.updated_at = clock.now()
    session.add(models.StatusEvent(entity_type=entity_type, entity_id=entity.id,
                                   from_status=current, to_status=new_status, reason=reason,
                                   operation_id=operation_id, at=clock.now()))
