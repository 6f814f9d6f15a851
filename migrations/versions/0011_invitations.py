"""invited tenders: the invited organizations and the recorded draws

Revision ID: 0011_invitations
Revises: 0010_expert_pool
Create Date: 2026-12-01 23:35:00

"""
from alembic import op
import sqlalchemy as sa
import marketplace.core.db


revision = '0011_invitations'
down_revision = '0010_expert_pool'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invitation_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('pool', sa.JSON(), nullable=False),
    sa.Column('picked', sa.JSON(), nullable=False),
    sa.Column('drawn_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['users.id'], name=op.f('fk_invitation_draws_drawn_by_id_users')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_invitation_draws_tender_id_tenders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_draws'))
    )
    with op.batch_alter_table('invitation_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_draws_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=True),
    sa.Column('recommended_by', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('notified_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('draw', 'recommendation')", name=op.f('ck_tender_invitations_source')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_tender_invitations_created_by_id_users')),
    sa.ForeignKeyConstraint(['draw_id'], ['invitation_draws.id'], name=op.f('fk_tender_invitations_draw_id_invitation_draws'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_tender_invitations_organization_id_organizations')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_tender_invitations_tender_id_tenders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_invitations')),
    sa.UniqueConstraint('tender_id', 'organization_id', name=op.f('uq_tender_invitations_tender_id_organization_id'))
    )
    with op.batch_alter_table('tender_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_invitations_organization_id'), ['organization_id'], unique=False)


def downgrade():
    with op.batch_alter_table('tender_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_invitations_organization_id'))

    op.drop_table('tender_invitations')
    with op.batch_alter_table('invitation_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_draws_tender_id'))

    op.drop_table('invitation_draws')
