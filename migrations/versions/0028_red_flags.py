"""red flags for auditors (issue 22)

Revision ID: 0028_red_flags
Revises: 0027_saved_searches
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0028_red_flags'
down_revision = '0027_saved_searches'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'red_flags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tender_id', sa.Integer(), nullable=False),
        sa.Column('indicator', sa.String(length=40), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=True),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('first_flagged_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('computed_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('cleared_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('reviewed_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
        sa.Column('review_note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_red_flags_tender_id_tenders')),
        sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_red_flags_contract_id_contracts')),
        sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_red_flags_reviewed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_red_flags')),
        sa.UniqueConstraint('tender_id', 'indicator', name=op.f('uq_red_flags_tender_id_indicator')),
    )
    with op.batch_alter_table('red_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_red_flags_tender_id'), ['tender_id'], unique=False)
        batch_op.create_index('ix_red_flags_indicator_cleared', ['indicator', 'cleared_at'], unique=False)

    op.create_table(
        'red_flag_watermarks',
        sa.Column('indicator', sa.String(length=40), nullable=False),
        sa.Column('computed_through', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('last_full_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('indicator', name=op.f('pk_red_flag_watermarks')),
    )


def downgrade():
    op.drop_table('red_flag_watermarks')
    op.drop_table('red_flags')
