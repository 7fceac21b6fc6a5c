"""retention indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The daily retention sweep finds expired backups (rule P8), and the task history's pruning
finds long-ended operations (rule T1), through these indexes.
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_backups_expired_at', 'backups', ['expired_at'])
    op.create_index('ix_operations_end_time', 'operations', ['end_time'])


def downgrade() -> None:
    op.drop_index('ix_operations_end_time', table_name='operations')
    op.drop_index('ix_backups_expired_at', table_name='backups')
