"""service families of vaults, backups and policies

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

``vaults.family`` and ``backups.family`` name the API family a vault or backup belongs to:
``cbr`` for CBR v3, ``csbs`` and ``vbs`` for the per-project service vaults that hold
CSBS v1 and VBS v2 backups (see :mod:`cbr_common.backups.families`); ``backups.tags`` are
the tags of CSBS backups and those a VBS policy copies to its backups.  ``policies`` get the
same ``family``, a ``description`` and ``tags`` (CSBS and VBS policies have them), the
API-specific fields the core does not read (``family_fields``), and names of up to 255
characters (CSBS, rule P2).
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
        table.add_column(sa.Column('tags', sa.JSON(), nullable=True))
    with op.batch_alter_table('policies') as table:
        table.add_column(sa.Column('family', sa.String(8), nullable=False, server_default='cbr'))
        table.add_column(sa.Column('description', sa.String(255), nullable=False,
                                   server_default=''))
        table.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        table.add_column(sa.Column('family_fields', sa.JSON(), nullable=True))
        table.alter_column('name', type_=sa.String(255), existing_type=sa.String(64))


def downgrade() -> None:
    with op.batch_alter_table('policies') as table:
        table.alter_column('name', type_=sa.String(64), existing_type=sa.String(255))
        table.drop_column('family_fields')
        table.drop_column('tags')
        table.drop_column('description')
        table.drop_column('family')
    with op.batch_alter_table('backups') as table:
        table.drop_column('tags')
        table.drop_index('ix_backups_project_family')
        table.drop_column('family')
    with op.batch_alter_table('vaults') as table:
        table.drop_index('ix_vaults_project_family')
        table.drop_column('family')
