"""residents' needs: grids, grid workers, needs (issue 21); the grid_worker role

Revision ID: 0029_needs
Revises: 0028_red_flags
Create Date: 2026-12-02 17:20:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0029_needs'
down_revision = '0028_red_flags'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('officer', 'org_member', 'evaluator', 'auditor', 'admin')"
NEW_ROLES = "role IN ('officer', 'org_member', 'evaluator', 'auditor', 'admin', 'grid_worker')"


def _roles(check: str) -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_users_role'), check)


def upgrade():
    _roles(NEW_ROLES)
    op.create_table(
        'grids',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('community_code', sa.String(length=12), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('population', sa.Integer(), nullable=False),
        sa.Column('created_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint('households >= 0 AND population >= 0', name=op.f('ck_grids_counts')),
        sa.ForeignKeyConstraint(['community_code'], ['districts.code'], name=op.f('fk_grids_community_code_districts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_grids')),
        sa.UniqueConstraint('code', name=op.f('uq_grids_code')),
    )
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grids_community_code'), ['community_code'], unique=False)
    op.create_table(
        'grid_workers',
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_grid_workers_grid_id_grids'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_grid_workers_user_id_users')),
        sa.PrimaryKeyConstraint('grid_id', 'user_id', name=op.f('pk_grid_workers')),
    )
    with op.batch_alter_table('grid_workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_workers_user_id'), ['user_id'], unique=False)
    op.create_table(
        'needs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('receipt_code', sa.String(length=16), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.Column('urgency', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('source', sa.String(length=12), nullable=False),
        sa.Column('reports', sa.Integer(), nullable=False),
        sa.Column('merged_into_id', sa.Integer(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('confirmed_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('dispatched_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('dispatched_by_id', sa.Integer(), nullable=True),
        sa.Column('declined_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('decline_reason', sa.Text(), nullable=True),
        sa.Column('met_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('tender_id', sa.Integer(), nullable=True),
        sa.Column('contract_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('screening', 'open', 'dispatched', 'declined', 'met', 'merged', 'rejected')", name=op.f('ck_needs_status')),
        sa.CheckConstraint("urgency IN ('low', 'normal', 'high', 'urgent')", name=op.f('ck_needs_urgency')),
        sa.CheckConstraint("source IN ('grid_worker', 'resident')", name=op.f('ck_needs_source')),
        sa.CheckConstraint('households >= 0 AND people >= 1 AND reports >= 1', name=op.f('ck_needs_counts')),
        sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_needs_grid_id_grids')),
        sa.ForeignKeyConstraint(['merged_into_id'], ['needs.id'], name=op.f('fk_needs_merged_into_id_needs')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_needs_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['dispatched_by_id'], ['users.id'], name=op.f('fk_needs_dispatched_by_id_users')),
        sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_needs_tender_id_tenders')),
        sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_needs_contract_id_contracts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_needs')),
        sa.UniqueConstraint('receipt_code', name=op.f('uq_needs_receipt_code')),
    )
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_needs_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_tender_id'), ['tender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_contract_id'), ['contract_id'], unique=False)


def downgrade():
    op.drop_table('needs')
    op.drop_table('grid_workers')
    op.drop_table('grids')
    # Grid workers' accounts stay (audit events name them), deactivated, without a role of their own.
    op.execute("UPDATE users SET role = 'org_member', active = false WHERE role = 'grid_worker'")
    _roles(OLD_ROLES)
