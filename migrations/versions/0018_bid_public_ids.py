"""random public identifiers for bids (issue 17): bids, bid_attachments and bid_bonds get a random
``public_id`` (22 URL-safe characters), the only id shown in URLs, pages and forms; the sequential
ids would tell how many bids were made, and when, before the opening

Revision ID: 0018_bid_public_ids
Revises: 0017_export_tasks
Create Date: 2026-12-02 13:30:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0018_bid_public_ids'
down_revision = '0017_export_tasks'
branch_labels = None
depends_on = None

TABLES = ('bids', 'bid_attachments', 'bid_bonds')


def _fill(table_name):
    # Random values, not derived from the id (a hash of the id would be guessable); one UPDATE per row.
    table = sa.table(table_name, sa.column('id', sa.Integer), sa.column('public_id', sa.String))
    conn = op.get_bind()
    for (row_id,) in conn.execute(sa.select(table.c.id)).fetchall():
        conn.execute(
            table.update().where(table.c.id == row_id).values(public_id=secrets.token_urlsafe(16))
        )


def upgrade():
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('public_id', sa.String(length=22), nullable=True))
        _fill(name)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column('public_id', existing_type=sa.String(length=22), nullable=False)
            batch_op.create_index(batch_op.f(f'ix_{name}_public_id'), ['public_id'], unique=True)


def downgrade():
    for name in reversed(TABLES):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{name}_public_id'))
            batch_op.drop_column('public_id')
