"""OCDS release feed watermark (issue 19): ocds_feed_releases, every release once at its feed position,
and ocds_feed_counter, the last position given out (locked by whoever positions releases).

Existing releases get their positions from the first run of the ``ocds-feed`` jobs (they are computed
from the process's rows by the application, which a migration does not import): process by process in
tender id order, each process's releases oldest first, which is the order the old paged
``/api/v1/ocds/releases`` listed them in (docs/ocds.md).

Revision ID: 0025_ocds_feed
Revises: 0024_service_imports
Create Date: 2026-12-02 17:00:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0025_ocds_feed'
down_revision = '0024_service_imports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ocds_feed_releases',
    sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('release_id', sa.String(length=255), nullable=False),
    sa.Column('ocid', sa.String(length=64), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('release', sa.JSON(), nullable=False),
    sa.Column('closing', sa.Boolean(), nullable=False),
    sa.Column('positioned_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_ocds_feed_releases_tender_id_tenders')),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_ocds_feed_releases')),
    sa.UniqueConstraint('release_id', name=op.f('uq_ocds_feed_releases_release_id'))
    )
    with op.batch_alter_table('ocds_feed_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ocds_feed_releases_tender_id'), ['tender_id'], unique=False)

    counter = op.create_table('ocds_feed_counter',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', marketplace.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ocds_feed_counter'))
    )
    # The row positioners lock; the code creates it again if an emptied database lost it.
    op.bulk_insert(counter, [{'id': 1, 'position': 0, 'updated_at': datetime.now(UTC)}])


def downgrade():
    op.drop_table('ocds_feed_counter')
    with op.batch_alter_table('ocds_feed_releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ocds_feed_releases_tender_id'))

    op.drop_table('ocds_feed_releases')
