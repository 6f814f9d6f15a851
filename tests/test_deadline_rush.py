"""The deadline rush (docs/bidding.md): a bid counts as received when its request reaches the server,
submitting a saved draft is cheap, and the opening waits for the requests still in flight.

The rush itself, over HTTP on the production serving setup, is ``make bench-rush``; the races on
PostgreSQL are in tests/test_bid_concurrency.py.
"""

from __future__ import annotations

import contextlib
import hashlib
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
from marketplace.tenders.bids.opening import opening_time
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_if_due, open_sealed
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


def _opened(tender):
    """Two more bids, then the opening ceremony at the opening time: the sealed versions are decrypted."""
    for i in range(2):
        other, other_member = bf.organization(f"其他投标机构{i}")
        bf.submitted_bid(tender, other, other_member)
    clock.set_now(opening_time(tender))
    opening = open_sealed(tender)
    assert opening is not None and not opening.failed
    return opening


def _without_nonce(content: dict) -> dict:
    return {k: v for k, v in content.items() if k != "nonce"}


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
    r = client.post(f"/bids/{bid.public_id}/submit")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/bids/{bid.public_id}/receipt")
    db.session.expire_all()
    receipt = db.session.scalars(select(BidSubmission).where(BidSubmission.bid_id == bid.id)).one()
    assert receipt.submitted_at == arrived and bid.submitted_at == arrived and bid.status == "submitted"
    page = client.get(f"/bids/{bid.public_id}/receipt").get_data(as_text=True)
    assert "Received by the server at" in page and arrived.isoformat() in page


def test_a_bid_that_arrived_after_the_deadline_is_refused_however_fast(scene, client, grace, processed_at):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    _login(client, member)
    clock.set_now(tender.bid_deadline)  # the deadline itself is too late: bids are taken *before* it
    processed_at(tender.bid_deadline - timedelta(seconds=5))  # only the arrival counts
    r = client.post(f"/bids/{bid.public_id}/submit", follow_redirects=True)
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
    assert registry._tenders_past_deadline(clock.now(), None, 10) == ([], None)
    assert open_if_due(tender) is False and tender.status == "open"
    with pytest.raises(RuleViolation, match="not opened before"):
        open_sealed(tender)
    clock.set_now(tender.bid_deadline + grace)
    assert registry._tenders_past_deadline(clock.now(), None, 10) == ([tender.id], None)
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
    assert bid.ready_digest is None and bid.ready_content is None and bid.ready_sealed is None
    with pytest.raises(RuleViolation, match="declaration"):
        submission.submit(bid, member)
    bid = submission.save_draft(tender, org, bf.bid_input(tender), member)
    ready, digest, sealed = dict(bid.ready_content), bid.ready_digest, bid.ready_sealed
    assert digest == digest_of(ready) and _without_nonce(ready) == canonical_content(bid) and sealed
    receipt = submission.submit(bid, member)
    # The submission moves the checked, already sealed content: nothing is computed again.
    assert receipt.digest == digest == bid.digest and receipt.sealed == sealed and receipt.content is None
    _opened(tender)
    assert receipt.content == ready


def test_an_attachment_changes_the_checked_draft(scene):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    before = bid.ready_content
    bid = submission.save_draft(
        tender, org, bf.bid_input(tender), member, [bf.attachment("a.pdf", b"%PDF-1", tender)]
    )
    with_file = bid.ready_digest
    assert with_file is not None and with_file != digest_of(before)
    assert bid.ready_content["attachments"][0]["filename"] == "a.pdf"
    assert bid.ready_content["attachments"][0]["sha256"] == hashlib.sha256(b"%PDF-1").hexdigest()
    submission.remove_attachment(bid, bid.attachments[0], member)
    # Checked again: the content is the one without the file (a fresh nonce, so a fresh digest).
    assert _without_nonce(bid.ready_content) == _without_nonce(before)
    assert bid.ready_digest == digest_of(bid.ready_content) and bid.ready_digest != with_file


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
        r = client.post(f"/bids/{bid.public_id}/submit")
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
    assert bid.ready_digest is None and bid.ready_sealed is None
    expected = canonical_content(bid)
    receipt = submission.submit(bid, member)  # the full check, as a save does it
    assert receipt.sealed and receipt.digest == bid.digest and not bid.needs_reconfirmation
    _opened(tender)
    assert _without_nonce(receipt.content) == expected and digest_of(receipt.content) == receipt.digest


def test_a_tampered_checked_draft_is_not_what_gets_sealed(scene):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    price = bid.price
    bid.ready_content = {**bid.ready_content, "price": "1.00"}  # changed past the application
    db.session.flush()
    receipt = submission.submit(bid, member)
    _opened(tender)
    assert receipt.content["price"] == f"{price:.2f}" != "1.00" and receipt.price == price == bid.price
    assert receipt.digest == digest_of(receipt.content)


def test_the_bid_page_offers_to_submit_the_saved_version(scene, client):
    tender, org, member = scene
    bid = _saved(tender, org, member)
    _login(client, member)
    page = client.get(f"/bids/tender/{tender.id}").get_data(as_text=True)
    assert re.search(rf'action="/bids/{bid.public_id}/submit"', page) and "Submit the saved version" in page
    client.post(f"/bids/{bid.public_id}/submit")
    page = client.get(f"/bids/tender/{tender.id}").get_data(as_text=True)
    assert "Submit the saved version" not in page  # nothing new to submit
