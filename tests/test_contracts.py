"""The contract verbs: drafting from a final award, signatures, variations (GPL 49), termination."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.contracts import drafting, queries, signing, termination, terms, variations
from marketplace.contracts.models import Contract, Variation
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import Notification
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import organization_members
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee.awards import finalize_if_due
from marketplace.tenders.committee.challenges import file_challenge
from tests import bid_factories as bf
from tests.contract_factories import contract_rows, final_award

VALUE = Decimal("280000.00")  # the winning (lowest) price of final_award


def contract_input(start=None, months=12, amounts=("84000.00", "84000.00", "112000.00"), **overrides):
    start = start or local_date(clock.now()) + timedelta(days=1)
    end = terms.term_limit(start, months)
    dues = [start + timedelta(days=30), start + timedelta(days=150), end]
    data = dict(
        title="居家养老上门服务合同 Home care contract",
        term_start=start,
        term_end=end,
        term_justification="",
        scope="上门服务 Home visits",
        targets=[target("服务老人 Older residents served", "人 persons", "200")],
        milestones=[
            {
                "deliverable": f"阶段 {i + 1}",
                "due_date": due,
                "amount": amount,
                "kind": "delivery",
                "is_final": i == len(amounts) - 1,
            }
            for i, (due, amount) in enumerate(zip(dues, amounts, strict=True))
        ],
    )
    data.update(overrides)
    return data


def target(name: str, unit: str, quantity: str) -> dict:
    return {"name": name, "unit": unit, "quantity": quantity}


def request(contract, change: dict, reason: str, who):
    """Ask for a variation: the changes and the reason, as the form sends them."""
    return variations.request_variation(contract, {**change, "reason": reason}, who)


@pytest.fixture
def scene(world, db):
    return final_award(world)


@pytest.fixture
def drafted(scene, world):
    tender, _award, org, member = scene
    contract = drafting.draft_contract(tender, contract_input(), world["officer"])
    return contract, org, member


def _loser_member(tender, org):
    bid = next(b for b in opened_bids(tender) if b.organization_id != org.id)
    return organization_members({bid.organization_id})[0]


def _rewind_to_notice(award):
    """The award as it was during the challenge period: not final yet."""
    award.status, award.final_at = "notice", None
    clock.set_now(award.challenge_deadline - timedelta(days=1))
    db.session.flush()


# --- drafting -----------------------------------------------------------------------------------------


def test_draft_takes_parties_and_value_from_the_award(scene, world):
    tender, award, org, member = scene
    contract = drafting.draft_contract(tender, contract_input(), world["officer"])
    assert contract.status == "draft"
    assert contract.agency_id == tender.agency_id and contract.organization_id == org.id
    assert contract.award_id == award.id
    assert contract.value == contract.original_value == award.bid.price == VALUE
    assert contract.reference == f"HT-{tender.reference or tender.id}"
    assert [m.is_final for m in contract.milestones] == [False, False, True]
    assert len(contract.targets) == 1 and contract.targets[0].quantity == Decimal("200")
    assert db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "contract.draft")
    )
    assert db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == member.id, Notification.kind == "contract.drafted")
    )


def test_draft_refused_before_the_award_is_final(scene, world):
    tender, award, _org, _member = scene
    _rewind_to_notice(award)
    with pytest.raises(RuleViolation, match="not final"):
        drafting.draft_contract(tender, contract_input(), world["officer"])
    assert queries.contract_of(tender) is None


def test_draft_refused_while_a_challenge_is_open(scene, world):
    tender, award, org, _member = scene
    _rewind_to_notice(award)
    file_challenge(award, "评分有误 Scoring error", [], _loser_member(tender, org))
    clock.set_now(award.challenge_deadline + timedelta(days=1))
    assert not finalize_if_due(tender)  # the open challenge keeps the award in notice
    with pytest.raises(RuleViolation, match="challenge"):
        drafting.draft_contract(tender, contract_input(), world["officer"])


def test_only_an_officer_of_the_agency_drafts(scene, world):
    tender, _award, _org, member = scene
    for who in (world["other_officer"], member, world["auditor"], world["admin"]):
        with pytest.raises(RuleViolation, match="officer of the procuring agency"):
            drafting.draft_contract(tender, contract_input(), who)


def test_milestone_amounts_must_add_up_to_the_value(scene, world):
    tender, *_ = scene
    with pytest.raises(
        RuleViolation, match=r"¥1,000\.00 less than the contract value of ¥280,000\.00"
    ) as exc:
        drafting.draft_contract(
            tender, contract_input(amounts=("84000.00", "84000.00", "111000.00")), world["officer"]
        )
    assert exc.value.field == "milestones"
    with pytest.raises(RuleViolation, match=r"¥0\.01 more than"):
        drafting.draft_contract(
            tender, contract_input(amounts=("84000.00", "84000.00", "112000.01")), world["officer"]
        )
    assert queries.contract_of(tender) is None


def test_exactly_one_final_milestone_the_last_by_due_date(scene, world):
    tender, *_ = scene
    data = contract_input()
    data["milestones"][0]["is_final"] = True
    with pytest.raises(RuleViolation, match="exactly one"):
        drafting.draft_contract(tender, data, world["officer"])
    data = contract_input()
    data["milestones"][2]["is_final"], data["milestones"][1]["is_final"] = False, True
    with pytest.raises(RuleViolation, match="last one by due date"):
        drafting.draft_contract(tender, data, world["officer"])


def test_milestones_fall_within_the_term_and_targets_are_required(scene, world):
    tender, *_ = scene
    data = contract_input()
    data["milestones"][2]["due_date"] = data["term_end"] + timedelta(days=1)
    with pytest.raises(RuleViolation, match="within the term"):
        drafting.draft_contract(tender, data, world["officer"])
    with pytest.raises(RuleViolation, match="at least one service target"):
        drafting.draft_contract(tender, contract_input(targets=[]), world["officer"])
    with pytest.raises(RuleViolation, match="more than zero"):
        drafting.draft_contract(tender, contract_input(targets=[target("x", "人", "0")]), world["officer"])


def test_term_longer_than_12_months_needs_a_justification_and_36_is_the_limit(scene, world):
    tender, *_ = scene
    with pytest.raises(RuleViolation, match="justification") as exc:
        drafting.draft_contract(tender, contract_input(months=13), world["officer"])
    assert exc.value.field == "term_justification"
    with pytest.raises(RuleViolation, match="at most 36 months"):
        drafting.draft_contract(
            tender, contract_input(months=37, term_justification="三年服务周期"), world["officer"]
        )
    # Exactly 12 months needs nothing; 36 months with a reason is fine.
    contract = drafting.draft_contract(
        tender,
        contract_input(months=36, term_justification="三年服务周期 A three-year programme"),
        world["officer"],
    )
    assert contract.term_end == terms.term_limit(contract.term_start, 36)


def test_one_contract_per_tender(drafted, scene, world):
    tender, *_ = scene
    with pytest.raises(RuleViolation, match="already has a contract"):
        drafting.draft_contract(tender, contract_input(), world["officer"])
    assert (
        db.session.scalar(select(func.count()).select_from(Contract).where(Contract.tender_id == tender.id))
        == 1
    )


def test_update_draft_replaces_targets_and_milestones(drafted, world):
    contract, _org, _member = drafted
    data = contract_input(amounts=("140000.00", "0.00", "140000.00"))
    data["targets"] = [target("A", "次", "10"), target("B", "人", "5")]
    drafting.update_draft(contract, data, world["officer"])
    assert [t.name for t in contract.targets] == ["A", "B"]
    assert [m.amount for m in contract.milestones] == [
        Decimal("140000.00"),
        Decimal("0.00"),
        Decimal("140000.00"),
    ]


# --- signatures ---------------------------------------------------------------------------------------


def test_both_sides_sign_and_the_contract_becomes_active(drafted, world):
    contract, _org, member = drafted
    signing.sign(contract, member)
    assert contract.status == "draft" and contract.org_signed_by_id == member.id
    assert db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == world["officer"].id, Notification.kind == "contract.signed")
    )
    with pytest.raises(RuleViolation, match="already signed"):
        signing.sign(contract, member)
    signing.sign(contract, world["officer"])
    assert contract.status == "active" and contract.activated_at == clock.now()
    with pytest.raises(RuleViolation):
        signing.sign(contract, world["officer"])


def test_the_wrong_side_cannot_sign(drafted, world):
    contract, _org, _member = drafted
    outsider = bf.organization("别家机构")[1]
    for who in (world["other_officer"], world["auditor"], world["admin"], world["org_member"], outsider):
        with pytest.raises(RuleViolation, match="parties"):
            signing.sign(contract, who)
    assert contract.officer_signed_at is None and contract.org_signed_at is None


def test_a_signature_freezes_the_terms(drafted, world):
    contract, _org, member = drafted
    signing.sign(contract, world["officer"])
    with pytest.raises(RuleViolation, match="frozen"):
        drafting.update_draft(contract, contract_input(), world["officer"])
    assert contract.milestones[0].amount == Decimal("84000.00")


def test_unsigned_30_days_after_the_award_notice_is_flagged(drafted):
    contract, *_ = drafted
    clock.set_now(contract.award.published_at + timedelta(days=29))
    assert not signing.unsigned_overdue(contract)
    clock.set_now(contract.award.published_at + timedelta(days=32))
    assert signing.unsigned_overdue(contract)


# --- variations ---------------------------------------------------------------------------------------


@pytest.fixture
def active(world, db):
    return contract_rows(world)  # 280000.00 in three milestones 84000 / 84000 / 112000


def _raise_final(contract, by: str) -> dict:
    final = contract.milestones[-1]
    return {
        "value": contract.value + Decimal(by),
        "milestones": [{"id": final.id, "amount": final.amount + Decimal(by)}],
    }


def test_a_ten_percent_increase_is_approved_and_history_keeps_the_previous_terms(active, world):
    contract, _org, member = active
    v = request(contract, _raise_final(contract, "28000.00"), "服务人数增加", member)
    assert v.status == "requested" and contract.value == VALUE  # nothing applies before approval
    variations.decide_variation(v, True, "", world["officer"])
    assert v.status == "approved" and contract.value == Decimal("308000.00")
    assert contract.original_value == VALUE
    assert contract.milestones[-1].amount == Decimal("140000.00")
    assert v.previous["value"] == "280000.00"
    assert v.previous["milestones"][-1]["amount"] == "112000.00"
    assert variations.variations(contract) == [v]


def test_increases_are_capped_at_ten_percent_cumulatively(active, world):
    contract, _org, member = active
    with pytest.raises(RuleViolation, match=r"10% of the original value.*¥28,000\.00") as exc:
        request(contract, _raise_final(contract, "28000.01"), "more", member)
    assert exc.value.field == "value"
    v = request(contract, _raise_final(contract, "20000.00"), "first", member)
    variations.decide_variation(v, True, "", world["officer"])
    v = request(contract, _raise_final(contract, "8000.00"), "second", member)
    variations.decide_variation(v, True, "", world["officer"])
    assert contract.value == Decimal("308000.00")
    with pytest.raises(RuleViolation, match=r"Already approved: ¥28,000\.00; this change: ¥0\.01"):
        request(contract, _raise_final(contract, "0.01"), "third", member)


def test_the_cap_is_checked_again_on_approval(active, world):
    contract, _org, member = active
    first = request(contract, _raise_final(contract, "20000.00"), "first", member)
    variations.decide_variation(first, True, "", world["officer"])
    # A request made before is re-checked: here we fake one that slipped past by writing the row.
    late = Variation(
        contract_id=contract.id,
        reason="late",
        changes={
            "value": "310000.00",
            "milestones": [{"id": contract.milestones[-1].id, "amount": "142000.00"}],
        },
        previous={},
        status="requested",
        requested_at=clock.now(),
        requested_by_id=member.id,
    )
    db.session.add(late)
    db.session.flush()
    with pytest.raises(RuleViolation, match="no longer be approved"):
        variations.decide_variation(late, True, "", world["officer"])
    assert contract.value == Decimal("300000.00") and late.status == "requested"


def test_amounts_must_still_add_up_after_a_variation(active, world):
    contract, _org, member = active
    with pytest.raises(RuleViolation, match="less than the contract value"):
        request(contract, {"value": Decimal("290000.00")}, "more", member)


def test_an_accepted_milestone_cannot_change(active, world):
    contract, _org, member = active
    first = contract.milestones[0]
    first.status = "accepted"
    db.session.flush()
    change = {
        "milestones": [
            {"id": first.id, "amount": Decimal("74000.00")},
            {"id": contract.milestones[1].id, "amount": Decimal("94000.00")},
        ]
    }
    with pytest.raises(RuleViolation, match="accepted"):
        request(contract, change, "shift", member)
    # Moving money between unmet milestones is fine.
    change = {
        "milestones": [
            {"id": contract.milestones[1].id, "amount": Decimal("74000.00")},
            {"id": contract.milestones[2].id, "amount": Decimal("122000.00")},
        ]
    }
    v = request(contract, change, "shift", member)
    variations.decide_variation(v, True, "ok", world["officer"])
    assert first.amount == Decimal("84000.00") and contract.milestones[1].amount == Decimal("74000.00")


def test_a_longer_term_and_a_new_milestone(active, world):
    contract, _org, member = active
    new_end = terms.term_limit(contract.term_start, 18)
    final = contract.milestones[-1]
    change = {
        "term_end": new_end,
        "term_justification": "延长服务 Extended",
        "milestones": [
            {"id": final.id, "amount": Decimal("100000.00"), "due_date": new_end},
            {
                "id": None,
                "amount": Decimal("12000.00"),
                "due_date": new_end - timedelta(days=10),
                "deliverable": "追加报告",
            },
        ],
    }
    v = request(contract, change, "延期", member)
    variations.decide_variation(v, True, "", world["officer"])
    assert contract.term_end == new_end and contract.term_justification == "延长服务 Extended"
    assert [m.deliverable for m in contract.milestones][-2:] == ["追加报告", final.deliverable]
    assert v.previous["term_end"] != new_end.isoformat()
    with pytest.raises(RuleViolation, match="at most 36 months"):
        request(contract, {"term_end": terms.term_limit(contract.term_start, 37)}, "x", member)


def test_the_other_party_decides(active, world):
    contract, _org, member = active
    v = request(contract, _raise_final(contract, "1000.00"), "by the agency", world["officer"])
    with pytest.raises(RuleViolation, match="other party"):
        variations.decide_variation(v, True, "", world["officer"])
    with pytest.raises(RuleViolation, match="waiting for a decision"):
        request(contract, _raise_final(contract, "1.00"), "again", member)
    with pytest.raises(RuleViolation, match="required"):
        variations.decide_variation(v, False, "", member)  # a rejection gives a reason
    variations.decide_variation(v, False, "不同意", member)
    assert v.status == "rejected" and contract.value == VALUE and v.previous == {}
    with pytest.raises(RuleViolation, match="already decided"):
        variations.decide_variation(v, True, "", member)


def test_variation_blocker_and_editability_are_the_services_rules(drafted, active, world):
    draft, *_ = drafted
    contract, _org, member = active
    assert (
        drafting.is_editable(draft)
        and variations.variation_blocker(draft) == "Only an active contract can be varied."
    )
    signing.sign(draft, world["officer"])
    assert not drafting.is_editable(draft)  # the first signature freezes the terms
    assert variations.variation_blocker(contract) is None
    request(contract, _raise_final(contract, "1000.00"), "more", member)
    assert "waiting for a decision" in variations.variation_blocker(contract)


def test_outsiders_and_auditors_cannot_request_variations(active, world):
    contract, *_ = active
    for who in (world["other_officer"], world["auditor"], world["org_member"]):
        with pytest.raises(RuleViolation, match="parties"):
            request(contract, _raise_final(contract, "1.00"), "x", who)


# --- termination ----------------------------------------------------------------------------------------


def test_termination(active, world):
    contract, _org, member = active
    with pytest.raises(RuleViolation, match="cannot exceed") as exc:
        termination.terminate(contract, "服务中断", Decimal("280000.01"), world["officer"])
    assert exc.value.field == "amount_paid"
    with pytest.raises(RuleViolation, match="required"):
        termination.terminate(contract, " ", Decimal("0"), world["officer"])
    with pytest.raises(RuleViolation, match="officer"):
        termination.terminate(contract, "x", Decimal("0"), member)
    termination.terminate(contract, "服务中断 Service stopped", Decimal("84000.00"), world["officer"])
    assert contract.status == "terminated" and contract.terminated_at == clock.now()
    assert contract.termination_amount_paid == Decimal("84000.00")
    assert db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == member.id, Notification.kind == "contract.terminated")
    )
    # A terminated contract's procurement is closed: its records are read-only (core.records).
    with pytest.raises(RuleViolation, match="closed"):
        termination.terminate(contract, "again", Decimal("0"), world["officer"])


# --- reads ----------------------------------------------------------------------------------------------


def test_contracts_for_each_role(active, world):
    contract, _org, member = active
    ids = lambda user, status=None: [c.id for c in queries.contracts_for(user, status).items]  # noqa: E731
    assert ids(world["officer"]) == [contract.id]
    assert ids(member) == [contract.id]
    assert ids(world["auditor"]) == [contract.id] and ids(world["admin"]) == [contract.id]
    assert ids(world["other_officer"]) == [] and ids(world["org_member"]) == []
    assert ids(world["evaluator"]) == []
    assert ids(world["officer"], "draft") == [] and ids(world["officer"], "active") == [contract.id]
