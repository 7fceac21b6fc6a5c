"""Fixtures shared by every test folder: database backends and running stacks."""
from __future__ import annotations

import os
import tempfile

# huaweicloudsdkcore writes $HOME/.huaweicloud when imported (during collection), so the
# scratch home must be in place before anything imports it.
os.environ['HOME'] = tempfile.mkdtemp(prefix='cbr-home-')

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from cbr_common import clock  # noqa: E402
from tests.support.dataplane import BackupService  # noqa: E402
from tests.support.stack import Database, Stack, make_stack, postgres_available  # noqa: E402

BACKENDS = [b for b in os.environ.get('CBR_TEST_BACKENDS', 'sqlite,postgresql').split(',') if b]


def require_backend(backend: str) -> None:
    if backend == 'postgresql':
        reason = postgres_available()
        if reason:
            pytest.skip(reason)


@pytest.fixture(scope='session', params=BACKENDS)
def backend(request) -> str:
    require_backend(request.param)
    return request.param


@pytest.fixture(scope='session')
def stack(backend: str, tmp_path_factory) -> Iterator[Stack]:
    """One running stack per backend, shared by the tests that do not break it."""
    running = make_stack(tmp_path_factory.mktemp('stack-%s' % backend), backend)
    yield running
    running.close()


@pytest.fixture
def backup_service(backend: str, tmp_path: Path) -> Iterator[BackupService]:
    """The domain and data plane in this process, on a fresh database of the backend."""
    database = Database(backend, tmp_path)
    try:
        with BackupService(tmp_path, database.url).running() as running:
            yield running
    finally:
        clock.CLOCK.invalidate()  # the clock row went with the database
        database.drop()


@pytest.fixture
def fresh_stack_factory(backend: str, tmp_path: Path):
    """Builds stacks that a test may break (kill processes, restart Redis)."""
    made: list[Stack] = []

    def build(**kwargs) -> Stack:
        made.append(make_stack(tmp_path / ('stack-%d' % len(made)), backend, **kwargs))
        return made[-1]
    yield build
    for each in made:
        each.close()


# -- chunk store: a real S3 server and the backend under test ------------------------------
# Self-contained block (chunk store tests); other blocks may follow.
import uuid as _chunk_uuid  # noqa: E402

from cbr_common.config import CONF as _CHUNK_CONF  # noqa: E402
from tests.support.s3 import S3Server  # noqa: E402

CHUNK_STORE_BACKENDS = ['local', 's3']


@pytest.fixture(scope='session')
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """A moto S3 server for the whole session (endpoint_url, access_key, secret_key, region)."""
    with S3Server(tmp_path_factory.mktemp('moto') / 'moto.log') as server:
        yield server


@pytest.fixture(params=CHUNK_STORE_BACKENDS)
def chunk_store_backend(request, tmp_path: Path) -> Iterator[str]:
    """Points ``[chunk_store]`` at an empty store of each backend: a fresh folder, or a fresh
    bucket and prefix on :func:`s3_server`; yields the backend name."""
    overrides: dict[str, object] = {'backend': request.param, 'path': str(tmp_path / 'chunks')}
    if request.param == 's3':
        server = request.getfixturevalue('s3_server')
        overrides.update(s3_endpoint_url=server.endpoint_url, s3_region=server.region,
                         s3_bucket='cbr-test-%s' % _chunk_uuid.uuid4().hex[:16],
                         s3_prefix='run-%s/' % _chunk_uuid.uuid4().hex[:8],
                         s3_access_key_id=server.access_key,
                         s3_secret_access_key=server.secret_key)
    for name, value in overrides.items():
        _CHUNK_CONF.set_override(name, value, group='chunk_store')
    yield request.param
    for name in overrides:
        _CHUNK_CONF.clear_override(name, group='chunk_store')
