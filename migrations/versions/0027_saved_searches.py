"""saved searches with alerts (issue 20)

Revision ID: 0027_saved_searches
Revises: 0026_training_clock
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0027_saved_searches'
down_revision = '0026_training_clock'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saved_searches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('keywords', sa.String(length=200), nullable=False),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('district_codes', sa.JSON(), nullable=False),
        sa.Column('budget_min', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column('budget_max', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column('paused', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('email_digest', sa.Boolean(), nullable=False),
        sa.Column('alerted_until', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('last_alert_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('created_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            'budget_min IS NULL OR budget_max IS NULL OR budget_min <= budget_max',
            name=op.f('ck_saved_searches_budget_range'),
        ),
        sa.ForeignKeyConstraint(
            ['organization_id'], ['organizations.id'], name=op.f('fk_saved_searches_organization_id_organizations')
        ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_searches_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_searches')),
    )
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_searches_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_saved_searches_user_id'), ['user_id'], unique=False)

    op.create_table(
        'saved_search_hits',
        sa.Column('search_id', sa.Integer(), nullable=False),
        sa.Column('tender_id', sa.Integer(), nullable=False),
        sa.Column('alerted_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['search_id'], ['saved_searches.id'], name=op.f('fk_saved_search_hits_search_id_saved_searches'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['tender_id'], ['tenders.id'], name=op.f('fk_saved_search_hits_tender_id_tenders'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('search_id', 'tender_id', name=op.f('pk_saved_search_hits')),
    )
    with op.batch_alter_table('saved_search_hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_search_hits_tender_id'), ['tender_id'], unique=False)


def downgrade():
    op.drop_table('saved_search_hits')
    op.drop_table('saved_searches')
