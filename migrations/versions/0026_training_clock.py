"""training clock, staged uploads (issue 20)

Revision ID: 0026_training_clock
Revises: 0025_ocds_feed
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0026_training_clock'
down_revision = '0025_ocds_feed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_clocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offset_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_clocks'))
    )


def downgrade():
    op.drop_table('training_clocks')
