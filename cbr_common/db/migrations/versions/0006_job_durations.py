"""job durations and policy cycles

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

``sim_clock.job_durations`` names the model of how long jobs take in simulated time;
``operations.finishes_at`` is the simulated instant an operation's work is done under that
model (rule P10); ``policies.cycle_start`` is the instant a policy's cycles count from,
moved to its last run when its patterns change (rule P14).
"""
import sqlalchemy as sa
from alembic import op

import cbr_common.db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sim_clock') as table:
        table.add_column(sa.Column('job_durations', sa.String(16), nullable=False,
                                   server_default='instant'))
    with op.batch_alter_table('operations') as table:
        table.add_column(sa.Column('finishes_at', cbr_common.db.types.UTCDateTime(),
                                   nullable=True))
    with op.batch_alter_table('policies') as table:
        table.add_column(sa.Column('cycle_start', cbr_common.db.types.UTCDateTime(),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('policies') as table:
        table.drop_column('cycle_start')
    with op.batch_alter_table('operations') as table:
        table.drop_column('finishes_at')
    with op.batch_alter_table('sim_clock') as table:
        table.drop_column('job_durations')
