"""CBR v3: vault settings and resources, policies, checkpoints, backup and task columns

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Columns added to existing tables carry a server default, so existing rows stay valid.
"""
from alembic import op
import sqlalchemy as sa
import cbr_common.db.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkpoints',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('vault_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False, server_default=sa.text("''")),
    sa.Column('retention_duration_days', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoints_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoints_vault_id'), ['vault_id'], unique=False)

    op.create_table('backup_members',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('backup_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('dest_project_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('vault_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['backup_id'], ['backups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('backup_id', 'dest_project_id')
    )
    with op.batch_alter_table('backup_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backup_members_backup_id'), ['backup_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_backup_members_dest_project_id'), ['dest_project_id'], unique=False)

    op.create_table('images',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.String(length=1024), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('backup_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('backup_id')
    )
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_images_project_id'), ['project_id'], unique=False)

    op.create_table('policy_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.String(length=36), nullable=False),
    sa.Column('vault_id', sa.String(length=36), nullable=False),
    sa.Column('scheduled_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('checkpoint_id', sa.String(length=36), nullable=True),
    sa.Column('fired_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('policy_id', 'vault_id', 'scheduled_at')
    )
    with op.batch_alter_table('policy_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_runs_vault_id'), ['vault_id'], unique=False)

    op.create_table('policies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('operation_type', sa.String(length=16), nullable=False),
    sa.Column('operation_definition', sa.JSON(), nullable=False),
    sa.Column('trigger_id', sa.String(length=36), nullable=False),
    sa.Column('patterns', sa.JSON(), nullable=False),
    sa.Column('start_window_minutes', sa.Integer(), nullable=True),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policies_project_id'), ['project_id'], unique=False)

    op.create_table('vault_resources',
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('vault_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('extra_info', sa.JSON(), nullable=False),
    sa.Column('auto_protect', sa.Boolean(), nullable=False),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['vault_id'], ['vaults.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id')
    )
    with op.batch_alter_table('vault_resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vault_resources_vault_id'), ['vault_id'], unique=False)

    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('resource_name', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('resource_az', sa.String(length=64), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('checkpoint_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('policy_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('auto_trigger', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('expired_at', cbr_common.db.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_backups_checkpoint_id'), ['checkpoint_id'], unique=False)

    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vault_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('resource_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('parent_id', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_operations_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_operations_vault_id'), ['vault_id'], unique=False)

    with op.batch_alter_table('vaults', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=255), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('consistent_level', sa.String(length=32), nullable=False, server_default=sa.text("'crash_consistent'")))
        batch_op.add_column(sa.Column('charging_mode', sa.String(length=16), nullable=False, server_default=sa.text("'post_paid'")))
        batch_op.add_column(sa.Column('policy_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('auto_bind', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('auto_expand', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('smn_notify', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('threshold', sa.Integer(), nullable=False, server_default=sa.text("'80'")))
        batch_op.add_column(sa.Column('bind_rules', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('user_id', sa.String(length=32), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('next_run_at', cbr_common.db.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_vaults_policy_id'), ['policy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vaults_next_run_at'), ['next_run_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('vaults', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vaults_next_run_at'))
        batch_op.drop_index(batch_op.f('ix_vaults_policy_id'))
        batch_op.drop_column('next_run_at')
        batch_op.drop_column('user_id')
        batch_op.drop_column('tags')
        batch_op.drop_column('bind_rules')
        batch_op.drop_column('threshold')
        batch_op.drop_column('smn_notify')
        batch_op.drop_column('auto_expand')
        batch_op.drop_column('auto_bind')
        batch_op.drop_column('policy_id')
        batch_op.drop_column('charging_mode')
        batch_op.drop_column('consistent_level')
        batch_op.drop_column('description')

    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operations_vault_id'))
        batch_op.drop_index(batch_op.f('ix_operations_resource_id'))
        batch_op.drop_column('parent_id')
        batch_op.drop_column('resource_id')
        batch_op.drop_column('vault_id')

    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backups_checkpoint_id'))
        batch_op.drop_column('expired_at')
        batch_op.drop_column('auto_trigger')
        batch_op.drop_column('policy_id')
        batch_op.drop_column('checkpoint_id')
        batch_op.drop_column('resource_az')
        batch_op.drop_column('resource_name')
        batch_op.drop_column('description')

    with op.batch_alter_table('vault_resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vault_resources_vault_id'))

    op.drop_table('vault_resources')
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policies_project_id'))

    op.drop_table('policies')
    with op.batch_alter_table('policy_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_runs_vault_id'))

    op.drop_table('policy_runs')
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_images_project_id'))

    op.drop_table('images')
    with op.batch_alter_table('backup_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backup_members_dest_project_id'))
        batch_op.drop_index(batch_op.f('ix_backup_members_backup_id'))

    op.drop_table('backup_members')
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoints_vault_id'))
        batch_op.drop_index(batch_op.f('ix_checkpoints_project_id'))

    op.drop_table('checkpoints')
