"""background export tasks (issue 16): export_tasks, one row per export written by a worker (who asked,
kind, format, filter, status, progress, file, size, times, error)

Revision ID: 0017_export_tasks
Revises: 0016_tender_search
Create Date: 2026-12-02 06:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0017_export_tasks'
down_revision = '0016_tender_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('download_name', sa.String(length=120), nullable=False),
    sa.Column('file_path', sa.String(length=200), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('created_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_export_tasks_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_tasks'))
    )
    with op.batch_alter_table('export_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_tasks_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_tasks_owner_id'), ['owner_id'], unique=False)


def downgrade():
    # The files under EXPORT_FOLDER stay; the expire-exports job of the newer code no longer runs.
    with op.batch_alter_table('export_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_tasks_owner_id'))
        batch_op.drop_index(batch_op.f('ix_export_tasks_expires_at'))

    op.drop_table('export_tasks')
