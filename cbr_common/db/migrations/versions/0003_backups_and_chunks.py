"""backups and chunks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import cbr_common.db.types
from sqlalchemy.dialects import mysql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chunk_pins',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('operation_id', sa.String(length=32), nullable=False),
    sa.Column('vault_id', sa.String(length=36), nullable=False),
    sa.Column('digests', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('chunk_pins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chunk_pins_operation_id'), ['operation_id'], unique=False)

    op.create_table('chunks',
    sa.Column('vault_id', sa.String(length=36), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('plain_size', sa.Integer(), nullable=False),
    sa.Column('stored_size', sa.Integer(), nullable=False),
    sa.Column('refs', sa.Integer(), nullable=False),
    sa.Column('stored', sa.Boolean(), nullable=False),
    sa.Column('pack', sa.String(length=32), nullable=True),
    sa.Column('pack_offset', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('vault_id', 'digest')
    )
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.create_index('ix_chunks_pack', ['vault_id', 'pack'], unique=False)

    op.create_table('packs',
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('vault_id', sa.String(length=36), nullable=False),
    sa.Column('operation_id', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('token')
    )
    with op.batch_alter_table('packs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_packs_operation_id'), ['operation_id'], unique=False)
    op.create_table('vaults',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('vaults', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vaults_project_id'), ['project_id'], unique=False)

    op.create_table('backups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('vault_id', sa.String(length=36), nullable=False),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('resource_size', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('incremental', sa.Boolean(), nullable=False),
    sa.Column('full_requested', sa.Boolean(), nullable=False),
    sa.Column('operation_id', sa.String(length=32), nullable=True),
    sa.Column('fail_reason', sa.Text(), nullable=True),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('protected_at', cbr_common.db.types.UTCDateTime(), nullable=True),
    sa.Column('key_id', sa.String(length=128), nullable=True),
    sa.Column('base_backup_id', sa.String(length=36), nullable=True),
    sa.Column('snapshot_token', sa.String(length=32), nullable=True),
    sa.Column('generation', sa.BigInteger(), nullable=True),
    sa.Column('device_size', sa.BigInteger(), nullable=True),
    sa.Column('added_bytes', sa.BigInteger(), nullable=False),
    sa.Column('manifest', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['backups.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vault_id'], ['vaults.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backups_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_backups_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_backups_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_backups_vault_id'), ['vault_id'], unique=False)
        batch_op.create_index('ix_backups_vault_resource', ['vault_id', 'resource_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.drop_index('ix_backups_vault_resource')
        batch_op.drop_index(batch_op.f('ix_backups_vault_id'))
        batch_op.drop_index(batch_op.f('ix_backups_resource_id'))
        batch_op.drop_index(batch_op.f('ix_backups_project_id'))
        batch_op.drop_index(batch_op.f('ix_backups_parent_id'))

    op.drop_table('backups')
    with op.batch_alter_table('vaults', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vaults_project_id'))

    op.drop_table('vaults')
    with op.batch_alter_table('packs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_packs_operation_id'))

    op.drop_table('packs')
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_chunks_pack')

    op.drop_table('chunks')
    with op.batch_alter_table('chunk_pins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chunk_pins_operation_id'))

    op.drop_table('chunk_pins')
