"""Sealed bidding: drafts, submission receipts, replacement, withdrawal, deadline, eligibility, opening."""

import base64
import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import clock
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import Notification
from marketplace.jobs.runner import run_job
from marketplace.orgs.models import DEBARRED, PENDING
from marketplace.tenders.amendments import amend
from marketplace.tenders.bids import submission
from marketplace.tenders.bids.digest import digest_of, has_unsubmitted_changes
from marketplace.tenders.bids.models import Bid, BidOpening
from marketplace.tenders.bids.opening import open_bids
from marketplace.tenders.bids.submission import save_draft, submit, withdraw
from marketplace.tenders.bids.visibility import active_bid, visible_bid
from tests import bid_factories as bf
from tests import factories
from tests.factories import deadline_in


@pytest.fixture
def tender(world, db):
    return factories.published(world["officer"], bid_deadline=deadline_in(29))


@pytest.fixture
def bidder(world, db):
    return bf.organization("阳光社工服务中心")


def test_draft_then_submit_gives_receipt_with_digest(tender, bidder, db):
    org, member = bidder
    bid = save_draft(
        tender, org, bf.bid_input(tender), member, [bf.attachment("方案.pdf", b"%PDF plan", tender)]
    )
    assert bid.status == "draft" and bid.version == 0
    checked = bid.ready_digest
    # The checked content carries a random nonce: its digest does not give away a guessable price.
    assert checked == digest_of(bid.ready_content) and "nonce" in bid.ready_content
    receipt = submit(bid, member)
    assert receipt.version == 1 and receipt.submitted_at == clock.now()
    assert receipt.digest == checked == bid.digest
    # Sealed until the opening: the receipt keeps the ciphertext and its SHA-256, not the content.
    assert receipt.price is None and receipt.content is None and receipt.sealed
    assert receipt.sealed_sha256 == hashlib.sha256(base64.b64decode(receipt.sealed)).hexdigest()
    # The working copy is erased; the attachment is kept, sealed into version 1, its name erased.
    assert bid.price is None and bid.responses == {} and bid.declarations == [] and bid.attachments == []
    assert bid.ready_content is None and bid.ready_digest is None and bid.ready_sealed is None
    [kept] = bid.kept_attachments
    assert (
        kept.version == 1 and kept.filename == "" and kept.sha256 != hashlib.sha256(b"%PDF plan").hexdigest()
    )
    # The opening decrypts the version: the receipt's content is the one its digest was computed on.
    for i in range(2):
        other_org, other_member = bf.organization(f"其他组织{i}")
        bf.submitted_bid(tender, other_org, other_member)
    _open_at_deadline(tender)
    assert digest_of(receipt.content) == receipt.digest
    assert receipt.content["attachments"][0]["sha256"] == hashlib.sha256(b"%PDF plan").hexdigest()
    assert receipt.content["price"] == "300000.00" and receipt.price == Decimal("300000.00")
    [opened] = bid.opened_attachments
    assert opened.filename == "方案.pdf" and opened.sha256 == hashlib.sha256(b"%PDF plan").hexdigest()


def test_digest_changes_with_any_content(tender, bidder, db):
    org, member = bidder
    bid, first = bf.submitted_bid(tender, org, member)
    assert not has_unsubmitted_changes(bid)  # the working copy was erased with the submission
    save_draft(tender, org, bf.bid_input(tender, price="299999.99"), member)
    assert has_unsubmitted_changes(bid)
    second = submit(bid, member)
    assert not has_unsubmitted_changes(bid)
    assert second.version == 2 and second.digest != first.digest
    assert [s.version for s in bid.submissions] == [1, 2]  # the earlier version is kept


def test_incomplete_bid_cannot_be_submitted(tender, bidder, db):
    org, member = bidder
    bid = save_draft(tender, org, bf.bid_input(tender, declarations=[]), member)
    with pytest.raises(RuleViolation, match="declaration"):
        submit(bid, member)
    bid = save_draft(tender, org, bf.bid_input(tender, responses={}), member)
    with pytest.raises(RuleViolation, match="criterion"):
        submit(bid, member)


@pytest.mark.parametrize("price", ["0", "-1", "480000.01", "100.001", "NaN"])
def test_price_rules(tender, bidder, db, price):
    org, member = bidder
    with pytest.raises(RuleViolation) as exc:
        save_draft(tender, org, bf.bid_input(tender, price=price), member)
    assert exc.value.field == "price"


def test_price_may_equal_the_ceiling(tender, bidder, db):
    org, member = bidder
    bid, _ = bf.submitted_bid(tender, org, member, price="480000.00")
    assert bid.price is None  # sealed until the opening
    for i in range(2):
        other_org, other_member = bf.organization(f"其他组织{i}")
        bf.submitted_bid(tender, other_org, other_member)
    opening = _open_at_deadline(tender)
    assert bid.price == Decimal("480000.00")
    [row] = [r for r in opening.record if r["bid_id"] == bid.id]
    assert row["price"] == "480000.00" and not row["over_ceiling"]


def test_after_deadline_everything_is_refused(tender, bidder, db):
    org, member = bidder
    bid, _ = bf.submitted_bid(tender, org, member)
    save_draft(tender, org, bf.bid_input(tender, price="290000.00"), member)  # a new version, ready
    clock.set_now(tender.bid_deadline)  # exactly at the deadline: already too late
    for attempt in (
        lambda: submit(bid, member),
        lambda: withdraw(bid, member),
        lambda: save_draft(tender, org, bf.bid_input(tender), member),
    ):
        with pytest.raises(RuleViolation, match="deadline has passed"):
            attempt()
    assert bid.version == 1
    clock.set_now(tender.bid_deadline - timedelta(microseconds=1))
    assert submit(bid, member).version == 2  # one microsecond before is in


def test_withdraw_then_bid_again(tender, bidder, db):
    org, member = bidder
    bid, _ = bf.submitted_bid(tender, org, member)
    withdraw(bid, member)
    assert bid.status == "withdrawn" and active_bid(tender, org.id) is None
    again, _ = bf.submitted_bid(tender, org, member, price="250000.00")
    assert again.id != bid.id


def test_database_allows_one_active_bid_per_organization(tender, bidder, world, db):
    org, member = bidder
    bf.submitted_bid(tender, org, member)
    db.session.add(Bid(tender_id=tender.id, organization_id=org.id, status="draft", created_by_id=member.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_eligibility(tender, world, db):
    for kwargs, message in [
        ({"status": PENDING}, "verified"),
        ({"categories": ("childcare",)}, "category"),
        ({"areas": ("110101017",)}, "service area"),  # tender serves 110101001 only
    ]:
        org, member = bf.organization("某组织", **kwargs)
        with pytest.raises(RuleViolation, match=message):
            save_draft(tender, org, bf.bid_input(tender), member)
    street_org, member = bf.organization("街道组织", areas=("110101001",))
    assert save_draft(tender, street_org, bf.bid_input(tender), member).status == "draft"


def test_debarred_until_period_ends(tender, db):
    org, member = bf.organization("被禁组织")
    org.status, org.sanction_until = DEBARRED, (clock.now() + timedelta(days=5)).date()
    with pytest.raises(RuleViolation, match="debarred"):
        save_draft(tender, org, bf.bid_input(tender), member)
    clock.advance(timedelta(days=7))
    assert save_draft(tender, org, bf.bid_input(tender), member)


def test_reserved_tender_needs_small_org(world, db):
    t = factories.published(world["officer"], reserved_for_small=True, bid_deadline=deadline_in(29))
    big, m1 = bf.organization("大机构")
    with pytest.raises(RuleViolation, match="small"):
        save_draft(t, big, bf.bid_input(t), m1)
    small, m2 = bf.organization("小机构", small=True)
    bid = save_draft(t, small, bf.bid_input(t), m2)
    assert "small_organization" in bid.declarations


def test_only_members_act_on_their_bid(tender, bidder, world, db):
    org, member = bidder
    bid, _ = bf.submitted_bid(tender, org, member)
    other_org, other = bf.organization("另一组织")
    for actor in (other, world["officer"], world["admin"]):
        with pytest.raises(RuleViolation):
            withdraw(bid, actor)
        assert visible_bid(bid.public_id, actor) is None
    assert visible_bid(bid.public_id, member) is bid


def test_amendment_asks_bidders_to_reconfirm(tender, bidder, world, db):
    org, member = bidder
    bid, first = bf.submitted_bid(tender, org, member)
    _, bystander = bf.organization("旁观组织")
    amend(tender, {"reason": "服务范围说明", "description": "新的说明"}, world["officer"])
    assert bid.needs_reconfirmation
    notes = db.session.scalars(select(Notification).where(Notification.kind == "bid.reconfirm")).all()
    assert [n.user_id for n in notes] == [member.id]
    # The sealed version cannot be read back (the working copy was erased): submitting asks for content.
    with pytest.raises(RuleViolation, match="Enter the price"):
        submit(bid, member)
    # It is re-confirmed as it is...
    submission.reconfirm(bid, member)
    assert not bid.needs_reconfirmation and bid.version == 1 and bid.digest == first.digest
    with pytest.raises(RuleViolation, match="nothing to re-confirm"):
        submission.reconfirm(bid, member)
    # ...or, after a further amendment, replaced by a complete new version.
    amend(tender, {"reason": "第二次说明", "description": "再次的说明"}, world["officer"])
    assert bid.needs_reconfirmation
    save_draft(tender, org, bf.bid_input(tender, price="290000.00"), member)
    second = submit(bid, member)
    assert not bid.needs_reconfirmation and second.version == 2 and second.digest != first.digest


def _open_at_deadline(tender):
    clock.set_now(tender.bid_deadline + timedelta(seconds=1))
    return bf.open_sealed(tender)


def test_opening_record_matches_receipts(tender, world, db):
    receipts = {}
    for i, price in enumerate(["300000.00", "280000.00", "310000.50"]):
        org, member = bf.organization(f"组织{i}")
        bid, receipt = bf.submitted_bid(
            tender, org, member, price=price, files=[(f"a{i}.pdf", b"%%PDF x%d" % i)]
        )
        receipts[bid.id] = receipt
    withdrawn_org, wm = bf.organization("撤回组织")
    wbid, _ = bf.submitted_bid(tender, withdrawn_org, wm)
    withdraw(wbid, wm)
    with pytest.raises(RuleViolation, match="not opened before"):
        open_bids(tender)
    opening = _open_at_deadline(tender)
    assert tender.status == "opened" and opening.bid_count == 3 and not opening.failed
    assert {r["bid_id"]: r["digest"] for r in opening.record} == {k: r.digest for k, r in receipts.items()}
    assert {r["bid_id"]: r["price"] for r in opening.record} == {
        k: f"{r.price:.2f}" for k, r in receipts.items()
    }
    assert open_bids(tender) is opening  # idempotent
    assert len(db.session.scalars(select(BidOpening)).all()) == 1
    # After opening the tender's officer and auditors see the bids; other officers and members don't.
    public_id = db.session.get(Bid, next(iter(receipts))).public_id
    assert visible_bid(public_id, world["officer"]) is not None
    assert visible_bid(public_id, world["auditor"]) is not None
    assert visible_bid(public_id, world["other_officer"]) is None
    assert visible_bid(next(iter(receipts)), world["officer"]) is None  # never by the sequential id
    assert visible_bid(wbid.public_id, world["officer"]) is None  # withdrawn bids are not opened


def test_too_few_bids_fail_the_tender(tender, bidder, db):
    org, member = bidder
    bf.submitted_bid(tender, org, member)
    opening = _open_at_deadline(tender)
    assert opening.failed and tender.status == "failed" and "at least 3" in tender.failure_reason
    notes = db.session.scalars(select(Notification).where(Notification.kind == "tender.opened")).all()
    assert [n.user_id for n in notes] == [member.id]


def test_single_source_needs_one_bid(world, bidder, db):
    t = factories.published(world["officer"], method="single_source", bid_deadline=deadline_in(8))
    org, member = bidder
    bf.submitted_bid(t, org, member)
    assert not _open_at_deadline(t).failed


def test_a_page_after_the_deadline_writes_nothing_the_job_opens(client, tender, bidder, db):
    """GET never writes: the page reads as closed until the opening job runs (STYLE.md rule 2)."""
    org, member = bidder
    bf.submitted_bid(tender, org, member)
    db.session.commit()
    clock.set_now(tender.bid_deadline)
    page = client.get(f"/tenders/{tender.id}")
    assert page.status_code == 200 and 'id="opening-pending"' in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(BidOpening)) is None
    assert run_job("open-bids").status == "ok"
    db.session.expire_all()
    assert db.session.scalar(select(BidOpening)).tender_id == tender.id
    assert 'id="opening-pending"' not in client.get(f"/tenders/{tender.id}").get_data(as_text=True)
