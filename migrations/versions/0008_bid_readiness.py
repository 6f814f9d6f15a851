"""a saved bid draft keeps its checked content and digest, so submitting is cheap

Revision ID: 0008_bid_readiness
Revises: 0007_message_params
Create Date: 2026-12-01 19:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_bid_readiness'
down_revision = '0007_message_params'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bids') as batch_op:
        batch_op.add_column(sa.Column('ready_content', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('ready_digest', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('bids') as batch_op:
        batch_op.drop_column('ready_digest')
        batch_op.drop_column('ready_content')
