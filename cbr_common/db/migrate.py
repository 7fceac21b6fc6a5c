"""Schema migrations through Alembic's API: ``cbr-manage db sync`` and ``db version``."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cbr_common.db.engine import get_engine

_INI = Path(__file__).with_name('alembic.ini')


def alembic_config() -> Config:
    return Config(str(_INI))


def sync(revision: str = 'head') -> None:
    """Upgrade the database to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(), revision)


def current_version() -> str | None:
    """The revision the database is at, or None before the first sync."""
    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_version() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
