"""audit chain hardening and the sealed bid ledger (issue 17)

- ``audit_events``: ``chain_format`` (1 for the events already sealed: their unkeyed hash stays valid;
  2 for every event sealed from now on, an HMAC over every column) and the sealed-ledger link
  (``ledger_seq``, ``ledger_prev_hash``, ``ledger_hash``, unique per tender);
- ``audit_chain_heads.mac``: the head's HMAC, computed here for an existing head with the chain key
  of the configuration this migration runs with (a frozen copy of audit/hashing.py's derivation);
- ``audit_ledger_heads`` and the append-only ``audit_published_heads``;
- on PostgreSQL, triggers refusing UPDATE, DELETE and TRUNCATE on the audit tables, except the
  sealer's writes: an event's chain columns set once (from NULL), a head moved forward.

Revision ID: 0019_audit_ledger
Revises: 0018_bid_public_ids
Create Date: 2026-12-02 13:30:00

"""

import hashlib
import hmac
import json

import sqlalchemy as sa
from alembic import op

import marketplace.core.db

revision = "0019_audit_ledger"
down_revision = "0018_bid_public_ids"
branch_labels = None
depends_on = None

AUDIT_TABLES = ("audit_events", "audit_chain_heads", "audit_ledger_heads", "audit_published_heads")

GUARD_FUNCTIONS = """
CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  chain_columns text[] := ARRAY['seq', 'prev_hash', 'hash', 'chain_format',
                                'ledger_seq', 'ledger_prev_hash', 'ledger_hash'];
  old_row jsonb := to_jsonb(OLD);
  new_row jsonb := to_jsonb(NEW);
  c text;
BEGIN
  IF (old_row - chain_columns) IS DISTINCT FROM (new_row - chain_columns) THEN
    RAISE EXCEPTION 'audit events are append-only: their content may not change'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  FOREACH c IN ARRAY chain_columns LOOP
    IF old_row -> c <> 'null'::jsonb AND (new_row -> c) IS DISTINCT FROM (old_row -> c) THEN
      RAISE EXCEPTION 'audit events are append-only: % is set once', c
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END LOOP;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (to_jsonb(NEW) -> TG_ARGV[0]) = (to_jsonb(OLD) -> TG_ARGV[0]) AND NEW.seq > OLD.seq THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit chain head only moves forward: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""

TRIGGERS = """
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_events_seal_once BEFORE UPDATE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_guard();
CREATE TRIGGER audit_chain_heads_no_delete BEFORE DELETE ON audit_chain_heads
  FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_chain_heads_forward BEFORE UPDATE ON audit_chain_heads
  FOR EACH ROW EXECUTE FUNCTION audit_head_guard('id');
CREATE TRIGGER audit_ledger_heads_no_delete BEFORE DELETE ON audit_ledger_heads
  FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_ledger_heads_forward BEFORE UPDATE ON audit_ledger_heads
  FOR EACH ROW EXECUTE FUNCTION audit_head_guard('tender_id');
CREATE TRIGGER audit_published_heads_append_only BEFORE UPDATE OR DELETE ON audit_published_heads
  FOR EACH ROW EXECUTE FUNCTION audit_refuse();
"""


def _truncate_trigger(table):
    return (
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();"
    )


def _head_mac_key():
    """A frozen copy of marketplace.audit.hashing.chain_key, from the configuration of this run."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from flask import current_app

    configured = current_app.config.get("AUDIT_CHAIN_KEY")
    secret, info = (
        (configured, b"audit-chain")
        if configured
        else (current_app.config["SECRET_KEY"], b"audit-chain-from-secret-key")
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(str(secret).encode())


def _head_mac(key, seq, hash_):
    content = json.dumps(
        {"chain": "main", "head_seq": seq, "head_hash": hash_}, sort_keys=True, separators=(",", ":")
    )
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).hexdigest()


def upgrade():
    op.create_table(
        "audit_ledger_heads",
        sa.Column("tender_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_audit_ledger_heads_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_audit_ledger_heads")),
    )
    op.create_table(
        "audit_published_heads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("published_at", marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_published_heads")),
    )
    with op.batch_alter_table("audit_published_heads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_published_heads_published_at"), ["published_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_published_heads_seq"), ["seq"], unique=False)
    with op.batch_alter_table("audit_chain_heads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_format", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ledger_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ledger_prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ledger_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_audit_events_tender_id_ledger_seq"), ["tender_id", "ledger_seq"]
        )

    bind = op.get_bind()
    # The events sealed so far keep their format-1 hash (docs/audit.md, "Formats").
    bind.execute(sa.text("UPDATE audit_events SET chain_format = 1 WHERE seq IS NOT NULL"))
    head = bind.execute(sa.text("SELECT seq, hash FROM audit_chain_heads WHERE id = 1")).first()
    if head is not None:
        bind.execute(
            sa.text("UPDATE audit_chain_heads SET mac = :mac WHERE id = 1"),
            {"mac": _head_mac(_head_mac_key(), head.seq, head.hash)},
        )

    if bind.dialect.name == "postgresql":
        op.execute(GUARD_FUNCTIONS)
        op.execute(TRIGGERS)
        for table in AUDIT_TABLES:
            op.execute(_truncate_trigger(table))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in AUDIT_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        for name, table in (
            ("audit_events_no_delete", "audit_events"),
            ("audit_events_seal_once", "audit_events"),
            ("audit_chain_heads_no_delete", "audit_chain_heads"),
            ("audit_chain_heads_forward", "audit_chain_heads"),
            ("audit_ledger_heads_no_delete", "audit_ledger_heads"),
            ("audit_ledger_heads_forward", "audit_ledger_heads"),
            ("audit_published_heads_append_only", "audit_published_heads"),
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_head_guard()")
        op.execute("DROP FUNCTION IF EXISTS audit_events_guard()")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse()")
    # Events sealed in format 2 stay in the table; an older release cannot verify them.
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_tender_id_ledger_seq"), type_="unique")
        batch_op.drop_column("ledger_hash")
        batch_op.drop_column("ledger_prev_hash")
        batch_op.drop_column("ledger_seq")
        batch_op.drop_column("chain_format")
    with op.batch_alter_table("audit_chain_heads", schema=None) as batch_op:
        batch_op.drop_column("mac")
    with op.batch_alter_table("audit_published_heads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_published_heads_seq"))
        batch_op.drop_index(batch_op.f("ix_audit_published_heads_published_at"))
    op.drop_table("audit_published_heads")
    op.drop_table("audit_ledger_heads")
