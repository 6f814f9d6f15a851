"""GET and HEAD never write (STYLE.md rule 2): every GET route, as every demo role, on the demo data,
at the demo's own time and again weeks later when deadlines and challenge windows have passed but
no job has run. A listener on the engine records every INSERT, UPDATE or DELETE sent while a request
is served; there must be none. Time-driven changes are the scheduled jobs' (see marketplace/jobs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import event, select
from werkzeug.routing import BuildError

from marketplace import clock
from marketplace.auth.models import User
from marketplace.extensions import db as _db

WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")
SKIPPED_ENDPOINTS = {"static", "bootstrap.static"}


def _ids(db) -> dict[str, list]:
    """A few real values for each URL argument, drawn from the demo data."""
    from marketplace.audit.models import AuditEvent
    from marketplace.bonds.models import BidBond
    from marketplace.contracts.models import Contract, ContractDocument, Milestone, ServiceRecord
    from marketplace.orgs.models import Organization
    from marketplace.performance.models import Evaluation, IndicatorTemplate, Survey
    from marketplace.tenders.bids.models import Bid, BidAttachment
    from marketplace.tenders.committee.models import CommitteeMember
    from marketplace.tenders.models import Tender, TenderDocument

    def first(column, n=3, where=None):
        stmt = select(column).order_by(column)
        if where is not None:
            stmt = stmt.where(where)
        return list(db.session.scalars(stmt.limit(n))) or [1]

    tenders = []
    for status in ("open", "awarded", "failed", "draft", "cancelled"):
        tenders += first(Tender.id, 1, Tender.status == status)
    return {
        "tender_id": tenders,
        "bid_ref": first(Bid.public_id),
        "contract_id": first(Contract.id),
        "member_id": first(CommitteeMember.id),
        "evaluation_id": first(Evaluation.id),
        "template_id": first(IndicatorTemplate.id, 2),
        "org_id": first(Organization.id),
        "milestone_id": first(Milestone.id),
        "record_id": first(ServiceRecord.id),
        "doc_id": first(TenderDocument.id, 2),
        "document_id": first(ContractDocument.id, 2),
        "attachment_ref": first(BidAttachment.public_id, 2),
        "bond_ref": first(BidBond.public_id, 1),
        "key": first(Survey.key, 1),
        "ocid": [f"{_ocid_prefix()}-{tenders[0]}"],
        "event_id": first(AuditEvent.id, 1),
    }


def _ocid_prefix() -> str:
    from flask import current_app

    return current_app.config.get("OCDS_PREFIX", "ocds-xxxxxx")


def _urls(app, ids):
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS:
                continue
            args = sorted(rule.arguments)
            if not args:
                yield url_for(rule.endpoint)
                continue
            primary = args[0]
            for value in ids.get(primary, ["1"]):
                values = {a: ids.get(a, ["1"])[0] for a in args}
                values[primary] = value
                try:
                    yield url_for(rule.endpoint, **values)
                except (BuildError, ValueError):  # a converter that refuses the sample value
                    continue


@pytest.fixture
def demo(app, db):
    from marketplace import demo as demo_data

    demo_data.load_demo()
    db.session.commit()
    return db


@pytest.fixture
def writes(app):
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(WRITES):
            seen.append(statement.split("\n")[0][:120])

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", listener)
    yield seen
    event.remove(engine, "before_cursor_execute", listener)


def _walk(app, client, ids, writes, label):
    offenders = []
    for url in _urls(app, ids):
        for method in ("GET", "HEAD"):
            writes.clear()
            r = client.open(url, method=method)
            not_ready = (
                url == "/readyz" and r.status_code == 503
            )  # an answer (no scheduler here), not an error
            assert r.status_code < 500 or not_ready, (label, method, url, r.status_code)
            if writes:
                offenders.append((label, method, url, list(writes)))
    return offenders


ROLES = [
    None,
    "officer@example.org",
    "expert1@example.org",
    "org1@example.org",
    "auditor@example.org",
    "admin@example.org",
]


@pytest.mark.parametrize("weeks_later", [0, 6], ids=["demo-time", "six-weeks-later"])
def test_no_get_or_head_writes_for_any_role(app, client, demo, writes, weeks_later):
    ids = _ids(demo)
    clock.advance(timedelta(weeks=weeks_later))
    offenders = []
    for email in ROLES if weeks_later == 0 else ROLES[:4]:
        with client.session_transaction() as sess:
            sess.clear()
            if email:
                user = demo.session.scalar(select(User).where(User.email == email))
                sess["_user_id"] = str(user.id)
                sess["_fresh"] = True
        offenders += _walk(app, client, ids, writes, email or "anonymous")
    assert offenders == []


def test_the_listener_sees_a_write(app, demo, writes):
    """The guard itself: a write through the session is recorded."""
    from marketplace.audit import log as audit

    audit.record(None, "test.write", "test", 1, "a write")
    demo.session.flush()
    assert any(w.startswith("INSERT") for w in writes)


def test_api_reads_with_a_token_write_only_the_token_s_use(app, client, demo):
    """With a personal API token, a GET of /api/v1 writes nothing in its own transaction: the only
    writes are the token's use (its ``last_used_at`` and one ``api_token.use`` audit event), made by the
    transaction edge after the request's transaction ended (core.transaction.afterwards, docs/api.md)."""
    from marketplace.auth import api_tokens

    ids = _ids(demo)
    tokens = {}
    for email in ROLES[1:]:
        user = demo.session.scalar(select(User).where(User.email == email))
        data = {"name": "walk", "scopes": api_tokens.allowed_scopes(user), "expires_in_days": 30}
        tokens[email] = api_tokens.create_token(user, data)[1]
    demo.session.commit()
    seen: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(WRITES):
            seen.append((" ".join(statement.split())[:80], parameters))

    event.listen(_db.engine, "before_cursor_execute", listener)
    offenders, walked = [], 0
    try:
        urls = [u for u in _urls(app, ids) if u.startswith("/api/v1")]
        for email, raw in tokens.items():
            for url in urls:
                seen.clear()
                r = client.get(url, headers={"Authorization": f"Bearer {raw}"})
                assert r.status_code < 500, (email, url, r.status_code)
                walked += 1
                kinds = sorted(statement.split(" (")[0].split(" SET")[0] for statement, _p in seen)
                use_event = [p for s, p in seen if s.startswith("INSERT INTO audit_events")]
                if kinds != ["INSERT INTO audit_events", "UPDATE api_tokens"] or "api_token.use" not in str(
                    use_event
                ):
                    offenders.append((email, url, seen[:]))
    finally:
        event.remove(_db.engine, "before_cursor_execute", listener)
    assert walked > 50 and offenders == []
