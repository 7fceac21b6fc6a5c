"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import cbr_common.db.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('faults',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('point', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('faults', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faults_point'), ['point'], unique=False)

    op.create_table('leader_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('operations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('job_type', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('entities', sa.JSON(), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('fail_reason', sa.Text(), nullable=True),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('begin_time', cbr_common.db.types.UTCDateTime(), nullable=True),
    sa.Column('end_time', cbr_common.db.types.UTCDateTime(), nullable=True),
    sa.Column('dispatched_at', sa.Float(), nullable=True),
    sa.Column('dispatch_count', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.Float(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operations_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_operations_status_dispatched', ['status', 'dispatched_at'], unique=False)
        batch_op.create_index('ix_operations_status_lease', ['status', 'lease_expires_at'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('domain_name', sa.String(length=64), nullable=False),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('service_heartbeats',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('host', sa.String(length=128), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('last_seen', sa.Float(), nullable=False),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sim_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('anchor_real', sa.Float(), nullable=False),
    sa.Column('anchor_sim', sa.Float(), nullable=False),
    sa.Column('speed', sa.Float(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('status_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('operation_id', sa.String(length=32), nullable=True),
    sa.Column('at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('status_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_events_entity_id'), ['entity_id'], unique=False)

    op.create_table('servers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('task_state', sa.String(length=32), nullable=True),
    sa.Column('flavor_id', sa.String(length=64), nullable=False),
    sa.Column('image_id', sa.String(length=64), nullable=False),
    sa.Column('availability_zone', sa.String(length=64), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('fault', sa.Text(), nullable=True),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_servers_project_id'), ['project_id'], unique=False)

    op.create_table('shares',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('sub_status', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('share_proto', sa.String(length=16), nullable=False),
    sa.Column('share_type', sa.String(length=32), nullable=False),
    sa.Column('availability_zone', sa.String(length=64), nullable=False),
    sa.Column('vpc_id', sa.String(length=36), nullable=False),
    sa.Column('subnet_id', sa.String(length=36), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shares_project_id'), ['project_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=128), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('volumes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('volume_type', sa.String(length=32), nullable=False),
    sa.Column('availability_zone', sa.String(length=64), nullable=False),
    sa.Column('bootable', sa.Boolean(), nullable=False),
    sa.Column('multiattach', sa.Boolean(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('created_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volumes_project_id'), ['project_id'], unique=False)

    op.create_table('credentials',
    sa.Column('access_key', sa.String(length=64), nullable=False),
    sa.Column('secret_key', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('access_key')
    )
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credentials_user_id'), ['user_id'], unique=False)

    op.create_table('tokens',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('issued_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('digest')
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('volume_attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('server_id', sa.String(length=36), nullable=False),
    sa.Column('device', sa.String(length=32), nullable=False),
    sa.Column('boot_index', sa.Integer(), nullable=False),
    sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
    sa.Column('attached_at', cbr_common.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['server_id'], ['servers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('server_id', 'device')
    )
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_attachments_server_id'), ['server_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_attachments_volume_id'), ['volume_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_attachments_volume_id'))
        batch_op.drop_index(batch_op.f('ix_volume_attachments_server_id'))

    op.drop_table('volume_attachments')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_tokens_expires_at'))

    op.drop_table('tokens')
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credentials_user_id'))

    op.drop_table('credentials')
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volumes_project_id'))

    op.drop_table('volumes')
    op.drop_table('users')
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shares_project_id'))

    op.drop_table('shares')
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_servers_project_id'))

    op.drop_table('servers')
    with op.batch_alter_table('status_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_events_entity_id'))

    op.drop_table('status_events')
    op.drop_table('sim_clock')
    op.drop_table('service_heartbeats')
    op.drop_table('projects')
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_index('ix_operations_status_lease')
        batch_op.drop_index('ix_operations_status_dispatched')
        batch_op.drop_index(batch_op.f('ix_operations_project_id'))

    op.drop_table('operations')
    op.drop_table('leader_leases')
    with op.batch_alter_table('faults', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faults_point'))

    op.drop_table('faults')
