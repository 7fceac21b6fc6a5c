"""A real cbr-sim stack for tests: cbr-api, cbr-scheduler and cbr-worker processes.

Each stack has its own state folder, configuration file, database (an SQLite file, or a
fresh PostgreSQL database created for it) and Redis database number or Redis server.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis as redis_lib

from tests.support.client import SignedClient, poll

BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get('CBR_TEST_PG_ADMIN', 'postgresql://postgres@127.0.0.1:5432/test')
REDIS_BASE = os.environ.get('CBR_TEST_REDIS', 'redis://127.0.0.1:6379').rstrip('/')
# Test stacks use Redis database 13 (devstack uses 0) with a queue prefix of their own,
# so no stack's worker takes another stack's (or another test run's) messages.
TEST_BROKER = REDIS_BASE + '/13'

FAST_SETTINGS = {
    'worker': {'lease_seconds': 3, 'max_attempts': 3, 'concurrency': 2},
    'scheduler': {'loop_interval': 0.2, 'leader_lease_seconds': 3, 'redispatch_after': 2,
                  'heartbeat_stale_seconds': 6},
    'api': {'workers': 1, 'threads': 4},
    'messaging': {'publish_timeout': 1.0},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it cannot be used."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means: skip the PostgreSQL runs
        return 'PostgreSQL at %s does not answer: %s' % (PG_ADMIN_URL, exc)


class Database:
    """A database for one stack: an SQLite file or a fresh PostgreSQL database."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend = backend
        self.name = 'cbr_test_%s' % uuid.uuid4().hex[:12]
        if backend == 'sqlite':
            self.url = 'sqlite:///%s' % (root / 'cbr.sqlite')
        else:
            self._admin('CREATE DATABASE %s' % self.name)
            base = PG_ADMIN_URL.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')
            self.url = '%s/%s' % (base, self.name)

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
            connection.execute(statement)

    def drop(self) -> None:
        if self.backend == 'postgresql':
            self._admin('DROP DATABASE IF EXISTS %s WITH (FORCE)' % self.name)


class RedisServer:
    """A private redis-server with no persistence, so a restart loses every message."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.root = root
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return 'redis://127.0.0.1:%d/0' % self.port

    def start(self) -> None:
        self.process = subprocess.Popen(
            ['redis-server', '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
             '--appendonly', 'no', '--dir', str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_lib.Redis(port=self.port)
        poll(lambda: _pings(client), bool, 10, 'private redis did not start')

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def _pings(client: redis_lib.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis_lib.ConnectionError:
        return False


@dataclass
class Stack:
    """Configuration, processes and clients of one running cbr-sim."""

    root: Path
    backend: str = 'sqlite'
    broker_url: str = TEST_BROKER
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.queue_prefix = 'test-%s-' % uuid.uuid4().hex[:8]
        self.database = Database(self.backend, self.root)
        self.conf = self.root / 'cbr.conf'
        self.write_conf()

    # -- configuration -----------------------------------------------------------------
    def write_conf(self) -> None:
        groups: dict[str, dict[str, Any]] = {
            'DEFAULT': {'state_path': self.root / 'state'},
            'database': {'connection': self.database.url},
            'messaging': {'broker_url': self.broker_url, 'queue_prefix': self.queue_prefix},
            'api': {'bind_port': self.port},
        }
        for source in (FAST_SETTINGS, self.settings):
            for group, values in source.items():
                groups.setdefault(group, {}).update(values)
        lines = []
        for group, values in groups.items():
            lines.append('[%s]' % group)
            lines += ['%s = %s' % (key, value) for key, value in values.items()]
        self.conf.write_text('\n'.join(lines) + '\n')

    @property
    def endpoint(self) -> str:
        return 'http://127.0.0.1:%d' % self.port

    def manage(self, *args: str) -> str:
        result = subprocess.run([str(BIN / 'cbr-manage'), '--config-file', str(self.conf), *args],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError('cbr-manage %s failed: %s' % (' '.join(args), result.stderr))
        return result.stdout

    def prepare(self) -> None:
        """Migrate the database and seed it; read the credentials back."""
        self.manage('db', 'sync')
        out = self.root / 'credentials.json'
        self.manage('seed', '--credentials-out', str(out))
        self.credentials = json.loads(out.read_text())

    # -- processes ---------------------------------------------------------------------
    def start(self, name: str, command: str) -> subprocess.Popen:
        log = open(self.root / ('%s.log' % name), 'ab')
        env = dict(os.environ, CBR_LOG_LEVEL='INFO')
        process = subprocess.Popen([str(BIN / command), '--config-file', str(self.conf)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def start_all(self, workers: int = 1) -> None:
        self.start('api', 'cbr-api')
        self.start('scheduler', 'cbr-scheduler')
        for index in range(workers):
            self.start('worker-%d' % index, 'cbr-worker')
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        try:
            self.manage('health', '--wait', str(timeout))
        except RuntimeError as exc:
            raise RuntimeError('%s\n%s' % (exc, self.logs())) from exc
        poll(self._api_answers, bool, timeout, 'cbr-api did not answer')

    def _api_answers(self) -> bool:
        import requests

        try:
            return requests.get(self.endpoint + '/', timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(30)

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name in list(self.processes):
            try:
                self.processes[name].wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.processes[name].pid, signal.SIGKILL)
            del self.processes[name]

    def close(self) -> None:
        self.stop()
        self.database.drop()
        self.delete_queues()

    def delete_queues(self) -> None:
        """Remove this stack's queues (and, on Redis, kombu's binding keys) from the broker."""
        if self.broker_url.startswith('redis'):
            client = redis_lib.Redis.from_url(self.broker_url)
            keys = [key for pattern in ('%s*', '_kombu.binding*.%s*')
                    for key in client.scan_iter(pattern % self.queue_prefix)]
            if keys:
                client.delete(*keys)
            return
        import kombu

        from cbr_common.contracts.tasks import QUEUES

        with kombu.Connection(self.broker_url, connect_timeout=5) as connection:
            for family in QUEUES:
                kombu.Queue(self.queue_prefix + family).bind(connection.default_channel).delete()

    def logs(self) -> str:
        return '\n'.join('--- %s\n%s' % (path.name, path.read_text(errors='replace')[-4000:])
                         for path in sorted(self.root.glob('*.log')))

    # -- clients -----------------------------------------------------------------------
    def project(self, name: str = 'demo') -> dict[str, Any]:
        if name == 'admin':
            return self.credentials['admin']
        return next(p for p in self.credentials['projects'] if p['name'] == name)

    def client(self, name: str = 'demo') -> SignedClient:
        entry = self.project(name)
        return SignedClient(self.endpoint, entry['ak'], entry['sk'], entry['id'])

    def admin(self) -> SignedClient:
        return self.client('admin')


def make_stack(root: Path, backend: str, *, workers: int = 1, **kwargs: Any) -> Stack:
    """A prepared, running stack; the caller closes it."""
    stack = Stack(root=root, backend=backend, **kwargs)
    try:
        stack.prepare()
        stack.start_all(workers=workers)
    except BaseException:
        stack.close()
        raise
    return stack
