"""change stamps

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_stamps',
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('stamp', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('scope')
    )
    # every existing project starts with a stamp, so readers may cache at once
    stamps = sa.table('change_stamps', sa.column('scope', sa.String), sa.column('stamp', sa.String))
    projects = op.get_bind().execute(sa.text('SELECT id FROM projects')).scalars().all()
    if projects:
        op.bulk_insert(stamps, [{'scope': project_id, 'stamp': uuid.uuid4().hex}
                                for project_id in projects])


def downgrade() -> None:
    op.drop_table('change_stamps')
