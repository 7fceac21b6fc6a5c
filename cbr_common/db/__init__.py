"""The shared SQL database: engine and sessions, models and Alembic migrations."""
