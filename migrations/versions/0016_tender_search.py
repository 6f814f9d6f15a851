"""tender search index (issue 16): tenders.search_tokens, indexed by a GIN index on PostgreSQL and an
FTS5 table on SQLite (docs/search.md); indexes for the search's sorts and district filter

Revision ID: 0016_tender_search
Revises: 0015_sealed_bids
Create Date: 2026-12-02 06:00:00

"""
from alembic import op
import sqlalchemy as sa

from marketplace.tenders.search_index import FTS_TABLE, FTS_TRIGGERS, PG_INDEX, SearchTokens, refill


revision = '0016_tender_search'
down_revision = '0015_sealed_bids'
branch_labels = None
depends_on = None

# A contentless FTS5 table (it stores only the index) with two columns, the title's tokens and the
# others' (so bm25 can weigh the title), read from tenders.search_tokens, whose fields are separated by
# '|'. The triggers keep it in step with every insert, update and delete of a tender; a 'delete' must
# name the values indexed, which the old row holds. The 'ascii' tokenizer splits on ASCII spaces and
# punctuation only, so the application's tokens reach the index whole.
_TITLE = "substr({0}.search_tokens, 1, instr({0}.search_tokens, '|') - 1)"
_BODY = "substr({0}.search_tokens, instr({0}.search_tokens, '|') + 1)"
_ADD = f"INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES ({{0}}.id, {_TITLE}, {_BODY})"
_REMOVE = (
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body) "
    f"VALUES ('delete', {{0}}.id, {_TITLE}, {_BODY})"
)
_FTS_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, body, content='', tokenize='ascii')",
    f"INSERT INTO {FTS_TABLE}(rowid, title, body) "
    f"SELECT id, {_TITLE.format('tenders')}, {_BODY.format('tenders')} FROM tenders",
    f"CREATE TRIGGER {FTS_TRIGGERS[0]} AFTER INSERT ON tenders BEGIN {_ADD.format('new')}; END",
    f"CREATE TRIGGER {FTS_TRIGGERS[1]} AFTER DELETE ON tenders BEGIN {_REMOVE.format('old')}; END",
    f"CREATE TRIGGER {FTS_TRIGGERS[2]} AFTER UPDATE OF search_tokens ON tenders BEGIN "
    f"{_REMOVE.format('old')}; {_ADD.format('new')}; END",
)


def upgrade():
    conn = op.get_bind()
    op.add_column('tenders', sa.Column('search_tokens', SearchTokens(), server_default='', nullable=False))
    # What the search's sorts and its district filter read instead of scanning the table.
    op.create_index(op.f('ix_tenders_budget_ceiling'), 'tenders', ['budget_ceiling'], unique=False)
    op.create_index(op.f('ix_tenders_published_at'), 'tenders', ['published_at'], unique=False)
    op.create_index(
        'ix_tender_service_areas_district_code',
        'tender_service_areas',
        ['district_code', 'tender_id'],
        unique=False,
    )
    # The tokens are the application's (a Python tokenizer), computed in batches; before the index
    # exists, so it is built once from the filled column.
    refill(conn)
    if conn.dialect.name == 'postgresql':
        op.execute(f'CREATE INDEX {PG_INDEX} ON tenders USING gin (search_tokens)')
    else:
        for statement in _FTS_DDL:
            op.execute(statement)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        op.execute(f'DROP INDEX {PG_INDEX}')
    else:
        for trigger in FTS_TRIGGERS:
            op.execute(f'DROP TRIGGER {trigger}')
        op.execute(f'DROP TABLE {FTS_TABLE}')
    op.drop_index('ix_tender_service_areas_district_code', table_name='tender_service_areas')
    op.drop_index(op.f('ix_tenders_published_at'), table_name='tenders')
    op.drop_index(op.f('ix_tenders_budget_ceiling'), table_name='tenders')
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.drop_column('search_tokens')
