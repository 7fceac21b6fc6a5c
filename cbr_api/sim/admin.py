"""Simulator administration (admin role only): reset, the shared clock, waiting for the
queue to be idle, health, faults."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, ConfigDict, Field

from cbr_api import errors
from cbr_api.validation import parse_body
from cbr_common import clock, faults, seed, services
from cbr_common.config import CONF
from cbr_common.errors import InvalidInput
from cbr_common.operations import activity
from cbr_common.policies.due import DueWork, run_due

MAX_IDLE_WAIT = 300  # seconds one wait-idle call may hold a server thread
MOVES = frozenset({'advance', 'set'})  # the changes that move the clock: they fire runs
blueprint = Blueprint('sim_admin', __name__)
errors.use_style(blueprint, 'sim')


def _clock_view(state: clock.ClockState | None = None) -> dict:
    state = state or clock.CLOCK.state()
    instant = dt.datetime.fromtimestamp(state.sim_seconds(clock.real_time()), clock.UTC)
    return {'now': instant.isoformat().replace('+00:00', 'Z'), 'mode': state.mode,
            'speed': state.speed, 'job_durations': state.job_durations}


class ClockChange(BaseModel):
    """Body of ``POST /sim/v1/clock``."""

    model_config = ConfigDict(extra='forbid')
    action: Literal['freeze', 'resume', 'speed', 'advance', 'set', 'durations']
    speed: float | None = Field(default=None, ge=0, le=1_000_000)
    seconds: float | None = Field(default=None, ge=0)
    to: dt.datetime | None = None
    job_durations: Literal[clock.JOB_DURATION_MODELS] | None = None  # type: ignore[valid-type]


@blueprint.get('/sim/v1/clock')
def show_clock():
    return jsonify(_clock_view())


@blueprint.post('/sim/v1/clock')
def change_clock():
    change = parse_body(ClockChange)
    needs = {'speed': 'speed', 'advance': 'seconds', 'set': 'to',
             'durations': 'job_durations'}.get(change.action)
    if needs and getattr(change, needs) is None:
        raise InvalidInput('%s is required for action %s' % (needs, change.action), field=needs)
    try:
        state = {
            'freeze': lambda: clock.CLOCK.freeze(),
            'resume': lambda: clock.CLOCK.resume(),
            'speed': lambda: clock.CLOCK.set_speed(change.speed),
            'advance': lambda: clock.CLOCK.advance(change.seconds),
            'set': lambda: clock.CLOCK.set_to(change.to),
            'durations': lambda: clock.CLOCK.set_job_durations(change.job_durations),
        }[change.action]()
    except clock.ClockError as exc:
        raise InvalidInput(str(exc), field=needs or 'action') from exc
    clock.CLOCK.wait_until_shared()  # every process now reads the new time
    due = DueWork()
    if change.action in MOVES:  # returns once every run due by the new time has fired
        due = run_due(CONF.scheduler.catch_up_wait)
    return jsonify({**_clock_view(state), 'fired': {'policy_runs': due.runs,
                                                    'expired_backups': due.expired,
                                                    'vaults_deferred': due.deferred}})


class IdleWait(BaseModel):
    """Body of ``POST /sim/v1/wait-idle``."""

    model_config = ConfigDict(extra='forbid')
    timeout: float = Field(default=30, ge=0, le=MAX_IDLE_WAIT)


@blueprint.post('/sim/v1/wait-idle')
def wait_idle():
    """Wait until every operation has ended (200), or say how many have not (409)."""
    busy = activity.wait_idle(parse_body(IdleWait).timeout)
    return jsonify({'idle': busy == 0, 'busy_operations': busy}), 409 if busy else 200


@blueprint.get('/sim/v1/health')
def health():
    report = services.health()
    return jsonify(report), 200 if report['healthy'] else 503


@blueprint.post('/sim/v1/reset')
def reset():
    seed.reset()
    return jsonify({'reset': True, 'clock': _clock_view()})


class FaultBody(BaseModel):
    """Body of ``POST /sim/v1/faults``."""

    model_config = ConfigDict(extra='forbid')
    point: str = Field(min_length=1, max_length=64)
    action: Literal['delay', 'fail']
    seconds: float = Field(default=0.0, ge=0, le=3600)
    times: int = Field(default=1, ge=1, le=1000)


@blueprint.get('/sim/v1/faults')
def list_faults():
    return jsonify({'faults': faults.listing()})


@blueprint.post('/sim/v1/faults')
def add_fault():
    body = parse_body(FaultBody)
    faults.add(body.point, body.action, seconds=body.seconds, times=body.times)
    return jsonify({'faults': faults.listing()}), 201


@blueprint.delete('/sim/v1/faults')
def clear_faults():
    faults.clear()
    return '', 204
