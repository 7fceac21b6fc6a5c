"""service families of vaults and backups

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

``vaults.family`` and ``backups.family`` name the API family a vault or backup belongs to:
``cbr`` for CBR v3, ``csbs`` and ``vbs`` for the per-project service vaults that hold
CSBS v1 and VBS v2 backups (see :mod:`cbr_common.backups.families`).
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('vaults') as table:
        table.add_column(sa.Column('family', sa.String(8), nullable=False, server_default='cbr'))
        table.create_index('ix_vaults_project_family', ['project_id', 'family'])
    with op.batch_alter_table('backups') as table:
        table.add_column(sa.Column('family', sa.String(8), nullable=False, server_default='cbr'))
        table.create_index('ix_backups_project_family', ['project_id', 'family'])


def downgrade() -> None:
    with op.batch_alter_table('backups') as table:
        table.drop_index('ix_backups_project_family')
        table.drop_column('family')
    with op.batch_alter_table('vaults') as table:
        table.drop_index('ix_vaults_project_family')
        table.drop_column('family')
