"""when a tender failed (流标/废标): bid bonds of a procurement that ended without an award are due back
from then

Revision ID: 0014_tender_failed_at
Revises: 0013_retention
Create Date: 2026-12-02 00:40:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0014_tender_failed_at'
down_revision = '0013_retention'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenders') as batch_op:
        batch_op.add_column(sa.Column('failed_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=True))
    # Tenders that failed at the opening: the opening's time.
    op.execute(
        "UPDATE tenders SET failed_at = (SELECT opened_at FROM bid_openings WHERE bid_openings.tender_id = tenders.id "
        "AND bid_openings.failed) WHERE status = 'failed'"
    )


def downgrade():
    with op.batch_alter_table('tenders') as batch_op:
        batch_op.drop_column('failed_at')
