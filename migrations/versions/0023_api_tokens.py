"""personal API tokens and API idempotency keys (issue 19)

Revision ID: 0023_api_tokens
Revises: 0022_search_speed
Create Date: 2026-12-02 17:00:00

Personal API tokens (auth.models.ApiToken): only the SHA-256 of a token is stored. The idempotency
keys of the delivery imports are the delivery migration's (0024).
"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0023_api_tokens'
down_revision = '0022_search_speed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('created_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('revoked_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('prefix', name=op.f('uq_api_tokens_prefix')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')
