"""``cbr-manage``: database migrations, seeding, housekeeping and health checks."""
from __future__ import annotations

import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from cbr_common import config

console = Console(stderr=True)


@click.group()
@click.option('--config-file', type=click.Path(dir_okay=False), default=None,
              help='Configuration file (default: $CBR_CONFIG_FILE or etc/cbr/cbr.conf).')
def main(config_file: str | None) -> None:
    """Administer a cbr-sim installation."""
    config.load([], config_file=config_file)


@main.group()
def db() -> None:
    """Schema migrations."""


@db.command('sync')
def db_sync() -> None:
    """Upgrade the database schema to the newest version."""
    from cbr_common.db import migrate

    migrate.sync()
    click.echo(migrate.current_version())


@db.command('version')
def db_version() -> None:
    """Print the schema version of the database."""
    from cbr_common.db import migrate

    click.echo(migrate.current_version() or 'none')


@main.command()
@click.option('--days', default=30, show_default=True, type=click.IntRange(min=0),
              help='Keep finished jobs for this many days of domain time.')
def purge(days: int) -> None:
    """Drop old jobs, stale heartbeats and disk files no resource owns."""
    from cbr_common.purge import purge as run_purge

    click.echo(json.dumps(run_purge(days)))


@main.command()
@click.option('--credentials-out', type=click.Path(dir_okay=False), default=None,
              help='Write the credentials document (JSON) here.')
@click.option('--openrc-out', type=click.Path(dir_okay=False), default=None,
              help='Write shell exports of the same credentials here.')
def seed(credentials_out: str | None, openrc_out: str | None) -> None:
    """Create the seeded projects, users, keys and inventory that are missing."""
    from cbr_common.seed import seed as run_seed

    document = run_seed()
    if credentials_out:
        _write_private(credentials_out, json.dumps(document, indent=2) + '\n')
    if openrc_out:
        _write_private(openrc_out, openrc(document))
    if not (credentials_out or openrc_out):
        click.echo(json.dumps(document, indent=2))


@main.command()
def reset() -> None:
    """Wipe every resource and job and seed again (like POST /sim/v1/reset)."""
    from cbr_common.seed import reset as run_reset

    run_reset()


@main.command()
@click.option('--wait', 'wait_seconds', default=0.0, type=click.FloatRange(min=0),
              help='Keep checking for up to this many seconds.')
def health(wait_seconds: float) -> None:
    """Exit 0 when the api, a scheduler, a worker, the broker and the database are alive."""
    from cbr_common import clock, services

    deadline = clock.monotonic() + wait_seconds
    while True:
        report = services.health()
        if report['healthy'] or clock.monotonic() >= deadline:
            break
        time.sleep(0.5)
    missing = [kind for kind in ('api', 'scheduler', 'worker')
               if not any(entry['alive'] for entry in report[kind])]
    missing += [part for part in ('broker', 'database') if not report[part]['alive']]
    if missing:
        console.print('[red]not healthy:[/red] %s' % ', '.join(missing))
        sys.exit(1)
    console.print('[green]healthy[/green]')


@main.group()
def chunks() -> None:
    """Backup chunks: garbage collection and a consistency audit."""


@chunks.command('gc')
def chunks_gc() -> None:
    """Free unreferenced chunks and objects crashed jobs left (what the scheduler runs)."""
    from cbr_common.dataplane import gc

    click.echo(json.dumps(dataclasses.asdict(gc.sweep())))


@chunks.command('audit')
def chunks_audit() -> None:
    """Compare reference counts with manifests and the store; exit 1 when inconsistent."""
    from cbr_common.dataplane.audit import audit

    report = audit()
    click.echo(json.dumps({**dataclasses.asdict(report), 'consistent': report.consistent,
                           'clean': report.clean}))
    if not report.consistent:
        sys.exit(1)


def openrc(document: dict[str, Any]) -> str:
    """Shell exports of the credentials document (demo first, then alt_demo and admin)."""
    lines = ['# cbr-sim credentials; source this file',
             'export CBR_ENDPOINT=%s' % shlex.quote(document['endpoint']),
             'export OS_AUTH_URL=%s' % shlex.quote(document['identity_url']),
             'export OS_REGION_NAME=%s' % shlex.quote(document['region']),
             'export OS_USER_DOMAIN_NAME=%s' % shlex.quote(document['domain']),
             'export OS_PROJECT_DOMAIN_NAME=%s' % shlex.quote(document['domain'])]
    for prefix, entry in [('', document['projects'][0])] + [
            (e['name'].upper() + '_', e) for e in document['projects'][1:] + [document['admin']]]:
        lines += ['export %sOS_USERNAME=%s' % (prefix, shlex.quote(entry['user'])),
                  'export %sOS_PASSWORD=%s' % (prefix, shlex.quote(entry['password'])),
                  'export %sOS_PROJECT_NAME=%s' % (prefix, shlex.quote(entry['name'])),
                  'export %sOS_PROJECT_ID=%s' % (prefix, shlex.quote(entry['id'])),
                  'export %sHUAWEICLOUD_SDK_AK=%s' % (prefix, shlex.quote(entry['ak'])),
                  'export %sHUAWEICLOUD_SDK_SK=%s' % (prefix, shlex.quote(entry['sk'])),
                  'export %sHUAWEICLOUD_SDK_PROJECT_ID=%s' % (prefix, shlex.quote(entry['id']))]
    return '\n'.join(lines) + '\n'


def _write_private(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(0o600)
