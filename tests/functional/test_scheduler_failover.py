"""Policy runs fire exactly once while schedulers are killed (rules P3, B2).

Two schedulers run against 200 vaults under 25 daily policies (a project has at most 32,
rule P1) while the clock runs a day a second for 30 days. The leader is killed after a
random number of runs, again and again, and restarted as a standby; the API's own
clock changes fire runs too. Afterwards every (policy, vault, instant) the patterns give
has fired once, with one checkpoint, and nothing else has.
"""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from dateutil.rrule import DAILY, rrule
from sqlalchemy import create_engine, select, text

from tests.support.cbr import Cbr
from tests.support.client import poll

VAULTS = 200
POLICIES = 25
DAYS = 30
DAY = 86400


def _leader(stack) -> str | None:
    """The process name of the leading scheduler, if one leads."""
    report = stack.admin().get('/sim/v1/health').json()
    pids = {entry['pid'] for entry in report['scheduler'] if entry.get('leader')}
    return next((name for name, process in stack.processes.items()
                 if name.startswith('scheduler') and process.pid in pids), None)


def _utc(text_value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_value.replace('Z', '+00:00'))


def test_every_run_fires_exactly_once_while_leaders_are_killed(fresh_stack_factory):
    # rule: P3, B2
    stack = fresh_stack_factory()
    stack.start('scheduler-2', 'cbr-scheduler')
    cbr, admin = Cbr(stack), stack.admin()
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    start = _utc(admin.get('/sim/v1/clock').json()['now'])
    rng = random.Random(20261201)
    hours, vault_hours = {}, {}
    for index in range(POLICIES):
        hour = rng.randrange(24)
        policy = cbr.call('POST', 'policies', json={'policy': {
            'name': 'p%02d' % index, 'operation_type': 'backup',
            'operation_definition': {'max_backups': 10},
            'trigger': {'properties': {'pattern': [
                'FREQ=DAILY;INTERVAL=1;BYHOUR=%d;BYMINUTE=00' % hour]}}}})['policy']
        hours[policy['id']] = hour
    policy_ids = sorted(hours)
    for index in range(VAULTS):
        policy_id = policy_ids[index % POLICIES]
        vault = cbr.vault('disk', 10, [], name='v%03d' % index, backup_policy_id=policy_id)
        vault_hours[vault['id']] = (policy_id, hours[policy_id])

    engine = create_engine(stack.database.url)

    def fired() -> int:
        with engine.connect() as connection:
            return connection.execute(text('SELECT count(*) FROM policy_runs')).scalar_one()

    assert admin.post('/sim/v1/clock', json={'action': 'speed', 'speed': DAY}).status_code == 200
    kills = 0
    while _utc(admin.get('/sim/v1/clock').json()['now']) < start + dt.timedelta(days=DAYS):
        leader = poll(lambda: _leader(stack), lambda name: name is not None, 30,
                      'no scheduler took the lead')
        target = fired() + rng.randrange(100, 800)
        poll(fired, lambda count: count >= target, 60, 'runs stopped firing')
        stack.kill(leader)
        kills += 1
        stack.start(leader, 'cbr-scheduler')
    assert admin.post('/sim/v1/clock', json={'action': 'freeze'}).status_code == 200
    end = _utc(admin.get('/sim/v1/clock').json()['now'])

    expected = Counter()
    for vault_id, (policy_id, hour) in vault_hours.items():
        first = start.replace(hour=hour, minute=0, second=0, microsecond=0)
        for instant in rrule(DAILY, dtstart=first, until=end):
            if start < instant <= end:
                expected[(policy_id, vault_id, instant.replace(tzinfo=None))] += 1
    total = sum(expected.values())
    assert total >= VAULTS * (DAYS - 1) and kills >= 3
    poll(fired, lambda count: count >= total, 120, 'the schedulers did not catch up')

    runs = models_runs(engine)
    assert Counter(key for key, _ in runs) == expected  # none missed, none twice
    checkpoints = [checkpoint for _, checkpoint in runs]
    assert None not in checkpoints and len(set(checkpoints)) == len(checkpoints)
    with engine.connect() as connection:
        made = connection.execute(text(
            'SELECT count(*) FROM checkpoints WHERE id IN (SELECT checkpoint_id FROM policy_runs)'
        )).scalar_one()
        every = connection.execute(text('SELECT count(*) FROM checkpoints')).scalar_one()
    assert made == every == total
    engine.dispose()


def models_runs(engine) -> list[tuple[tuple[str, str, dt.datetime], str | None]]:
    """Every policy run: its (policy, vault, instant) and its checkpoint."""
    from cbr_common.db import models

    with engine.connect() as connection:
        rows = connection.execute(select(models.PolicyRun.policy_id, models.PolicyRun.vault_id,
                                         models.PolicyRun.scheduled_at,
                                         models.PolicyRun.checkpoint_id)).all()
    return [((policy_id, vault_id, _naive(instant)), checkpoint)
            for policy_id, vault_id, instant, checkpoint in rows]


def _naive(instant: dt.datetime) -> dt.datetime:
    return instant.replace(tzinfo=None) if instant.tzinfo else instant
