"""Procurement files are kept at least 15 years (GPL 42): no delete of the record through the ORM, bid
attachments of a submitted version stay retrievable, a closed procurement is read-only, and
``flask audit verify`` checks the stored files against their SHA-256 (docs/audit.md, "Retention")."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.audit.models import AppendOnlyError, AuditEvent
from marketplace.contracts import documents as contract_documents
from marketplace.contracts import termination, variations
from marketplace.contracts.delivery import payments
from marketplace.contracts.delivery.checks import today
from marketplace.contracts.models import (
    COMPLETED,
    Contract,
    ContractDocument,
    ContractTarget,
    Milestone,
    Payment,
)
from marketplace.core import records, retention
from marketplace.core.documents import file_sha256, path_for
from marketplace.core.errors import RuleViolation
from marketplace.core.retention import RetentionError
from marketplace.tenders import drafting
from marketplace.tenders.amendments import amend
from marketplace.tenders.bids.models import Bid, BidAttachment, BidOpening, BidSubmission
from marketplace.tenders.bids.submission import remove_attachment, save_draft, submit
from marketplace.tenders.cancellation import cancel
from marketplace.tenders.committee.members import Appointment, form_committee
from marketplace.tenders.committee.models import Award, CommitteeMember, EvaluationResult, Score
from marketplace.tenders.committee.ranking import retender
from marketplace.tenders.models import Criterion, Tender, TenderDocument
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed
from tests.contract_factories import contract_rows
from tests.factories import deadline_in


def _unique_pdf(label: str) -> bytes:
    return f"%PDF {label} {uuid.uuid4()}".encode()


# --- nothing of the record is deleted ----------------------------------------------------------------


@pytest.fixture
def record(world, db):
    """A whole procurement: tender, bids (with an attachment), opening, committee, scores, award, an
    active contract with targets and milestones, a payment, a contract document; and a draft tender
    with a document."""
    contract, org, member = contract_rows(world)
    payments.record_payment(contract, today(), "1000.00", "PZ-R", None, world["officer"])
    stored = bf.attachment("合同附件.pdf", _unique_pdf("contract"))
    contract_documents.add_document(contract, stored, False, world["officer"])
    bid = db.session.scalar(select(Bid).where(Bid.tender_id == contract.tender_id))
    bid.attachments.append(
        BidAttachment(uploaded_at=clock.now(), **bf.attachment("方案.pdf", _unique_pdf("bid")).columns())
    )
    draft = factories.draft(world["officer"])
    drafting.add_document(draft, bf.attachment("需求.pdf", _unique_pdf("tender")), world["officer"])
    db.session.flush()
    return contract


KEPT = (
    Tender,
    Criterion,
    TenderDocument,
    Bid,
    BidAttachment,
    BidSubmission,
    BidOpening,
    CommitteeMember,
    Score,
    EvaluationResult,
    Award,
    Contract,
    ContractTarget,
    Milestone,
    ContractDocument,
    Payment,
)


@pytest.mark.parametrize("model", KEPT, ids=lambda m: m.__name__)
def test_a_retained_row_cannot_be_deleted(record, db, model):
    assert retention.is_retained(model)
    row = db.session.scalars(select(model)).first()
    assert row is not None
    db.session.delete(row)
    with pytest.raises(RetentionError, match="GPL 42"):
        db.session.flush()


@pytest.mark.parametrize("model", (Tender, Bid, Score, Payment, TenderDocument), ids=lambda m: m.__name__)
def test_a_bulk_delete_of_retained_rows_is_refused(record, db, model):
    with pytest.raises(RetentionError):
        db.session.execute(delete(model))


def test_a_delete_orphan_cascade_is_refused_too(record, db):
    contract = record
    contract.milestones.remove(contract.milestones[0])  # an active contract's milestone
    with pytest.raises(RetentionError):
        db.session.flush()


def test_the_brief_list_is_registered(app):
    """Tenders, bids, the four kinds of documents, contracts, payments and audit events are retained."""
    from marketplace.contracts.models import MilestoneDocument

    for model in (Tender, Bid, TenderDocument, BidAttachment, MilestoneDocument, ContractDocument, Contract):
        assert retention.is_retained(model), model
    assert retention.is_retained(Payment) and retention.is_retained(AuditEvent)


def test_audit_events_are_neither_updated_nor_deleted(world, db):
    audit.record(world["officer"], "test.event", "thing", 1, "x")
    db.session.flush()
    event = db.session.scalars(select(AuditEvent)).first()
    with pytest.raises(RetentionError, match="append-only"):
        db.session.execute(update(AuditEvent).values(summary="edited"))
    with pytest.raises(RetentionError):
        db.session.execute(delete(AuditEvent))
    with db.session.begin_nested():
        event.summary = "edited"
        with pytest.raises((RetentionError, AppendOnlyError)):
            db.session.flush()
    with db.session.begin_nested():
        db.session.delete(event)
        with pytest.raises((RetentionError, AppendOnlyError)):
            db.session.flush()


def test_a_draft_tender_document_may_still_be_removed_but_not_a_published_one(world, db):
    draft = factories.draft(world["officer"])
    doc = drafting.add_document(draft, bf.attachment("草稿.pdf", _unique_pdf("draft")), world["officer"])
    drafting.remove_document(draft, doc, world["officer"])  # permitted: never published
    db.session.flush()
    assert db.session.get(TenderDocument, doc.id) is None
    published = factories.published(world["officer"])
    stored = bf.attachment("修改.pdf", _unique_pdf("amendment"))
    amend(published, {"reason": "补充文件 Added a document"}, world["officer"], [stored])
    added = published.documents[-1]
    with pytest.raises(RetentionError):
        retention.permit_removal(added)  # published: part of the record
    with pytest.raises(RuleViolation):
        drafting.remove_document(published, added, world["officer"])


# --- a bid attachment of a submitted version stays -----------------------------------------------------


def test_removing_a_submitted_attachment_from_the_draft_keeps_it(client, world, db):
    """A sealed bid's submitted attachments are sealed into their version: the draft no longer holds
    them and they cannot be removed; a later version that leaves one out keeps it in the record, and it
    is downloadable once the opening decrypted it."""
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    org, member = bf.organization("留存测试机构")
    plan, budget = _unique_pdf("plan"), _unique_pdf("budget")
    bid = save_draft(
        tender,
        org,
        bf.bid_input(tender),
        member,
        [bf.attachment("方案.pdf", plan, tender), bf.attachment("预算.pdf", budget, tender)],
    )
    kept_id = next(a.id for a in bid.attachments if a.filename == "预算.pdf")
    first = submit(bid, member)
    kept = db.session.get(BidAttachment, kept_id)
    assert bid.attachments == [] and kept in bid.kept_attachments
    assert kept.version == 1 and kept.filename == "" and kept.working_key is None
    with pytest.raises(RuleViolation, match="cannot be removed"):
        remove_attachment(bid, kept, member)  # sealed in version 1: it stays in that version
    # The bidder prepares a new version without the budget: a new attachment, never submitted, is
    # taken off again.
    save_draft(
        tender,
        org,
        bf.bid_input(tender, marker="v2"),
        member,
        [bf.attachment("方案.pdf", plan, tender), bf.attachment("草稿.pdf", b"%PDF" + b"x" * 9, tender)],
    )
    scratch = next(a for a in bid.attachments if a.filename == "草稿.pdf")
    remove_attachment(bid, scratch, member)
    second = submit(bid, member)
    db.session.flush()
    assert db.session.get(BidAttachment, scratch.id) is None  # a draft's only: removed
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(member.id)
    assert (
        client.get(f"/bids/{bid.public_id}/attachments/{kept.public_id}").status_code == 404
    )  # sealed until opened

    for i in range(2):
        other, other_member = bf.organization(f"留存测试机构{i}")
        bf.submitted_bid(tender, other, other_member)
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    assert not open_sealed(tender).failed
    row = db.session.get(BidAttachment, kept.id)
    assert row is not None and row.removed_at is None and row.version == 1 and row.filename == "预算.pdf"
    assert [a.filename for a in bid.opened_attachments] == ["方案.pdf"]
    budget_sha = hashlib.sha256(budget).hexdigest()
    assert budget_sha in {a["sha256"] for a in first.content["attachments"]}
    assert budget_sha not in {a["sha256"] for a in second.content["attachments"]}
    assert file_sha256(path_for(row.storage_key)) == budget_sha == row.sha256
    with pytest.raises(RuleViolation):
        remove_attachment(bid, row, member)  # still part of version 1 (and the deadline has passed)
    db.session.commit()

    page = client.get(f"/bids/{bid.public_id}/attachments/{kept.public_id}")
    assert page.status_code == 200 and page.data == budget


# --- a closed procurement is read-only ---------------------------------------------------------------


@pytest.fixture
def failed_tender(world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    org, member = bf.organization("流标测试机构")
    bf.submitted_bid(tender, org, member)
    clock.set_now(tender.bid_deadline + timedelta(seconds=1))
    open_sealed(tender)  # one bid: the tender fails (O87 41)
    assert tender.status == "failed"
    return tender, org, member


def test_a_failed_tender_refuses_changes(failed_tender, world, db):
    tender, org, member = failed_tender
    officer = world["officer"]
    assert "tender failed" in records.closed_reason(tender)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        cancel(tender, "不再需要", officer)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        amend(tender, {"reason": "x"}, officer)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        drafting.update_draft(tender, factories.tender_input(), officer)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        save_draft(tender, org, bf.bid_input(tender), member)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        form_committee(tender, [Appointment(world["evaluator"], "expert", True)], officer)
    # What continues after closing: a re-run (a new tender), and reading.
    rerun = retender(tender, officer)
    assert rerun.retender_of_id == tender.id and tender.status == "failed"


def test_a_closed_tender_is_still_read(client, failed_tender, world, login_as, db):
    tender, *_ = failed_tender
    db.session.commit()
    login_as("auditor")
    assert client.get(f"/tenders/{tender.id}").status_code == 200
    assert client.get(f"/audit?tender={tender.id}").status_code == 200


def test_a_terminated_contract_refuses_changes_but_is_read_and_exported(app, client, world, login_as, db):
    contract, org, member = contract_rows(world)
    officer = world["officer"]
    termination.terminate(contract, "服务中断 Service stopped", Decimal("84000.00"), officer)
    assert "terminated" in records.closed_reason(contract)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        payments.record_payment(contract, today(), "100.00", "PZ-X", None, officer)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        contract_documents.add_document(contract, bf.attachment("x.pdf", _unique_pdf("late")), False, officer)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        variations.request_variation(contract, {"value": Decimal("290000"), "reason": "more"}, member)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        cancel(contract.tender, "x", officer)  # its tender is closed with it
    db.session.commit()
    login_as("officer")
    assert client.get(f"/contracts/{contract.id}").status_code == 200
    result = app.test_cli_runner().invoke(args=["export", "contracts", "--format", "json", "--out", "-"])
    assert result.exit_code == 0, result.output
    assert contract.reference in result.output


def test_a_completed_contract_takes_payments_until_it_is_settled(world, db):
    contract, _org, _member = contract_rows(world)
    officer = world["officer"]
    contract.status = COMPLETED
    db.session.flush()
    assert records.closed_reason(contract) is None  # the final payment follows the acceptance
    payments.record_payment(contract, today(), str(contract.value), "PZ-ALL", None, officer)
    assert "completed and paid" in records.closed_reason(contract)
    with pytest.raises(RuleViolation, match="procurement is closed"):
        payments.record_payment(contract, today(), "0.01", "PZ-MORE", None, officer)


# --- flask audit verify checks the stored files --------------------------------------------------------


def test_audit_verify_checks_the_stored_files(app, world, db):
    tender = factories.published(world["officer"], bid_deadline=deadline_in(29))
    org, member = bf.organization("校验测试机构")
    payloads = [_unique_pdf(f"file {i}") for i in range(3)]
    bid = save_draft(
        tender,
        org,
        bf.bid_input(tender),
        member,
        [bf.attachment(f"{i}.pdf", p, tender) for i, p in enumerate(payloads)],
    )
    db.session.flush()

    def verify():
        return app.test_cli_runner().invoke(args=["audit", "verify"])

    result = verify()
    assert result.exit_code == 0, result.output
    assert "stored files OK: 3 documents" in result.output

    gone, changed, _intact = bid.attachments
    path_for(gone.storage_key).unlink()
    path_for(changed.storage_key).write_bytes(b"%PDF altered after the fact")
    result = verify()
    assert result.exit_code == 1
    assert "stored files BROKEN: 1 missing, 1 altered of 3 documents" in result.output
    assert f"missing: bid_attachments {gone.id} 0.pdf" in result.output
    assert f"altered: bid_attachments {changed.id} 1.pdf" in result.output
    assert "audit chain OK" in result.output  # the chain itself is whole


def test_draws_invitations_pass_overs_and_bonds_are_retained(app):
    """Issue 14's new records: the expert and invitation draws, the invitations, the award's pass-overs
    and the bonds are kept like the rest of the procurement."""
    from marketplace.bonds.models import BidBond, PerformanceBond
    from marketplace.tenders.committee.models import AwardPassOver, ExpertDraw
    from marketplace.tenders.models import InvitationDraw, TenderInvitation

    for model in (ExpertDraw, InvitationDraw, TenderInvitation, AwardPassOver, BidBond, PerformanceBond):
        assert retention.is_retained(model), model.__name__
