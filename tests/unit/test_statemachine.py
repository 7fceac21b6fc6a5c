"""The state machine allows only listed transitions and records each one."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from cbr_common import statemachine
from cbr_common.db import models
from cbr_common.errors import WrongState
from cbr_common.operations import FINAL_STATES, UNFINISHED_STATES
from cbr_common.statemachine import TRANSITIONS


class RecordingSession:
    def __init__(self) -> None:
        self.added: list = []

    def add(self, row) -> None:
        self.added.append(row)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    import datetime as dt

    from cbr_common import clock

    monkeypatch.setattr(clock, 'now', lambda: dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))


def test_an_allowed_transition_sets_status_and_writes_an_audit_row():
    session = RecordingSession()
    volume = SimpleNamespace(id='v1', status='available', updated_at=None)
    statemachine.transition(session, volume, 'attaching', entity_type='volume',
                            reason='attach', operation_id='op')
    assert volume.status == 'attaching' and volume.updated_at is not None
    [event] = session.added
    assert isinstance(event, models.StatusEvent)
    assert (event.entity_id, event.from_status, event.to_status, event.operation_id) == (
        'v1', 'available', 'attaching', 'op')


@pytest.mark.parametrize('entity_type, current, new', [
    ('volume', 'in-use', 'attaching'), ('volume', 'creating', 'deleting'),
    ('server', 'BUILD', 'SHUTOFF'), ('operation', 'SUCCESS', 'RUNNING'),
    ('operation', 'FAIL', 'INIT'), ('share', '100', 'deleted'),
])
def test_a_refused_transition_changes_nothing(entity_type, current, new):
    session = RecordingSession()
    entity = SimpleNamespace(id='x', status=current)
    with pytest.raises(WrongState):
        statemachine.transition(session, entity, new, entity_type=entity_type)
    assert entity.status == current and session.added == []


def test_every_target_is_itself_a_known_state():
    for entity_type, table in statemachine.TRANSITIONS.items():
        finals = {'deleted', 'DELETED'}
        for targets in table.values():
            assert targets <= set(table) | finals, entity_type


def test_every_operation_status_is_either_final_or_unfinished():
    statuses = {state for state, targets in TRANSITIONS['operation'].items()
                if state is not None} | set().union(*TRANSITIONS['operation'].values())
    assert set(FINAL_STATES).isdisjoint(UNFINISHED_STATES)
    assert statuses == set(FINAL_STATES) | set(UNFINISHED_STATES)
    assert all(not TRANSITIONS['operation'][state] for state in FINAL_STATES)
