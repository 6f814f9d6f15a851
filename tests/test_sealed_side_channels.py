"""No side channel on sealed bids (issue 17): before the opening, nothing anyone but the bidder can read
changes when organizations bid.

On the demo data, every GET route of ``app.url_map`` is read as every non-bidding role (anonymous, the
buyer's officers, another agency's officer, evaluators, the auditor, the admin, an organization member
without an organization, another organization). Then organizations save, submit, withdraw and re-save
bids, add and remove attachments and declare a bid bond on an open tender, before its deadline; every
page and API response is read again and must be the same: same status, same redirect, same body. That
covers counts and pagination totals, sequence numbers and ids (a bid's public id is random; its
sequential id is never shown), and the notifications (an inbox or a counter that changed would show).

URL arguments take one representative value each: the tender the bids are made on, the bidding
organization, and the first demo row for the rest. The routes that name a bid, attachment or bond are
read before with a random public id that names nothing and after with the real one: both must answer
alike (404), so a bid's existence is not disclosed. Only what legitimately differs between two renders
is normalised: CSRF tokens, CSP nonces and the bid references themselves; the clock is frozen.
"""

from __future__ import annotations

import importlib.util
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import url_for
from sqlalchemy import select
from werkzeug.routing import BuildError

from marketplace import clock
from marketplace.auth import api_tokens
from marketplace.auth.models import User
from marketplace.bonds import services as bonds
from marketplace.core.public_ids import new_public_id
from marketplace.core.timeutil import local_date
from marketplace.orgs.models import Organization
from marketplace.tenders.bids import submission
from marketplace.tenders.bids.bidders import eligibility_problems
from marketplace.tenders.bids.models import Bid
from marketplace.tenders.models import Tender
from tests import bid_factories as bf
from tests.pages import without_csrf

SKIPPED_ENDPOINTS = {"static", "bootstrap.static", "main.set_language"}
# Reading these is not a GET of a page: they would log the reader out, or are not state-free.
SKIPPED_PREFIXES = ("auth.logout",)
OBSERVER_EMAILS = {
    "anonymous": None,
    "buyer_officer": "officer@example.org",
    "other_agency_officer": "officer2@example.org",
    "committee_expert": "expert1@example.org",
    "auditor": "auditor@example.org",
    "admin": "admin@example.org",
    "member_without_organization": "member@example.org",
}
OBSERVING_ORGANIZATION = "org3@example.org"  # a verified organization that does not bid
BID_ARGUMENTS = ("bid_ref", "attachment_ref", "bond_ref")
# A few query strings: listings, filters and pagination totals.
EXTRA_PATHS = (
    "/tenders?status=open",
    "/tenders?page=2",
    "/api/v1/tenders?status=open",
    "/api/v1/tenders?page=2&per_page=5",
    "/api/v1/tenders?limit=1&sort=-deadline",
    "/api/v1/audit/events?limit=100",
    "/api/v1/audit/contracts?limit=100",
    "/inbox?page=1",
)

_META_CSRF = re.compile(r'(<meta[^>]*csrf[^>]*content=")[^"]*(")')
_NONCE = re.compile(r"""(nonce(?:=["']?|-))[A-Za-z0-9+/=_-]+""")


def _normalise(body: bytes, refs: dict[str, str]) -> str:
    text = without_csrf(body)
    text = _META_CSRF.sub(r"\1<csrf>\2", text)
    text = _NONCE.sub(r"\1<nonce>", text)
    for name, value in refs.items():
        text = text.replace(value, f"<{name}>")
    return text


def _login(client, user) -> None:
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True


def _first(db, column, where=None):
    stmt = select(column).order_by(column).limit(1)
    if where is not None:
        stmt = stmt.where(where)
    value = db.session.scalar(stmt)
    return value if value is not None else 1


def _ids(app, db, tender: Tender, org: Organization) -> dict:
    """One representative value per URL argument (bids' references are filled in per snapshot)."""
    from marketplace.audit.models import AuditEvent
    from marketplace.contracts.models import Contract, ContractDocument, Milestone, ServiceRecord
    from marketplace.performance.models import Evaluation, IndicatorTemplate, Survey
    from marketplace.tenders.committee.models import CommitteeMember
    from marketplace.tenders.models import TenderDocument

    return {
        "tender_id": tender.id,
        "org_id": org.id,
        "organization_id": org.id,
        "contract_id": _first(db, Contract.id),
        "member_id": _first(db, CommitteeMember.id),
        "evaluation_id": _first(db, Evaluation.id),
        "template_id": _first(db, IndicatorTemplate.id),
        "milestone_id": _first(db, Milestone.id),
        "record_id": _first(db, ServiceRecord.id),
        "doc_id": _first(db, TenderDocument.id, TenderDocument.tender_id == tender.id),
        "document_id": _first(db, ContractDocument.id),
        "key": _first(db, Survey.key),
        "ocid": f"{app.config.get('OCDS_PREFIX', 'ocds-xxxxxx')}-{tender.id}",
        "event_id": _first(db, AuditEvent.id),
    }


def _urls(app, ids: dict) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
            if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS:
                continue
            if rule.endpoint.startswith(SKIPPED_PREFIXES):
                continue
            values = {arg: ids.get(arg, 1) for arg in rule.arguments}
            try:
                urls.append(url_for(rule.endpoint, **values))
            except (BuildError, ValueError):  # a converter that refuses the sample value
                continue
    urls.append(f"/bids/{ids['bid_ref']}/receipt?download=1")
    urls.extend(EXTRA_PATHS)
    return urls


def _snapshot(
    client, observers: dict, urls: list[str], refs: dict[str, str], tokens: dict | None = None
) -> dict:
    """Every page as every observer sees it; with ``tokens``, also every /api/ URL as each observer's
    personal API token (every scope the role allows) reads it."""
    pages = {}
    callers = [(who, user, None) for who, user in observers.items()]
    callers += [(f"{who}+token", None, raw) for who, raw in (tokens or {}).items()]
    for who, user, raw in callers:
        _login(client, user)
        headers = {"Authorization": f"Bearer {raw}"} if raw else {}
        for url in urls:
            if url == "/readyz":  # operational health (no scheduler in tests: 503), no procurement data
                continue
            if raw and not url.startswith("/api/"):
                continue
            r = client.get(url, headers=headers)
            assert r.status_code < 500, (who, url, r.status_code)
            location = r.headers.get("Location", "")
            body = _normalise(r.data, refs)
            for name, value in refs.items():
                location = location.replace(value, f"<{name}>")
                url = url.replace(value, f"<{name}>")
            pages[(who, url)] = (r.status_code, location, body)
    return pages


@pytest.fixture
def demo(app, db):
    from marketplace import demo as demo_data

    demo_data.load_demo()
    db.session.commit()
    return db


def _user(db, email):
    return db.session.scalar(select(User).where(User.email == email))


def _scene(db):
    """An open tender of the demo with no bid yet, with bid bonds, and three eligible verified
    organizations (none of them the observing one) to bid on it."""
    observer_org_id = _user(db, OBSERVING_ORGANIZATION).organization_id
    orgs = db.session.scalars(
        select(Organization).where(Organization.status == "verified").order_by(Organization.id)
    ).all()
    tenders = db.session.scalars(select(Tender).where(Tender.status == "open").order_by(Tender.id)).all()
    for tender in tenders:
        if tender.bonds_waived or not tender.accepting_bids:
            continue
        if db.session.scalar(select(Bid.id).where(Bid.tender_id == tender.id)) is not None:
            continue
        bidders = [o for o in orgs if o.id != observer_org_id and not eligibility_problems(o, tender)]
        if len(bidders) >= 3:
            return tender, bidders[:3]
    pytest.fail("the demo has no open tender without bids that three organizations may bid on")


def _bid_on(tender, orgs) -> tuple[Bid, dict[str, str]]:
    """Organizations bid on ``tender``; returns the first one's bid and its references."""
    (a_org, b_org, c_org) = orgs

    def price(share: str) -> str:
        return str((tender.budget_ceiling * Decimal(share)).quantize(Decimal("1")))

    a_member, b_member, c_member = (o.members[0] for o in orgs)
    # A: a draft with two attachments, one removed, then submitted; a bid bond declared.
    a_bid = submission.save_draft(
        tender,
        a_org,
        bf.bid_input(tender, price=price("0.90"), marker="ALPHA"),
        a_member,
        [
            bf.attachment("plan-alpha.pdf", b"%PDF-1.4 alpha", tender),
            bf.attachment("x.pdf", b"%PDF x", tender),
        ],
    )
    submission.remove_attachment(a_bid, a_bid.attachments[-1], a_member)
    submission.submit(a_bid, a_member)
    bonds.declare_bid_bond(
        a_bid,
        {
            "amount": str((tender.bid_bond_cap / 2).quantize(Decimal("1"))),
            "form": "transfer",
            "received_on": local_date(clock.now()).isoformat(),
        },
        a_member,
    )
    # B: submitted, withdrawn, and a new draft saved.
    b_bid, _receipt = bf.submitted_bid(tender, b_org, b_member, price=price("0.91"), marker="BRAVO")
    submission.withdraw(b_bid, b_member)
    submission.save_draft(tender, b_org, bf.bid_input(tender, price=price("0.92")), b_member)
    # C: a draft only.
    submission.save_draft(tender, c_org, bf.bid_input(tender, price=price("0.93")), c_member)
    refs = {
        "bid_ref": a_bid.public_id,
        "attachment_ref": a_bid.kept_attachments[0].public_id,
        "bond_ref": bonds.bid_bond_of(a_bid).public_id,
    }
    return a_bid, refs


def _api_tokens(db, observers: dict) -> dict[str, str]:
    """A personal API token for each signed-in observer, with every scope its role allows."""
    tokens = {}
    for who, user in observers.items():
        if user is not None:
            data = {"name": "walk", "scopes": api_tokens.allowed_scopes(user), "expires_in_days": 30}
            tokens[who] = api_tokens.create_token(user, data)[1]
    db.session.commit()
    return tokens


def test_bidding_changes_nothing_that_non_bidders_can_read(app, client, demo, monkeypatch):
    db = demo
    tender, bidders = _scene(db)
    observers = {who: (_user(db, email) if email else None) for who, email in OBSERVER_EMAILS.items()}
    observers["other_organization"] = _user(db, OBSERVING_ORGANIZATION)
    ids = _ids(app, db, tender, bidders[0])

    placeholders = {name: new_public_id() for name in BID_ARGUMENTS}
    tokens = _api_tokens(db, observers)
    # A token's use is recorded (an audit event); the walk's own footprints are not what bidding changed.
    monkeypatch.setattr(api_tokens, "record_use", lambda *args: None)
    before = _snapshot(client, observers, _urls(app, {**ids, **placeholders}), placeholders, tokens)

    bid, refs = _bid_on(tender, bidders)
    db.session.commit()
    assert bid.status == "submitted" and tender.accepting_bids
    after = _snapshot(client, observers, _urls(app, {**ids, **refs}), refs, tokens)

    assert before.keys() == after.keys()
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"{len(changed)} responses changed once organizations bid, e.g. {changed[:10]}"
    # The walk read the pages that matter, as more than a 404 or a redirect.
    ok = {url for (who, url), (status, _loc, _body) in after.items() if status == 200}
    assert f"/tenders/{tender.id}" in ok and f"/api/v1/tenders/{tender.id}" in ok
    api_ok = {
        url for (who, url), (status, _l, _b) in after.items() if who.endswith("+token") and status == 200
    }
    assert {"/api/v1/audit/events", "/api/v1/tenders?status=open", f"/api/v1/tenders/{tender.id}"} <= api_ok
    assert any(url.startswith("/bids/<bid_ref>") for (_who, url) in after)


def test_the_differential_walk_sees_a_leak(app, client, demo, monkeypatch):
    """The walk is not blind: telling the buyer's officer of a submission when it happens (the leak
    item 3 of issue 17 is about) changes the officer's inbox and fails it."""
    from marketplace.core.notifications import notify

    db = demo
    tender, bidders = _scene(db)
    officer = tender.created_by
    real_submit = submission.submit

    def telling_submit(bid, actor):
        receipt = real_submit(bid, actor)
        notify([officer], "bid.submitted", "A bid was submitted")
        return receipt

    monkeypatch.setattr(submission, "submit", telling_submit)
    observers = {"buyer_officer": officer}
    urls = ["/inbox", f"/tenders/{tender.id}"]
    before = _snapshot(client, observers, urls, {})
    _bid_on(tender, bidders)
    db.session.commit()
    after = _snapshot(client, observers, urls, {})
    assert before[("buyer_officer", "/inbox")] != after[("buyer_officer", "/inbox")]


def test_old_integer_bid_urls_answer_404(client, demo):
    db = demo
    bid = db.session.scalars(select(Bid).where(Bid.status == "submitted").order_by(Bid.id)).first()
    member = bid.organization.members[0]
    _login(client, member)
    assert client.get(f"/bids/{bid.public_id}").status_code == 200  # its own bid, by its public id
    for url in (f"/bids/{bid.id}", f"/bids/{bid.id}/receipt", f"/bonds/bids/{bid.id}"):
        assert client.get(url).status_code == 404, url
    page = client.get(f"/bids/{bid.public_id}").get_data(as_text=True)
    assert f"/bids/{bid.id}/" not in page and f'/bids/{bid.id}"' not in page


# --- migration 0018 gives the existing rows random public ids ---------------------------------------


@pytest.fixture
def scratch_engine():
    """An empty database of the test's own: in-memory SQLite, or ``<name>_pubids`` next to the
    PostgreSQL test database."""
    pg_url = os.environ.get("TEST_DATABASE_URL")
    if not pg_url:
        engine = sa.create_engine("sqlite://")
        yield engine
        engine.dispose()
        return
    url = sa.engine.make_url(pg_url)
    name = f"{url.database}_pubids"
    maintenance = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with maintenance.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        maintenance.dispose()


def test_migration_fills_existing_rows_with_random_unique_public_ids(scratch_engine):
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    path = Path(__file__).parent.parent / "migrations" / "versions" / "0018_bid_public_ids.py"
    spec = importlib.util.spec_from_file_location("migration_0018", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    meta = sa.MetaData()
    for name in migration.TABLES:  # the tables' ids are all the migration reads
        sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("note", sa.String(10)))
    with scratch_engine.begin() as conn:
        meta.create_all(conn)
        for name in migration.TABLES:
            conn.execute(meta.tables[name].insert(), [{"note": str(n)} for n in range(1, 6)])
        with Operations.context(MigrationContext.configure(conn)):
            migration.upgrade()
    with scratch_engine.connect() as conn:
        columns = {c["name"]: c for c in sa.inspect(conn).get_columns("bids")}
        assert columns["public_id"]["nullable"] is False
        ids = [v for name in migration.TABLES for v in conn.scalars(sa.text(f"SELECT public_id FROM {name}"))]
        assert len(ids) == 15 and len(set(ids)) == 15
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", v) for v in ids)
        with pytest.raises(sa.exc.IntegrityError):  # unique
            conn.execute(sa.text("UPDATE bids SET public_id = :v"), {"v": ids[0]})
    with scratch_engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.downgrade()
    with scratch_engine.connect() as conn:
        assert "public_id" not in {c["name"] for c in sa.inspect(conn).get_columns("bids")}


def test_a_public_event_after_the_bids_shows_no_trace_of_them(app, client, demo):
    """The gap the issue found: hidden bid events must not show in the audit log once a public event
    follows them (no sequence number, count or hash that moved). The same public event (cancelling
    another tender, then sealing the audit chain as its job does) is made once without and once after
    the bids, and the auditor's, the admin's and the buyers' views of it are compared."""
    from marketplace.audit import chain
    from marketplace.tenders.cancellation import cancel

    db = demo
    tender, bidders = _scene(db)
    other = db.session.scalars(
        select(Tender).where(Tender.status == "open", Tender.id != tender.id).order_by(Tender.id)
    ).first()
    observers = {
        "auditor": _user(db, "auditor@example.org"),
        "admin": _user(db, "admin@example.org"),
        "buyer_officer": tender.created_by,
        "other_buyer_officer": other.created_by,
    }
    urls = ["/audit", f"/tenders/{other.id}", f"/api/v1/tenders/{other.id}", "/dashboard/officer"]

    def public_event():
        cancel(other, "预算调整 Budget changed", other.created_by)
        db.session.flush()
        chain.seal_all()  # what the seal-audit job does: numbers and chains the events
        db.session.flush()

    chain.seal_all()  # the demo's events
    without_bids = db.session.begin_nested()
    public_event()
    before = _snapshot(client, observers, urls, {})
    without_bids.rollback()
    db.session.expire_all()

    _bid_on(tender, bidders)
    public_event()
    after = _snapshot(client, observers, urls, {})
    # The events' hashes are HMACs keyed by the platform's chain key over every column, the event's
    # own id included: they differ, but nobody without the key can tell from them how many ids were
    # taken in between. Everything else must be the same: sequence numbers, counts, pages.
    before, after = _without_hashes(before), _without_hashes(after)
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, changed


_HASH = re.compile(r"\b[0-9a-f]{64}\b")
_SHORT_HASH = re.compile(r"(<code title=\"<hash>\">)[0-9a-f]{12}(</code>)")


def _without_hashes(pages: dict) -> dict:
    out = {}
    for key, (status, location, body) in pages.items():
        out[key] = (status, location, _SHORT_HASH.sub(r"\1<short>\2", _HASH.sub("<hash>", body)))
    return out
