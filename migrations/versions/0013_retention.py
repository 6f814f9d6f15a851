"""retention

Revision ID: 0013_retention
Revises: 0012_time_limits_bonds
Create Date: 2026-12-01 23:35:00

Procurement files are kept at least 15 years (GPL 42): a bid attachment removed from a draft after a
submitted version listed it is kept (``removed_at``), and a re-evaluation supersedes the earlier
scores (``superseded_at``) instead of deleting them, so one current score per member, bid and
criterion (a partial unique index) replaces the plain unique constraint.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import marketplace.core.db


revision = '0013_retention'
down_revision = '0012_time_limits_bonds'
branch_labels = None
depends_on = None

_CURRENT = sa.text('superseded_at IS NULL')


def upgrade():
    with op.batch_alter_table('bid_attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_scores_member_id_bid_id_criterion_id', type_='unique')
    op.create_index(
        'uq_scores_current',
        'scores',
        ['member_id', 'bid_id', 'criterion_id'],
        unique=True,
        sqlite_where=_CURRENT,
        postgresql_where=_CURRENT,
    )


def downgrade():
    # The earlier schema cannot hold kept rows beside the current ones: they go (the files stay).
    op.execute('DELETE FROM scores WHERE superseded_at IS NOT NULL')
    op.drop_index('uq_scores_current', table_name='scores')
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            'uq_scores_member_id_bid_id_criterion_id', ['member_id', 'bid_id', 'criterion_id']
        )
        batch_op.drop_column('superseded_at')

    op.execute('DELETE FROM bid_attachments WHERE removed_at IS NOT NULL')
    with op.batch_alter_table('bid_attachments', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
