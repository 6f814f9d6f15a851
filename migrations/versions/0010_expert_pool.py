"""the evaluation expert pool and expert draws

Revision ID: 0010_expert_pool
Revises: 0009_rule_fixes
Create Date: 2026-12-01 23:35:00

"""
from alembic import op
import sqlalchemy as sa
import marketplace.core.db


revision = '0010_expert_pool'
down_revision = '0009_rule_fixes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('experts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('employer', sa.String(length=200), nullable=False),
    sa.Column('employer_organization_id', sa.Integer(), nullable=True),
    sa.Column('employer_agency_id', sa.Integer(), nullable=True),
    sa.Column('availability', sa.String(length=20), nullable=False),
    sa.Column('unavailable_until', sa.Date(), nullable=True),
    sa.Column('created_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("availability IN ('available', 'unavailable')", name=op.f('ck_experts_availability')),
    sa.ForeignKeyConstraint(['employer_agency_id'], ['agencies.id'], name=op.f('fk_experts_employer_agency_id_agencies')),
    sa.ForeignKeyConstraint(['employer_organization_id'], ['organizations.id'], name=op.f('fk_experts_employer_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_experts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts')),
    sa.UniqueConstraint('user_id', name=op.f('uq_experts_user_id'))
    )
    with op.batch_alter_table('experts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_employer_agency_id'), ['employer_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_experts_employer_organization_id'), ['employer_organization_id'], unique=False)

    op.create_table('expert_districts',
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['districts.code'], name=op.f('fk_expert_districts_district_code_districts')),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], name=op.f('fk_expert_districts_expert_id_experts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('expert_id', 'district_code', name=op.f('pk_expert_districts'))
    )
    op.create_table('expert_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('appointed', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('pool', sa.JSON(), nullable=False),
    sa.Column('picked', sa.JSON(), nullable=False),
    sa.Column('excluded', sa.JSON(), nullable=False),
    sa.Column('drawn_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('committee', 'reserve')", name=op.f('ck_expert_draws_kind')),
    sa.CheckConstraint('appointed >= 0', name=op.f('ck_expert_draws_appointed_nonnegative')),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['users.id'], name=op.f('fk_expert_draws_drawn_by_id_users')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_expert_draws_tender_id_tenders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expert_draws'))
    )
    with op.batch_alter_table('expert_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_draws_tender_id'), ['tender_id'], unique=False)


def downgrade():
    with op.batch_alter_table('expert_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expert_draws_tender_id'))

    op.drop_table('expert_draws')
    op.drop_table('expert_districts')
    with op.batch_alter_table('experts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_employer_organization_id'))
        batch_op.drop_index(batch_op.f('ix_experts_employer_agency_id'))

    op.drop_table('experts')
