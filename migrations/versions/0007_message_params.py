"""messages stored as a message id and parameters, rendered in the reader's language

Revision ID: 0007_message_params
Revises: 0006_evaluation
Create Date: 2026-12-01 11:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_message_params'
down_revision = '0006_evaluation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events') as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_column('params')
    with op.batch_alter_table('audit_events') as batch_op:
        batch_op.drop_column('params')
