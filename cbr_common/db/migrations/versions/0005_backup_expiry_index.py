"""backup expiry index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The daily retention sweep finds expired backups through this index (rule P8).
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_backups_expired_at', 'backups', ['expired_at'])


def downgrade() -> None:
    op.drop_index('ix_backups_expired_at', table_name='backups')
