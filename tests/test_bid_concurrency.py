"""Races around the deadline, on PostgreSQL (row locks make them meaningful there).

These tests commit for real (other connections must see the data) and empty every table afterwards.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.auth.models import User
from marketplace.core.errors import RuleViolation
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.tenders.bids.models import ACTIVE, Bid, BidOpening
from marketplace.tenders.bids.submission import save_draft, submit
from marketplace.tenders.models import Tender
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_if_due
from tests.conftest import PG_URL
from tests.factories import deadline_in

pytestmark = pytest.mark.skipif(not PG_URL, reason="concurrency tests need PostgreSQL: set TEST_DATABASE_URL")

THREADS = 12


def _setup(n_orgs: int):
    world = factories.world()
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    pairs = [bf.organization(f"并发机构{i}") for i in range(n_orgs)]
    db.session.commit()
    return tender.id, [(org.id, member.id) for org, member in pairs]


def _run_threads(app, targets):
    errors = []

    def wrap(fn):
        def run():
            try:
                with app.app_context():
                    fn()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors


def test_submissions_racing_the_deadline_are_in_or_out(app, committed):
    tender_id, pairs = _setup(THREADS)
    deadline = db.session.get(Tender, tender_id).bid_deadline
    clock.set_now(deadline - timedelta(seconds=1))
    start = threading.Barrier(THREADS + 2)
    outcome: dict[int, str] = {}

    def bidder(org_id, member_id, delay):
        def run():
            start.wait()
            time.sleep(delay)
            tender = db.session.get(Tender, tender_id)
            org, member = db.session.get(Organization, org_id), db.session.get(User, member_id)
            try:
                bid = save_draft(tender, org, bf.bid_input(tender), member)
                submit(bid, member)
                db.session.commit()
                outcome[org_id] = "in"
            except RuleViolation as exc:
                db.session.rollback()
                assert "deadline" in exc.message, exc.message
                outcome[org_id] = "out"

        return run

    def flip_clock():
        # The deadline passes while the later bidders are still in flight: after the first few are in.
        start.wait()
        for _ in range(600):
            if sum(1 for r in outcome.values() if r == "in") >= THREADS // 3:
                break
            time.sleep(0.005)
        clock.set_now(deadline + timedelta(seconds=1))

    def opener():
        start.wait()
        for _ in range(200):
            tender = db.session.get(Tender, tender_id)
            db.session.refresh(tender)
            if open_if_due(tender):
                db.session.commit()
                return
            db.session.rollback()
            time.sleep(0.005)

    targets = [bidder(o, m, i * 0.02) for i, (o, m) in enumerate(pairs)] + [flip_clock, opener]
    _run_threads(app, targets)

    db.session.remove()
    opening = db.session.scalar(select(BidOpening).where(BidOpening.tender_id == tender_id))
    accepted = {o for o, result in outcome.items() if result == "in"}
    assert len(outcome) == THREADS
    assert {r["organization_id"] for r in opening.record} == accepted  # none lost, none extra
    assert all(r["submitted_at"] < deadline.isoformat() for r in opening.record)
    # Opened at the ceremony: every counted bid decrypted to the content it was submitted with.
    assert not opening.failed and not opening.undecrypted
    assert all(r["price"] == "300000.00" and r["sealed_sha256"] for r in opening.record)
    submitted = db.session.scalars(select(Bid).where(Bid.status == "submitted")).all()
    assert all(b.submitted_at < deadline for b in submitted) and len(submitted) == len(accepted)
    assert 0 < len(accepted) < THREADS, outcome  # the race really straddled the deadline


def test_simultaneous_submits_from_one_organization_leave_one_active_bid(app, committed):
    tender_id, pairs = _setup(1)
    org_id, member_id = pairs[0]
    start = threading.Barrier(8)
    results = []

    def submit_once():
        start.wait()
        tender = db.session.get(Tender, tender_id)
        org, member = db.session.get(Organization, org_id), db.session.get(User, member_id)
        try:
            bid = save_draft(tender, org, bf.bid_input(tender), member)
            submit(bid, member)
            db.session.commit()
            results.append("ok")
        except RuleViolation:
            db.session.rollback()
            results.append("refused")

    _run_threads(app, [submit_once] * 8)
    db.session.remove()
    active = db.session.scalar(
        select(func.count()).select_from(Bid).where(Bid.organization_id == org_id, Bid.status.in_(ACTIVE))
    )
    assert active == 1
    bid = db.session.scalars(select(Bid)).one()
    assert bid.version == results.count("ok") and [s.version for s in bid.submissions] == list(
        range(1, bid.version + 1)
    )
    assert all(s.sealed and s.content is None for s in bid.submissions)  # each version sealed on its own
    assert len({s.sealed_sha256 for s in bid.submissions}) == bid.version
