"""Issue 17: the audit chain resists more than casual edits, and shows nothing of bids before the opening.

- Hidden bid events go to their tender's sealed ledger, not the main chain: no gap, no count, no timing
  in what auditors see; at the opening they are sealed into the main chain.
- Every column is hashed (the id included), with a key; heads carry a MAC; heads are published.
- The four edits that passed ``audit verify`` before are caught.
- On PostgreSQL, triggers refuse UPDATE and DELETE, and the restricted role cannot drop them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, text

from marketplace import clock
from marketplace.audit import chain as audit_chain
from marketplace.audit import hashing, published
from marketplace.audit import log as audit
from marketplace.audit.chain_cli import role_sql
from marketplace.audit.models import AuditChainHead, AuditEvent, AuditLedgerHead, AuditPublishedHead
from marketplace.extensions import db as _db
from marketplace.tenders.bids import submission
from tests import bid_factories as bf
from tests import factories
from tests.conftest import PG_URL
from tests.test_audit_chain import _seal, _verify, _write, past_the_triggers
from tests.test_audit_log_page import _rows

events = AuditEvent.__table__
heads = AuditChainHead.__table__
CSRF = re.compile(r'name="csrf_token" value="[^"]*"')
needs_pg = pytest.mark.skipif(not PG_URL, reason="PostgreSQL triggers: set TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _heads_dir(app, tmp_path):
    saved = app.config["AUDIT_HEADS_DIR"]
    app.config["AUDIT_HEADS_DIR"] = str(tmp_path / "audit-heads")
    yield
    app.config["AUDIT_HEADS_DIR"] = saved


def _broken(result, *fragments) -> None:
    assert result.exit_code == 1, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def _publish() -> dict:
    done = published.publish(clock.now())
    _db.session.commit()
    return done


def _main_seqs() -> list[int]:
    return list(
        _db.session.scalars(select(events.c.seq).where(events.c.seq.is_not(None)).order_by(events.c.seq))
    )


# --- every column, keyed ------------------------------------------------------------------------------


def test_every_column_but_the_hash_is_hashed():
    assert {c.name for c in events.columns} - {"hash"} == set(hashing.EVENT_COLUMNS)
    assert "id" in hashing.EVENT_COLUMNS


def test_the_hash_is_keyed(app, db):
    _write(2)
    row = db.session.execute(select(events).where(events.c.seq == 2)).mappings().one()
    assert row["chain_format"] == hashing.FORMAT
    assert hashing.stored_hash_matches(row, audit_chain.chain_key())
    assert not hashing.stored_hash_matches(row, b"another key" * 3)
    # The key comes from configuration: AUDIT_CHAIN_KEY, or (outside production) SECRET_KEY.
    assert hashing.chain_key({"AUDIT_CHAIN_KEY": "k1", "SECRET_KEY": "s"}) != hashing.chain_key(
        {"AUDIT_CHAIN_KEY": "k2", "SECRET_KEY": "s"}
    )
    assert hashing.chain_key({"AUDIT_CHAIN_KEY": "", "SECRET_KEY": "s"}) != hashing.chain_key(
        {"AUDIT_CHAIN_KEY": "", "SECRET_KEY": "t"}
    )


def test_production_needs_the_chain_key(tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    from marketplace.config import ConfigError, load_config

    monkeypatch.delenv("AUDIT_CHAIN_KEY", raising=False)
    monkeypatch.delenv("AUDIT_HEAD_SIGNING_KEY", raising=False)
    base = {
        "ENV": "production",
        "SECRET_KEY": "x" * 32,
        "BID_KEY_WRAPPING_KEYS": Fernet.generate_key().decode(),
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://app@db/marketplace",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "MAIL_SUPPRESS_SEND": True,
    }
    with pytest.raises(ConfigError, match="AUDIT_CHAIN_KEY"):
        load_config(str(tmp_path), base)
    with pytest.raises(ConfigError, match="AUDIT_HEAD_SIGNING_KEY"):
        load_config(str(tmp_path), base | {"AUDIT_CHAIN_KEY": "k" * 40, "AUDIT_HEAD_SIGNING_KEY": "c2hvcnQ="})
    seed = base64.b64encode(b"\x01" * 32).decode()
    config = load_config(str(tmp_path), base | {"AUDIT_CHAIN_KEY": "k" * 40, "AUDIT_HEAD_SIGNING_KEY": seed})
    assert config["AUDIT_CHAIN_KEY"] == "k" * 40


# --- the four edits that passed `audit verify` before -------------------------------------------------


def test_deleting_the_newest_events_and_moving_the_head_back(app, db):
    _write(4)
    backup = dict(db.session.execute(select(heads)).mappings().one())  # a head as an old backup has it
    _write(3, start=5)
    _publish()
    past_the_triggers()
    db.session.execute(text("DELETE FROM audit_events WHERE seq > 4"))
    # Moved back to the newest remaining event, with a MAC made without the key: the MAC shows it.
    db.session.execute(
        heads.update().values(
            seq=4, hash=backup["hash"], mac=hashlib.sha256(backup["hash"].encode()).hexdigest()
        )
    )
    _broken(_verify(app), "head's MAC does not match")
    # Moved back to a head copied from a backup (a valid MAC): the published head shows it.
    db.session.execute(heads.update().values(mac=backup["mac"]))
    result = _verify(app)
    assert "audit chain OK: 4 events" in result.output  # the chain alone cannot tell any more
    _broken(result, "published heads BROKEN", "seq 7 was published, but the chain ends at seq 4")


def test_deleting_everything(app, db):
    _write(3)
    _publish()
    assert _verify(app).exit_code == 0
    past_the_triggers()
    for table in ("audit_published_heads", "audit_chain_heads", "audit_events"):
        db.session.execute(text(f"DELETE FROM {table}"))
    result = _verify(app)
    assert "audit chain OK: 0 events" in result.output
    # The signed file outside the database still names the head.
    _broken(result, "published heads BROKEN", "seq 3 was published, but the chain ends at seq 0")


def test_recomputing_the_chain_after_an_edit_without_the_key(app, db):
    _write(5)
    past_the_triggers()
    db.session.execute(text("UPDATE audit_events SET summary = 'rewritten' WHERE seq = 3"))
    # The intruder recomputes every hash from the edited event on, and the head, as best they can: with
    # the published algorithm but not the key (SHA-256, or an HMAC with a guessed key).
    rows = db.session.execute(select(events).where(events.c.seq >= 3).order_by(events.c.seq)).mappings().all()
    prev = rows[0]["prev_hash"]
    guessed = hashlib.sha256(b"guessed").digest()
    for row in rows:
        digest = hashing.event_hash(guessed, dict(row) | {"prev_hash": prev})
        db.session.execute(
            events.update().where(events.c.id == row["id"]).values(prev_hash=prev, hash=digest)
        )
        prev = digest
    db.session.execute(heads.update().values(hash=prev, mac=hashing.head_mac(guessed, "main", 5, prev)))
    _broken(_verify(app), "seq 3", "content edited")
    # The old unkeyed format does not pass either.
    db.session.execute(events.update().where(events.c.seq == 3).values(chain_format=hashing.LEGACY_FORMAT))
    _broken(_verify(app), "seq 3", "content edited")


def test_changing_an_id(app, db):
    _write(4)
    event_id = db.session.scalar(select(events.c.id).where(events.c.seq == 2))
    past_the_triggers()
    db.session.execute(
        text("UPDATE audit_events SET id = :new WHERE id = :old"), {"new": event_id + 1000, "old": event_id}
    )
    _broken(_verify(app), f"seq 2 (event id {event_id + 1000},", "content edited")


# --- published heads ----------------------------------------------------------------------------------


def test_the_head_is_published_signed_and_shown(app, db, client, tmp_path):
    assert _publish() == {"changed": 0}  # nothing sealed yet: nothing to publish
    _write(3)
    done = _publish()
    assert done["changed"] == 1 and done["seq"] == 3
    assert _publish() == {"changed": 0}  # the head has not moved
    row = db.session.scalars(select(AuditPublishedHead)).one()
    head = db.session.get(AuditChainHead, 1)
    assert (row.seq, row.hash) == (3, head.hash)
    files = list((tmp_path / "audit-heads").glob("*.json"))
    assert [f.name for f in files] == ["2026-03-10.json"]
    data = json.loads(files[0].read_text())
    assert (data["seq"], data["hash"]) == (3, head.hash)
    assert published.signature_ok(
        data["public_key"], data["signature"], 3, head.hash, clock.now()
    ) and not published.signature_ok(data["public_key"], data["signature"], 4, head.hash, clock.now())
    page = client.get("/open/audit-heads").get_data(as_text=True)
    assert head.hash in page and row.signature in page and published.public_key_b64() in page
    r = _verify(app)
    assert r.exit_code == 0 and "published heads OK: 2 found in the chain" in r.output, r.output


def test_a_forged_published_file_is_refused(app, db, tmp_path):
    _write(2)
    _publish()
    path = next((tmp_path / "audit-heads").glob("*.json"))
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data | {"seq": 1}))
    _broken(_verify(app), "signature does not match")


def test_the_publish_job_is_registered(app, db):
    from marketplace.jobs.runner import run_job

    _write(1)
    assert run_job("publish-audit-head").changed == 1
    assert run_job("publish-audit-head").changed == 0


# --- sealed ledgers -----------------------------------------------------------------------------------


def _tender_with_bids(world, n=3):
    tender = factories.published(world["officer"], bid_deadline=factories.deadline_in(29))
    for i in range(n):
        bf.submitted_bid(tender, *bf.organization(f"账本机构{i}"))
    return tender


def test_hidden_bid_events_take_no_main_position(app, world, db, client, login_as):
    from marketplace.jobs.runner import run_job

    _write(2)
    login_as("auditor")
    seqs = _main_seqs()
    tender = _tender_with_bids(world)
    db.session.commit()
    bid_events = db.session.scalar(select(func.count()).where(events.c.object_type == "bid"))
    assert bid_events >= 3
    # The job's count (in the run log) is the main chain's only.
    main_events = db.session.scalar(
        select(func.count()).where(events.c.seq.is_(None), events.c.object_type != "bid")
    )
    assert run_job("seal-audit").changed == main_events
    assert (
        db.session.scalar(
            select(func.count()).where(events.c.object_type == "bid", events.c.seq.is_not(None))
        )
        == 0
    )
    in_ledger = (
        db.session.execute(
            select(events.c.ledger_seq).where(
                events.c.tender_id == tender.id, events.c.ledger_seq.is_not(None)
            )
        )
        .scalars()
        .all()
    )
    assert sorted(in_ledger) == list(range(1, bid_events + 1))
    assert db.session.get(AuditLedgerHead, tender.id).seq == bid_events
    all_seqs = _main_seqs()
    assert all_seqs == list(range(1, len(all_seqs) + 1))  # no gap
    assert seqs == all_seqs[: len(seqs)]
    r = _verify(app)
    assert r.exit_code == 0 and f"sealed ledgers OK: 1 ledgers, {bid_events} events" in r.output, r.output
    # What the auditor sees: the tender's own events, nothing of the bids.
    page = client.get("/audit?object_type=bid").get_data(as_text=True)
    assert "No events match these filters." in page
    assert not [row for row in _rows(client.get("/audit?per_page=100")) if row["object"].startswith("bid ")]

    # The opening makes them visible: the next pass seals them into the main chain, in ledger order.
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    bf.open_sealed(tender, world["officer"])
    db.session.commit()
    _seal()
    rows = db.session.execute(
        select(events.c.seq, events.c.ledger_seq).where(events.c.object_type == "bid").order_by(events.c.seq)
    ).all()
    assert all(r.seq is not None for r in rows) and [r.ledger_seq for r in rows] == sorted(
        r.ledger_seq for r in rows
    )
    all_seqs = _main_seqs()
    assert all_seqs == list(range(1, len(all_seqs) + 1))
    r = _verify(app)
    assert r.exit_code == 0, r.output
    shown = _rows(client.get("/audit?object_type=bid&per_page=100"))
    assert len(shown) == bid_events and all(row["seq"].isdigit() for row in shown)


def test_the_audit_log_is_the_same_whether_bids_were_made_or_not(app, world, db, client, login_as):
    """The differential check, on the audit log: the same non-bid events, with or without bids (and
    their saving, submitting and withdrawing) in between, give the same pages."""
    tender = factories.published(world["officer"], bid_deadline=factories.deadline_in(29))
    org, member = bf.organization("差分机构")
    db.session.commit()
    _seal()
    login_as("auditor")

    def pages():
        return [
            CSRF.sub("", client.get(url).get_data(as_text=True))
            for url in ("/audit", "/audit?per_page=1&page=2", "/audit?actor=" + member.email)
        ]

    before, last = pages(), max(_main_seqs())
    bid = bf.submitted_bid(tender, org, member)[0]
    submission.withdraw(bid, member)
    db.session.commit()
    _seal()
    assert pages() == before
    audit.record(world["officer"], "test.after", "thing", 1, "an ordinary event after the bids")
    db.session.commit()
    _seal()
    with_bids = pages()
    newest = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "test.after"))
    assert newest.seq == max(_main_seqs()) == last + 1  # no gap where the bid events were
    assert f">{newest.seq}<" in with_bids[0]
    # Ids are not shown anywhere on the page (they are global and counted bids too).
    assert f"event id {newest.id}" not in with_bids[0]


def test_an_edited_ledger_event_is_named(app, world, db):
    tender = _tender_with_bids(world, 1)
    db.session.commit()
    _seal()
    assert _verify(app).exit_code == 0
    past_the_triggers()
    db.session.execute(
        events.update().where(events.c.tender_id == tender.id, events.c.ledger_seq == 1).values(summary="x")
    )
    _broken(_verify(app), f"tender {tender.id}'s sealed ledger, ledger seq 1", "content edited")


def test_deleting_a_ledgers_newest_event_and_moving_its_head_back(app, world, db):
    tender = _tender_with_bids(world, 2)
    db.session.commit()
    _seal()
    last = db.session.get(AuditLedgerHead, tender.id).seq
    past_the_triggers()
    db.session.execute(events.delete().where(events.c.tender_id == tender.id, events.c.ledger_seq == last))
    _broken(_verify(app), f"head records ledger seq {last} but the ledger ends at {last - 1}")
    prev = db.session.scalar(
        select(events.c.ledger_hash).where(events.c.tender_id == tender.id, events.c.ledger_seq == last - 1)
    )
    db.session.execute(
        AuditLedgerHead.__table__.update()
        .where(AuditLedgerHead.tender_id == tender.id)
        .values(seq=last - 1, hash=prev)
    )
    _broken(_verify(app), "the head's MAC does not match")


# --- in the database (PostgreSQL) ---------------------------------------------------------------------


def _refused(statement, params=None) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="append-only|only moves forward"):
        with _db.session.begin_nested():
            _db.session.execute(text(statement), params or {})


@needs_pg
def test_triggers_refuse_update_and_delete(app, world, db):
    _write(3)
    tender = _tender_with_bids(world, 1)
    db.session.commit()
    _seal()
    _publish()
    _refused("UPDATE audit_events SET summary = 'x' WHERE seq = 1")
    _refused("UPDATE audit_events SET id = id + 1000 WHERE seq = 1")
    _refused("UPDATE audit_events SET seq = seq + 100 WHERE seq = 1")  # set once
    _refused("UPDATE audit_events SET hash = :h WHERE seq = 1", {"h": "0" * 64})
    _refused("DELETE FROM audit_events WHERE seq = 3")
    _refused("DELETE FROM audit_events")
    _refused("UPDATE audit_chain_heads SET seq = seq - 1")  # backwards
    _refused("DELETE FROM audit_chain_heads")
    _refused("UPDATE audit_ledger_heads SET seq = seq - 1")
    _refused("DELETE FROM audit_ledger_heads")
    _refused("UPDATE audit_published_heads SET seq = 1")
    _refused("DELETE FROM audit_published_heads")
    _refused("TRUNCATE audit_events CASCADE")
    # What the sealer does still works: set the chain columns once, move the heads forward.
    _write(2, start=10)
    _refused("UPDATE audit_events SET ledger_hash = :h WHERE tender_id = :t", {"h": "1" * 64, "t": tender.id})
    assert _verify(app).exit_code == 0


@needs_pg
def test_the_restricted_role_cannot_drop_the_triggers(app):
    url = sa.engine.make_url(PG_URL)
    role = f"mp_app_{url.database}"[:60]
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        owner = conn.scalar(text("SELECT current_user"))
        conn.exec_driver_sql(f"DROP OWNED BY {role}") if conn.scalar(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ) else None
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        conn.exec_driver_sql(role_sql(role, owner))
    app_engine = sa.create_engine(url.set(username=role))
    try:
        for statement in (
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "DROP TRIGGER audit_events_no_delete ON audit_events",
            "ALTER TABLE audit_events DISABLE TRIGGER USER",
            "SET session_replication_role = replica",
            "UPDATE audit_published_heads SET seq = 1",
        ):
            with app_engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
                conn.exec_driver_sql(statement)
        with app_engine.connect() as conn:  # it reads and writes as the application does
            assert conn.exec_driver_sql("SELECT count(*) FROM audit_events").scalar() >= 0
    finally:
        app_engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_db_role_prints_the_sql(app):
    r = app.test_cli_runner().invoke(args=["audit", "db-role", "--role", "mp_app", "--owner", "mp_owner"])
    assert r.exit_code == 0, r.output
    assert "CREATE ROLE mp_app LOGIN NOSUPERUSER" in r.output
    assert "REVOKE DELETE, TRUNCATE ON public.audit_events" in r.output
    r = app.test_cli_runner().invoke(args=["audit", "db-role", "--role", "x; DROP TABLE users"])
    assert r.exit_code == 2 and "lower-case letters" in r.output
    r = app.test_cli_runner().invoke(args=["audit", "db-role", "--role", "same", "--owner", "same"])
    assert r.exit_code == 2
