"""uploads by content type and evaluation rounds kept as history (issue 17)

Revision ID: 0021_uploads_rounds
Revises: 0020_accounts
Create Date: 2026-12-02 13:30:00

Scores get the round they belong to. Existing rows are numbered from their ``superseded_at``: each
upheld challenge superseded a tender's current scores at one moment, so a tender's distinct
``superseded_at`` values, oldest first, are its rounds 1, 2, ...; its current scores are the round
after them. Uploads need no column: ``content_type`` now holds the detected type, and a row stored
before that is served as application/octet-stream (core.filetypes.served_type).
"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0021_uploads_rounds'
down_revision = '0020_accounts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default=sa.text('1'), nullable=False))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            'SELECT DISTINCT m.tender_id, s.superseded_at FROM scores s '
            'JOIN committee_members m ON m.id = s.member_id WHERE s.superseded_at IS NOT NULL '
            'ORDER BY m.tender_id, s.superseded_at'
        )
    ).all()
    rounds: dict = {}
    for tender_id, superseded_at in rows:
        rounds.setdefault(tender_id, []).append(superseded_at)
    for tender_id, moments in rounds.items():
        members = sa.text('SELECT id FROM committee_members WHERE tender_id = :t')
        for number, moment in enumerate(moments, start=1):
            bind.execute(
                sa.text(
                    f'UPDATE scores SET round = :n WHERE superseded_at = :at AND member_id IN ({members.text})'
                ),
                {'n': number, 'at': moment, 't': tender_id},
            )
        bind.execute(
            sa.text(f'UPDATE scores SET round = :n WHERE superseded_at IS NULL AND member_id IN ({members.text})'),
            {'n': len(moments) + 1, 't': tender_id},
        )


def downgrade():
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_column('round')
