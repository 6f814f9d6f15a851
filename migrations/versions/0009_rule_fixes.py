"""rules

Revision ID: 0009_rule_fixes
Revises: 0008_bid_readiness
Create Date: 2026-12-01 23:35:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0009_rule_fixes'
down_revision = '0008_bid_readiness'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'award_pass_overs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tender_id', sa.Integer(), nullable=False),
        sa.Column('bid_id', sa.Integer(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('ground', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('recorded_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "ground IN ('withdrew', 'disqualified', 'failed_to_sign')", name=op.f('ck_award_pass_overs_ground')
        ),
        sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_award_pass_overs_bid_id_bids')),
        sa.ForeignKeyConstraint(
            ['recorded_by_id'], ['users.id'], name=op.f('fk_award_pass_overs_recorded_by_id_users')
        ),
        sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_award_pass_overs_tender_id_tenders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_award_pass_overs')),
        sa.UniqueConstraint('tender_id', 'bid_id', name=op.f('uq_award_pass_overs_tender_id_bid_id')),
    )
    with op.batch_alter_table('award_pass_overs') as batch_op:
        batch_op.create_index(batch_op.f('ix_award_pass_overs_tender_id'), ['tender_id'], unique=False)
    with op.batch_alter_table('amendments') as batch_op:
        batch_op.add_column(sa.Column('substantive', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('clarifications') as batch_op:
        batch_op.add_column(sa.Column('changes_documents', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('amendment_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_clarifications_amendment_id_amendments'), 'amendments', ['amendment_id'], ['id']
        )
    with op.batch_alter_table('bid_openings') as batch_op:
        batch_op.add_column(sa.Column('sealed_organizations', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column('unconfirmed_count', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade():
    with op.batch_alter_table('award_pass_overs') as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_pass_overs_tender_id'))
    op.drop_table('award_pass_overs')
    with op.batch_alter_table('bid_openings') as batch_op:
        batch_op.drop_column('unconfirmed_count')
        batch_op.drop_column('sealed_organizations')
    with op.batch_alter_table('clarifications') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_clarifications_amendment_id_amendments'), type_='foreignkey')
        batch_op.drop_column('amendment_id')
        batch_op.drop_column('changes_documents')
    with op.batch_alter_table('amendments') as batch_op:
        batch_op.drop_column('substantive')
