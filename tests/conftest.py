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

from tests.support.stack import Stack, make_stack, postgres_available  # noqa: E402

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
def fresh_stack_factory(backend: str, tmp_path: Path):
    """Builds stacks that a test may break (kill processes, restart Redis)."""
    made: list[Stack] = []

    def build(**kwargs) -> Stack:
        made.append(make_stack(tmp_path / ('stack-%d' % len(made)), backend, **kwargs))
        return made[-1]
    yield build
    for each in made:
        each.close()
