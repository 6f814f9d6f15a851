"""The audit log's hash chain: sealing by the ``seal-audit`` job, ``flask audit verify``, the backfilling
migration, and concurrent writers that take no chain lock (PostgreSQL).

Tampering is done the way an intruder with database access would: raw SQL or Core statements, past the
ORM guards that refuse updates and deletes.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, text

from marketplace import clock, create_app
from marketplace.audit import chain as audit_chain
from marketplace.audit import hashing
from marketplace.audit import log as audit
from marketplace.audit.chain import GENESIS_HASH, chain_key, verify_chain
from marketplace.audit.models import AuditChainHead, AuditEvent
from marketplace.extensions import db as _db
from tests.conftest import PG_URL

events_table = AuditEvent.__table__


def past_the_triggers() -> None:
    """What an intruder who owns the tables does first on PostgreSQL: switch the append-only triggers
    off (for the test's transaction only; docs/audit.md, "In the database")."""
    if _db.session.get_bind().dialect.name == "postgresql":
        _db.session.execute(text("SET session_replication_role = replica"))


def _seal() -> int:
    """What the seal-audit job does: seal every committed event, in its own transaction."""
    n = audit_chain.seal_all()
    _db.session.commit()
    return n


def _write(n: int, start: int = 1, actor=None) -> None:
    """``n`` events in one committed transaction, then sealed."""
    for i in range(start, start + n):
        audit.record(actor, "test.event", "thing", i, f"第 {i} 件事 event {i}", {"i": i, "名称": "社区养老"})
    _db.session.commit()
    _seal()


def _verify(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def _chain() -> list:
    return _db.session.execute(
        select(events_table.c.id, events_table.c.seq, events_table.c.prev_hash, events_table.c.hash)
        .where(events_table.c.seq.is_not(None))
        .order_by(events_table.c.seq)
    ).all()


def _id_at(seq: int) -> int:
    return _db.session.scalar(select(events_table.c.id).where(events_table.c.seq == seq))


def _assert_linked(rows) -> None:
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    prev = GENESIS_HASH
    for r in rows:
        assert r.prev_hash == prev and len(r.hash) == 64
        prev = r.hash


def _broken(result, *fragments) -> None:
    assert result.exit_code == 1, result.output
    assert "audit chain BROKEN at" in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


# --- the hash -----------------------------------------------------------------------------------------


def test_legacy_content_is_fixed():
    # A golden value: format 1 (events sealed before migration 0019) must keep verifying.
    event = {
        "occurred_at": datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        "actor_id": None,
        "actor_label": "system",
        "action": "tender.publish",
        "object_type": "tender",
        "object_id": "7",
        "summary": "发布 published",
        "changes": {"b": [1, "二"], "a": None},
        "tender_id": 7,
    }
    content = hashing.legacy_content(event, 3, "ab" * 32)
    assert (
        content
        == (
            '{"action":"tender.publish","actor_id":null,"actor_label":"system","changes":{"a":null,"b":[1,"二"]},'
            '"object_id":"7","object_type":"tender","occurred_at":"2026-03-10T02:00:00.000000+00:00",'
            f'"prev_hash":"{"ab" * 32}","seq":3,"summary":"发布 published","tender_id":7}}'
        ).encode()
    )
    assert hashing.legacy_hash(event, 3, "ab" * 32) == audit_chain.hashlib.sha256(content).hexdigest()
    # The same moment in another zone is the same content.
    shanghai = event | {
        "occurred_at": event["occurred_at"].astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    }
    assert hashing.legacy_content(shanghai, 3, "ab" * 32) == content


# --- linking ------------------------------------------------------------------------------------------


def test_empty_log_verifies(app, db):
    r = _verify(app)
    assert r.exit_code == 0, r.output
    assert "audit chain OK: 0 events" in r.output


def test_events_are_sealed_by_the_sealer_in_id_order(app, db):
    first = audit.record(None, "test.event", "thing", 1, "first")
    second = audit.record(None, "test.event", "thing", 2, "second")
    db.session.commit()
    assert (first.seq, second.seq) == (None, None)  # writing an event takes no chain lock
    r = _verify(app)
    assert r.exit_code == 0 and "not sealed yet: 2 events" in r.output, r.output
    assert _seal() == 2
    db.session.expire_all()
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert _seal() == 0  # idempotent
    _write(3, start=3)
    rows = _chain()
    _assert_linked(rows)
    head = db.session.get(AuditChainHead, 1)
    assert (head.seq, head.hash) == (5, rows[-1].hash)
    r = _verify(app)
    assert r.exit_code == 0, r.output
    assert "audit chain OK: 5 events" in r.output and "not sealed yet" not in r.output
    assert f"head: seq 5 hash {rows[-1].hash}" in r.output


def test_the_seal_job_seals_and_leaves_no_idle_runs(app, db):
    from marketplace.core.jobruns import JobRun
    from marketplace.jobs.runner import run_job

    audit.record(None, "test.event", "thing", 1, "to seal")
    db.session.commit()
    run = run_job("seal-audit")
    assert run.status == "ok" and run.changed == 1
    assert run_job("seal-audit").changed == 0
    runs = db.session.scalars(select(JobRun).where(JobRun.job == "seal-audit")).all()
    assert [r.changed for r in runs] == [1]  # an idle run leaves no row
    assert verify_chain().ok


def test_verb_events_verify(app, world, db):
    from tests import factories

    factories.published(world["officer"])
    db.session.commit()
    _seal()
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))) == 0
    )
    r = _verify(app)
    assert r.exit_code == 0, r.output


def test_rolled_back_events_leave_no_gap(app, db):
    _write(2)
    audit.record(None, "test.event", "thing", "gone", "rolled back")
    db.session.rollback()
    try:
        with db.session.begin_nested():
            audit.record(None, "test.event", "thing", "gone", "savepoint rolled back")
            db.session.flush()
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    _write(2, start=3)
    rows = _chain()
    _assert_linked(rows)
    assert len(rows) == 4
    assert _verify(app).exit_code == 0


def test_batches_seal_in_order(app, db):
    for i in range(7):
        audit.record(None, "test.event", "thing", i, f"event {i}")
    db.session.commit()
    assert audit_chain.seal(batch_size=3) == 3
    assert audit_chain.seal_all(batch_size=3) == 4
    db.session.commit()
    rows = _chain()
    _assert_linked(rows)
    assert [r.id for r in rows] == sorted(r.id for r in rows)


def test_awkward_content_round_trips(app, db):
    # Microseconds, a zero microsecond, non-ASCII, Decimals and tuples in changes, empty strings.
    clock.set_now(datetime(2026, 3, 10, 2, 0, 0, 123456, tzinfo=UTC))
    audit.record(
        None,
        "test.event",
        "合同",
        "HT-2026-001",
        "金额 ¥1,234.50 — “引号” \\ \n第二行",
        {
            "value": [Decimal("1234.50"), Decimal("0.10")],
            "pair": ("a", 1),
            "nested": {"深": {"x": 1.5, "y": True, "z": None}},
            "when": datetime(2026, 3, 1, tzinfo=UTC),
        },
    )
    clock.set_now(datetime(2026, 3, 10, 2, 0, 1, tzinfo=UTC))
    audit.record(None, "test.event", "thing", "", "")
    db.session.commit()
    _seal()
    db.session.expire_all()
    r = _verify(app)
    assert r.exit_code == 0, r.output
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "合同"))
    assert ev.occurred_at.microsecond == 123456
    row = {n: getattr(ev, n) for n in hashing.EVENT_COLUMNS} | {"hash": ev.hash}
    assert ev.chain_format == 2 and hashing.stored_hash_matches(row, chain_key())


def test_demo_seed_verifies(app, db):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["seed", "demo"])
    assert r.exit_code == 0, r.output
    _seal()
    r = _verify(app)
    assert r.exit_code == 0, r.output
    n = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_not(None)))
    in_ledgers = db.session.scalar(select(func.count()).where(AuditEvent.seq.is_(None)))
    assert n > 0 and f"audit chain OK: {n} events" in r.output
    # The demo's tenders still taking bids keep their bid events in sealed ledgers.
    assert in_ledgers > 0 and f"ledgers, {in_ledgers} events" in r.output
    _assert_linked(_chain())


# --- tampering ----------------------------------------------------------------------------------------


def _core_update(seq: int, **values) -> None:
    past_the_triggers()
    _db.session.execute(events_table.update().where(events_table.c.seq == seq).values(**values))


TAMPERING = {
    "summary": lambda: (
        past_the_triggers(),
        _db.session.execute(text("UPDATE audit_events SET summary='x' WHERE seq=3")),
    ),
    "actor_label": lambda: _core_update(3, actor_label="someone@else.org"),
    "action": lambda: _core_update(3, action="test.other"),
    "object_id": lambda: _core_update(3, object_id="999"),
    "changes": lambda: _core_update(3, changes={"i": 999}),
    "occurred_at by a microsecond": lambda: _core_update(
        3, occurred_at=clock.now() + timedelta(microseconds=1)
    ),
    "hash": lambda: _core_update(3, hash="f" * 64),
    "prev_hash": lambda: _core_update(3, prev_hash="e" * 64),
}


@pytest.mark.parametrize("what", TAMPERING)
def test_an_edited_event_is_named(app, db, what):
    _write(6)
    event_id = _id_at(3)
    assert _verify(app).exit_code == 0
    TAMPERING[what]()
    _broken(_verify(app), f"seq 3 (event id {event_id},", "content edited")
    report = verify_chain()
    assert (report.broken.kind, report.broken.seq, report.broken.event_id, report.events) == (
        "edited",
        3,
        event_id,
        2,
    )


def test_detection_across_batches(app, db):
    _write(7)
    assert _verify(app, "--batch-size", "2").exit_code == 0
    _core_update(5, summary="changed")
    _broken(_verify(app, "--batch-size", "2"), "seq 5", "content edited")


def test_a_deleted_event_is_named(app, db):
    _write(6)
    after = _id_at(4)
    past_the_triggers()
    db.session.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    _broken(_verify(app), "seq 3", "missing", f"event id {after}")
    assert verify_chain().broken.kind == "missing"


def test_deleting_the_newest_events_shows(app, db):
    _write(6)
    past_the_triggers()
    db.session.execute(text("DELETE FROM audit_events WHERE seq >= 5"))
    _broken(_verify(app), "seq 5", "newest events are missing", "head records seq 6")
    db.session.execute(text("DELETE FROM audit_events"))
    _broken(_verify(app), "seq 1", "missing")


def test_new_events_continue_the_recorded_chain_after_a_deletion(app, db):
    _write(6)
    past_the_triggers()
    db.session.execute(text("DELETE FROM audit_events WHERE seq = 6"))
    _write(1, start=7)  # appended after the head (seq 7), not in the deleted event's place
    assert _chain()[-1].seq == 7
    _broken(_verify(app), "seq 6", "missing")


def test_deleting_the_head_shows(app, db):
    _write(2)
    past_the_triggers()
    db.session.execute(text("DELETE FROM audit_chain_heads"))
    _broken(_verify(app), "head record is missing")


def test_swapped_content_is_named(app, db):
    _write(6)
    rows = {r.seq: r for r in db.session.execute(select(events_table).order_by(events_table.c.seq)).all()}
    _core_update(2, summary=rows[5].summary, object_id=rows[5].object_id, changes=rows[5].changes)
    _core_update(5, summary=rows[2].summary, object_id=rows[2].object_id, changes=rows[2].changes)
    _broken(_verify(app), f"seq 2 (event id {rows[2].id},", "content edited")


def test_swapped_positions_are_named(app, db):
    _write(6)
    two, five = _id_at(2), _id_at(5)
    past_the_triggers()
    db.session.execute(text("UPDATE audit_events SET seq = -1 WHERE id = :i"), {"i": two})
    db.session.execute(text("UPDATE audit_events SET seq = 2 WHERE id = :i"), {"i": five})
    db.session.execute(text("UPDATE audit_events SET seq = 5 WHERE id = :i"), {"i": two})
    _broken(_verify(app), f"seq 2 (event id {five},")


def _forged(seq: int | None, prev_hash: str | None, key: bytes | None = None, **overrides) -> int:
    """Insert an event the way an intruder would; with ``prev_hash`` its own hash is computed with
    ``key`` (an intruder who also has the chain key), or as format 1 (one who has not)."""
    past_the_triggers()
    values = {
        "occurred_at": clock.now(),
        "actor_id": None,
        "actor_label": "system",
        "action": "award.finalize",
        "object_type": "tender",
        "object_id": "1",
        "summary": "forged",
        "changes": None,
        "tender_id": None,
        "seq": seq,
        "prev_hash": prev_hash,
        "hash": None,
        "params": None,
        "chain_format": None,
        "ledger_seq": None,
        "ledger_prev_hash": None,
        "ledger_hash": None,
    } | overrides
    if prev_hash is not None:
        values["id"] = 1 + _db.session.scalar(select(func.max(events_table.c.id)))
        if key is None:
            values["chain_format"] = hashing.LEGACY_FORMAT
            values["hash"] = hashing.legacy_hash(values, seq, prev_hash)
        else:
            values["chain_format"] = hashing.FORMAT
            values["hash"] = hashing.event_hash(key, values)
    return _db.session.execute(events_table.insert().values(**values)).inserted_primary_key[0]


def test_an_unsealed_event_is_reported_with_its_age_not_judged(app, db):
    _write(3)
    clock.advance(timedelta(seconds=-90))
    forged = _forged(None, None)  # unsealed: written by the app or past it, the chain cannot tell yet
    clock.advance(timedelta(seconds=90))
    r = _verify(app)
    assert r.exit_code == 0 and "not sealed yet: 1 events, the oldest written 90 s ago" in r.output, r.output
    report = verify_chain()
    assert report.ok and report.unsealed == 1
    _seal()  # from now on it is protected like every other event
    assert _chain()[-1].id == forged and verify_chain().ok


def test_an_event_appended_past_the_head_is_named(app, db):
    _write(3)
    forged = _forged(4, _chain()[-1].hash, chain_key())  # perfectly linked, but not written by the app
    _broken(_verify(app), f"seq 4 (event id {forged},", "past the recorded head")


def test_an_event_forged_without_the_key_is_named(app, db):
    _write(3)
    forged = _forged(4, _chain()[-1].hash)  # linked, hashed the old unkeyed way
    _broken(_verify(app), f"seq 4 (event id {forged},", "chain format was changed")


def test_an_event_linked_out_of_order_is_named(app, db):
    _write(3)
    rows = _chain()
    forged = _forged(4, rows[0].hash, chain_key())  # claims to follow seq 1
    db.session.execute(AuditChainHead.__table__.update().values(seq=4))
    _broken(_verify(app), f"seq 4 (event id {forged},", "out of order")
    assert verify_chain().broken.kind == "out_of_order"


def test_an_event_inserted_in_the_middle_breaks_the_chain_after_it(app, db):
    _write(5)
    past_the_triggers()
    for seq in (5, 4, 3):
        _db.session.execute(events_table.update().where(events_table.c.seq == seq).values(seq=seq + 1))
    _forged(
        3, _chain()[1].hash, chain_key()
    )  # a correct link after seq 2; seq 4 (the old 3) no longer follows
    _broken(_verify(app), "seq 4", "content edited")


def test_events_committed_during_the_walk_are_walked(app, db, monkeypatch):
    _write(3)
    real_read_head = audit_chain._read_head
    appended = []

    def read_head_after_another_commit(connection):
        if not appended:
            appended.append(True)
            _write(2, start=4)
        return real_read_head(connection)

    monkeypatch.setattr(audit_chain, "_read_head", read_head_after_another_commit)
    report = verify_chain(batch_size=2)
    assert report.ok and report.events == 5


# --- the migration ------------------------------------------------------------------------------------


def _pg_schema_url(schema: str) -> str:
    url = sa.engine.make_url(PG_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture
def scratch_app(tmp_path):
    """A second app on an empty database of its own (a scratch schema on PostgreSQL)."""
    if PG_URL:
        schema = "audit_chain_scratch"
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = _pg_schema_url(schema)
    else:
        url = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    # The same settings as the suite's app: some extensions (the limiter) keep them on shared objects.
    scratch = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True,
            "UPLOAD_FOLDER": str(tmp_path),
            "AUDIT_HEADS_DIR": str(tmp_path / "audit-heads"),
            "BABEL_DEFAULT_LOCALE": "en",
            "LOG_LEVEL": "WARNING",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with scratch.app_context():
        yield scratch
        _db.session.remove()
        _db.engine.dispose()
    if PG_URL:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()


def test_migration_links_existing_events(scratch_app):
    from flask_migrate import upgrade

    upgrade(revision="0004_contracts")
    old_events = sa.table(
        "audit_events",
        *(
            sa.column(c.name, c.type)
            for c in events_table.columns
            if c.name not in ("seq", "prev_hash", "hash")
        ),
    )
    moments = [
        datetime(2025, 12, 31, 16, 0, 0, 999999, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    ]
    with _db.engine.begin() as conn:
        for i in range(2500):  # more than one batch of the migration
            conn.execute(
                old_events.insert().values(
                    occurred_at=moments[i % 2],
                    actor_label="system",
                    action="test.event",
                    object_type="thing",
                    object_id=str(i),
                    summary=f"旧事件 {i}",
                    changes={"i": i, "名": [i, None]} if i % 3 else None,
                )
            )
    upgrade()
    rows = _chain()
    assert len(rows) == 2500
    _assert_linked(rows)
    assert verify_chain(batch_size=700).ok
    # The app appends after the backfilled chain.
    _write(2)
    report = verify_chain()
    assert report.ok and report.events == 2502
    assert _verify(scratch_app).exit_code == 0


def test_concurrent_writers_on_sqlite_do_not_fork_the_chain(scratch_app):
    from flask_migrate import upgrade

    upgrade()
    _run_writers(scratch_app, threads=6, commits=5)
    _seal()
    rows = _chain()
    assert len(rows) == 6 * 5 * 2
    _assert_linked(rows)
    assert verify_chain().ok


# --- concurrency (PostgreSQL) -------------------------------------------------------------------------

needs_pg = pytest.mark.skipif(not PG_URL, reason="concurrency tests need PostgreSQL: set TEST_DATABASE_URL")


def _run_writers(app, threads: int, commits: int, sealer: bool = False) -> None:
    """``threads`` writers committing two events ``commits`` times; with ``sealer``, a thread sealing
    all along (as the job does) so sealing races the writers."""
    errors = []
    start = threading.Barrier(threads + (1 if sealer else 0))
    done = threading.Event()

    def seal_loop():
        try:
            with app.app_context():
                start.wait()
                while not done.is_set():
                    audit_chain.seal_all()
                    _db.session.commit()
                _db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def writer(n: int):
        try:
            with app.app_context():
                start.wait()
                for c in range(commits):
                    audit.record(None, "test.event", "writer", n, f"writer {n} commit {c} a")
                    _db.session.flush()
                    audit.record(None, "test.event", "writer", n, f"writer {n} commit {c} b")
                    _db.session.commit()
                _db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    sealing = threading.Thread(target=seal_loop) if sealer else None
    for w in workers + ([sealing] if sealing else []):
        w.start()
    for w in workers:
        w.join(60)
    done.set()
    if sealing:
        sealing.join(60)
    assert not errors, errors
    _db.session.remove()


@needs_pg
def test_concurrent_writers_do_not_fork_the_chain(app, committed):
    _run_writers(app, threads=10, commits=8, sealer=True)
    _seal()
    rows = _chain()
    assert len(rows) == 10 * 8 * 2
    _assert_linked(rows)
    r = _verify(app)
    assert r.exit_code == 0 and f"audit chain OK: {len(rows)} events" in r.output


@needs_pg
def test_writers_take_no_chain_lock(app, committed):
    """A transaction that has written events and not committed does not hold up another writer: the
    request path takes no chain lock at all (it is the sealer's). Ids follow insertion; an event
    committed late is sealed after events committed before it."""
    flushed, other_done = threading.Event(), threading.Event()
    errors = []

    def slow():
        try:
            with app.app_context():
                audit.record(None, "test.event", "slow", 1, "flushed first, committed last")
                _db.session.flush()
                flushed.set()
                assert other_done.wait(10), "the other writer was blocked"
                _db.session.commit()
                _db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def fast():
        try:
            with app.app_context():
                assert flushed.wait(10)
                audit.record(None, "test.event", "fast", 1, "flushed last, committed first")
                _db.session.commit()
                assert audit_chain.seal_all() == 1  # the sealer sees only what is committed
                _db.session.commit()
                other_done.set()
                _db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=slow), threading.Thread(target=fast)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    _seal()
    rows = _db.session.execute(select(AuditEvent.id, AuditEvent.seq, AuditEvent.object_type)).all()
    by_type = {r.object_type: r for r in rows}
    assert by_type["slow"].id < by_type["fast"].id
    assert (by_type["fast"].seq, by_type["slow"].seq) == (1, 2)
    assert verify_chain().ok
