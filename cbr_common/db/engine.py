"""Engine and session factory for the shared database, one per process.

SQLite gets WAL mode, a busy timeout and ``BEGIN IMMEDIATE`` transactions (so two
processes never deadlock upgrading a read lock); PostgreSQL and MariaDB use a small pool.
:func:`read_scope` is for work that only reads: on SQLite it takes no lock at all (each
statement reads a consistent WAL snapshot), so readers never queue behind writers and a
read made while the same thread holds a write transaction cannot wait on itself.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from cbr_common import clock
from cbr_common.config import CONF
from cbr_common.db import changes  # noqa: F401  (registers the change-stamp flush hook)

_lock = threading.Lock()
_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None
_pid: int | None = None
_READ_ONLY = 'cbr_read_only'


def make_engine(url: str) -> Engine:
    """Build an engine for ``url`` with the settings this project needs per backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == 'sqlite':
        if parsed.database:
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
        engine = create_engine(url, connect_args={'check_same_thread': False,
                                                  'isolation_level': None})
        busy = CONF.database.busy_timeout_ms

        @event.listens_for(engine, 'connect')
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute('PRAGMA journal_mode=WAL')
            cursor.execute('PRAGMA busy_timeout=%d' % busy)
            cursor.execute('PRAGMA foreign_keys=ON')
            cursor.execute('PRAGMA synchronous=NORMAL')
            cursor.close()

        @event.listens_for(engine, 'begin')
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            if not conn.get_execution_options().get(_READ_ONLY):
                conn.exec_driver_sql('BEGIN IMMEDIATE')

        return engine
    return create_engine(url, pool_size=CONF.database.pool_size, max_overflow=10,
                         pool_pre_ping=True, pool_recycle=3600)


def get_engine() -> Engine:
    """The process's engine; rebuilt after a fork so children never share connections."""
    global _engine, _factory, _pid
    with _lock:
        if _engine is None or _pid != os.getpid():
            _engine = make_engine(CONF.database.connection)
            _factory = sessionmaker(bind=_engine, expire_on_commit=False)
            _pid = os.getpid()
            clock.CLOCK.invalidate()  # a reading of another database's clock is not ours
        return _engine


def dispose() -> None:
    """Forget the engine (tests and ``reset`` use this after changing configuration), and
    with it the clock reading taken from its database."""
    global _engine, _factory, _pid
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = _factory = _pid = None
    clock.CLOCK.invalidate()


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """A session whose work commits at the end of the block, or rolls back on error."""
    get_engine()
    assert _factory is not None
    session = _factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextlib.contextmanager
def read_connection() -> Iterator[Connection]:
    """A plain connection for reading only: the cheapest way to run one Core query."""
    with get_engine().connect().execution_options(**{_READ_ONLY: True}) as connection:
        try:
            yield connection
        finally:
            connection.rollback()


@contextlib.contextmanager
def read_scope() -> Iterator[Session]:
    """A session for reading only; nothing it changes is committed."""
    with read_connection() as connection:
        session = Session(bind=connection, expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
