"""The deadline rush (docs/bidding.md): a bid counts as received when its request reaches the server,
submitting a saved draft is cheap, and the opening waits for the requests still in flight.

The rush itself, over HTTP on the production serving setup, is ``make bench-rush``; the races on
PostgreSQL are in tests/test_bid_concurrency.py.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from marketplace import clock
from marketplace.core.errors import RuleViolation
from marketplace.extensions import db
from marketplace.jobs import registry
from marketplace.orgs.models import SUSPENDED
from marketplace.tenders.amendments import amend
from marketplace.tenders.bids import submission
from marketplace.tenders.bids.digest import canonical_content, digest_of
from marketplace.tenders.bids.models import Bid, BidSubmission
from marketplace.tenders.bids.opening import open_if_due, opening_time
from tests import bid_factories as bf
from tests import factories
from tests.factories import deadline_in


@pytest.fixture
def scene(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    org, member = bf.organization("阳光社工服务中心")
    db.session.commit()
    return tender, org, member


@pytest.fixture
def grace(app, monkeypatch):
    """The production default: the bids are opened 90 seconds after the deadline."""
    monkeypatch.setitem(app.config, "BID_OPENING_GRACE_SECONDS", 90)
    return timedelta(seconds=90)


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


@contextlib.contextmanager
def statements():
    """The SQL statements run inside the block (savepoints and transaction control left out)."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(None, 1)[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def processed_at(app, monkeypatch):
    """``processed_at(t)``: requests are stamped on arrival with the clock as it is, then processed
    with the clock at ``t`` (a worker that got round to them earlier or later)."""

    def set_processing_time(when):
        def move_clock():
            clock.set_now(when)

        hooks = dict(app.before_request_funcs)
        hooks[None] = [move_clock, *hooks.get(None, [])]
        monkeypatch.setattr(app, "before_request_funcs", hooks)

    return set_processing_time


def _saved(tender, org, member):
    bid = submission.save_draft(tender, org, bf.bid_input(tender), member)
    db.session.commit()
    return bid


# --- received when the request arrived ---------------------------------------------------------------


def test_a_bid_that_arrived_before_the_deadline_is_accepted_though_processed_after_it(
    scene, client, grace, processed_at
):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    arrived = tender.bid_deadline - timedelta(milliseconds=200)
    _login(client, member)
    clock.set_now(arrived)
    processed_at(tender.bid_deadline + timedelta(seconds=3))  # the worker got round to it late
    r = client.post(f"/bids/{bid.id}/submit")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/bids/{bid.id}/receipt")
    db.session.expire_all()
    receipt = db.session.scalars(select(BidSubmission).where(BidSubmission.bid_id == bid.id)).one()
    assert receipt.submitted_at == arrived and bid.submitted_at == arrived and bid.status == "submitted"
    page = client.get(f"/bids/{bid.id}/receipt").get_data(as_text=True)
    assert "Received by the server at" in page and arrived.isoformat() in page


def test_a_bid_that_arrived_after_the_deadline_is_refused_however_fast(scene, client, grace, processed_at):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    _login(client, member)
    clock.set_now(tender.bid_deadline)  # the deadline itself is too late: bids are taken *before* it
    processed_at(tender.bid_deadline - timedelta(seconds=5))  # only the arrival counts
    r = client.post(f"/bids/{bid.id}/submit", follow_redirects=True)
    assert "The bid deadline has passed" in r.get_data(as_text=True)
    db.session.expire_all()
    assert bid.status == "draft" and bid.submitted_at is None
    assert db.session.scalars(select(BidSubmission).where(BidSubmission.bid_id == bid.id)).all() == []


def test_saving_and_withdrawing_follow_the_arrival_too(scene, grace):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    clock.set_now(tender.bid_deadline + timedelta(seconds=1))
    with pytest.raises(RuleViolation, match="deadline has passed"):
        submission.save_draft(tender, org, bf.bid_input(tender, price="290000.00"), member)
    with pytest.raises(RuleViolation, match="deadline has passed"):
        submission.withdraw(bid, member)


# --- the opening waits for the requests in flight --------------------------------------------------


def test_the_opening_waits_for_the_grace_after_the_deadline(scene, grace):
    tender, org, member = scene
    bf.submitted_bid(tender, org, member)
    db.session.commit()
    assert opening_time(tender) == tender.bid_deadline + grace
    clock.set_now(tender.bid_deadline + grace - timedelta(seconds=1))
    assert registry._tenders_past_deadline(clock.now()) == []
    assert open_if_due(tender) is False and tender.status == "open"
    with pytest.raises(RuleViolation, match="not opened before"):
        from marketplace.tenders.bids.opening import open_bids

        open_bids(tender)
    clock.set_now(tender.bid_deadline + grace)
    assert registry._tenders_past_deadline(clock.now()) == [tender.id]
    assert open_if_due(tender) is True and tender.status in {"opened", "failed"}


def test_the_tender_page_says_bidding_is_closed_during_the_grace(scene, client, grace):
    tender, _org, _member = scene
    clock.set_now(tender.bid_deadline + timedelta(seconds=10))
    page = client.get(f"/tenders/{tender.id}")
    assert page.status_code == 200
    db.session.refresh(tender)
    assert tender.status == "open"  # the page computes the state; only the job opens


# --- checked when saved, cheap when submitted ---------------------------------------------------------


def test_a_complete_draft_is_checked_when_saved(scene):
    tender, org, member = scene
    incomplete = bf.bid_input(tender, declarations=[])
    bid = submission.save_draft(tender, org, incomplete, member)
    assert bid.ready_digest is None and bid.ready_content is None
    with pytest.raises(RuleViolation, match="declaration"):
        submission.submit(bid, member)
    bid = submission.save_draft(tender, org, bf.bid_input(tender), member)
    assert bid.ready_digest == digest_of(canonical_content(bid)) == digest_of(bid.ready_content)
    receipt = submission.submit(bid, member)
    assert receipt.digest == bid.ready_digest == bid.digest and receipt.content == bid.ready_content


def test_an_attachment_changes_the_checked_draft(scene):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    before = bid.ready_digest
    bid = submission.save_draft(
        tender, org, bf.bid_input(tender), member, [bf.attachment("a.pdf", b"%PDF-1")]
    )
    with_file = bid.ready_digest
    assert with_file not in (None, before)
    assert bid.ready_content["attachments"][0]["filename"] == "a.pdf"
    submission.remove_attachment(bid, bid.attachments[0], member)
    assert bid.ready_digest == before


def test_submitting_a_saved_draft_takes_a_handful_of_statements(scene):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    with statements() as seen:
        submission.submit(bid, member)
        db.session.flush()
    assert len(seen) <= 8, "\n".join(seen)


def test_a_submission_request_takes_at_most_eight_statements(scene, client):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    _login(client, member)
    with statements() as seen:
        r = client.post(f"/bids/{bid.id}/submit")
    assert r.status_code == 302 and r.headers["Location"].endswith("/receipt")
    assert len(seen) <= 8, "\n".join(seen)


def test_a_sanction_between_saving_and_submitting_is_seen(scene):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    org.status = SUSPENDED
    org.sanction_until = None
    db.session.flush()
    with pytest.raises(RuleViolation, match="suspended or debarred|Only verified"):
        submission.submit(bid, member)
    assert bid.status == "draft"


def test_after_an_amendment_the_draft_is_checked_again_at_submission(scene, world):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    amend(tender, {"reason": "服务范围说明", "description": "新的说明"}, world["officer"])
    assert bid.ready_digest is None
    receipt = submission.submit(bid, member)  # the full check, as a save does it
    assert receipt.digest == digest_of(canonical_content(bid)) == bid.ready_digest


def test_a_tampered_checked_draft_is_not_what_gets_sealed(scene):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    bid.ready_content = {**bid.ready_content, "price": "1.00"}  # changed past the application
    db.session.flush()
    receipt = submission.submit(bid, member)
    assert receipt.content["price"] == f"{bid.price:.2f}" != "1.00"
    assert receipt.digest == digest_of(canonical_content(bid))


def test_the_bid_page_offers_to_submit_the_saved_version(scene, client):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    _login(client, member)
    page = client.get(f"/bids/tender/{tender.id}").get_data(as_text=True)
    assert re.search(rf'action="/bids/{bid.id}/submit"', page) and "Submit the saved version" in page
    client.post(f"/bids/{bid.id}/submit")
    page = client.get(f"/bids/tender/{tender.id}").get_data(as_text=True)
    assert "Submit the saved version" not in page  # nothing new to submit
