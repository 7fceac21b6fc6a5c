"""Alembic environment: migrates the database named by ``[database] connection``."""
from alembic import context

from cbr_common.db.engine import get_engine
from cbr_common.db.models import Base


def run_migrations_online() -> None:
    connectable = context.config.attributes.get('connection')
    if connectable is not None:
        _run(connectable)
        return
    with get_engine().connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == 'sqlite',
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
