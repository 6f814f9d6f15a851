"""statutory time limits and bid and performance bonds

Revision ID: 0012_time_limits_bonds
Revises: 0011_invitations
Create Date: 2026-12-01 23:35:00

"""
from alembic import op
import sqlalchemy as sa
import marketplace.core.db


revision = '0012_time_limits_bonds'
down_revision = '0011_invitations'
branch_labels = None
depends_on = None

_FORMS = "form IN ('transfer', 'bank_guarantee', 'insurance_guarantee', 'cheque')"


def upgrade():
    op.create_table('time_limit_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('sent_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_time_limit_reminders_tender_id_tenders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_limit_reminders')),
    sa.UniqueConstraint('tender_id', 'code', 'subject_id', 'due_on', name=op.f('uq_time_limit_reminders_tender_id_code_subject_id_due_on'))
    )
    with op.batch_alter_table('time_limit_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_time_limit_reminders_tender_id'), ['tender_id'], unique=False)

    op.create_table('bid_bonds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('declared', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('returned_by_id', sa.Integer(), nullable=True),
    sa.Column('return_overdue_notified_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('form', sa.String(length=30), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.Column('returned_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint(_FORMS, name=op.f('ck_bid_bonds_form')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_bid_bonds_amount_positive')),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_bid_bonds_bid_id_bids')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_bid_bonds_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['returned_by_id'], ['users.id'], name=op.f('fk_bid_bonds_returned_by_id_users')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_bid_bonds_tender_id_tenders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_bonds')),
    sa.UniqueConstraint('bid_id', name=op.f('uq_bid_bonds_bid_id'))
    )
    with op.batch_alter_table('bid_bonds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_bonds_tender_id'), ['tender_id'], unique=False)

    op.create_table('performance_bonds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('returned_by_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('form', sa.String(length=30), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.Column('returned_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint(_FORMS, name=op.f('ck_performance_bonds_form')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_performance_bonds_amount_positive')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_performance_bonds_contract_id_contracts')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_performance_bonds_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['returned_by_id'], ['users.id'], name=op.f('fk_performance_bonds_returned_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_bonds')),
    sa.UniqueConstraint('contract_id', name=op.f('uq_performance_bonds_contract_id'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_signature_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bonds_waived', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.drop_column('bonds_waived')

    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_column('late_signature_reason')

    op.drop_table('performance_bonds')
    with op.batch_alter_table('bid_bonds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_bonds_tender_id'))

    op.drop_table('bid_bonds')
    with op.batch_alter_table('time_limit_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_time_limit_reminders_tender_id'))

    op.drop_table('time_limit_reminders')
