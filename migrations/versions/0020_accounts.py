"""sessions and accounts: session version, email verification, password reset, throttling (issue 17)

Revision ID: 0020_accounts
Revises: 0019_audit_ledger
Create Date: 2026-12-02 13:30:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0020_accounts'
down_revision = '0019_audit_ledger'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('email_verified_at', marketplace.core.db.UTCDateTime(), nullable=True))
    # Accounts that exist already were made by an administrator, the CLI or an invitation: confirmed.
    op.execute(sa.text('UPDATE users SET email_verified_at = created_at'))

    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_until', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('last_failure_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )


def downgrade():
    op.drop_table('login_throttles')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('session_version')
