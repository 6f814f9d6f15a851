"""The evaluation and award stage through its verbs: committee, conflicts, scoring, award, challenges."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.auth import services as auth_services
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import render
from marketplace.core.notifications import Notification
from marketplace.core.timeutil import start_of_local_day
from marketplace.tenders import procedures
from marketplace.tenders.bids.ceremony import keys
from marketplace.tenders.bids.models import BidOpening
from marketplace.tenders.bids.visibility import visible_bid
from marketplace.tenders.committee.awards import can_draft_contract, confirm_award, finalize_if_due, pass_over
from marketplace.tenders.committee.challenges import answer_challenge, file_challenge
from marketplace.tenders.committee.members import (
    Appointment,
    committee,
    declare,
    form_committee,
    replace_member,
)
from marketplace.tenders.committee.ranking import (
    conclude,
    concluded,
    evaluation_problems,
    price_deduction_percent,
    retender,
    sign_off,
)
from marketplace.tenders.committee.review import abnormally_low_bids, qualify, review_price
from marketplace.tenders.committee.scores import mean_scores, save_scores, visible_scores
from marketplace.tenders.committee.succession import next_candidate
from marketplace.tenders.models import OPEN
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed
from tests.factories import PASSWORD


@pytest.fixture
def scene(world, db):
    # Published Thu 20 Aug 2026; bids due Tue 15 Sep 2026 09:00.
    clock.set_now(datetime(2026, 8, 20, 2, 0, tzinfo=UTC))
    tender = factories.published(
        world["officer"], bid_deadline=start_of_local_day(date(2026, 9, 15)) + timedelta(hours=9)
    )
    bidders = [bf.organization(f"投标机构{i}") for i in range(3)]
    bids = [
        bf.submitted_bid(tender, org, m, price=p)[0]
        for (org, m), p in zip(bidders, ["300000.00", "280000.00", "320000.00"], strict=True)
    ]
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    open_sealed(tender)
    experts = [
        auth_services.create_user(email=f"e{i}@test.org", role="evaluator", password=PASSWORD)
        for i in range(7)
    ]
    return tender, bidders, bids, experts


def _committee(tender, experts, world, n=5):
    appts = [Appointment(e, "expert", i == 0) for i, e in enumerate(experts[: n - 1])]
    appts.append(Appointment(world["officer"], "buyer_rep"))
    return form_committee(tender, appts, world["officer"])


def _evaluate(tender, bids, members, points):
    """Everyone declares, bids qualify, members score: points[member][bid] on every criterion."""
    for m in members:
        assert declare(m, {b.id: (False, "") for b in bids}, m.user)
    for b in bids:
        qualify(tender, b, True, "", tender.created_by)
    for mi, m in enumerate(members):
        scores = {}
        for bi, b in enumerate(bids):
            for c in tender.technical_criteria:
                scores[(b.id, c.id)] = (min(points[mi][bi], c.weight), "")
        save_scores(m, scores, m.user, submit=True)


def test_committee_composition_rules(scene, world, db):
    tender, _b, _bids, experts = scene
    officer = world["officer"]
    with pytest.raises(RuleViolation, match="at least 5"):
        form_committee(tender, [Appointment(e, "expert", i == 0) for i, e in enumerate(experts[:3])], officer)
    with pytest.raises(RuleViolation, match="odd"):
        form_committee(tender, [Appointment(e, "expert", i == 0) for i, e in enumerate(experts[:6])], officer)
    with pytest.raises(RuleViolation, match="may not chair"):
        form_committee(
            tender,
            [Appointment(e, "expert") for e in experts[:4]] + [Appointment(officer, "buyer_rep", True)],
            officer,
        )
    colleague = auth_services.create_user(
        email="o2@test.org", role="officer", password=PASSWORD, agency=world["agency"]
    )
    with pytest.raises(RuleViolation, match=r"At least 66\.67% of the members must be independent experts"):
        form_committee(
            tender,
            [Appointment(e, "expert", i == 0) for i, e in enumerate(experts[:3])]
            + [Appointment(officer, "buyer_rep"), Appointment(colleague, "buyer_rep")],
            officer,
        )
    with pytest.raises(RuleViolation, match="not an evaluator"):
        form_committee(
            tender,
            [Appointment(e, "expert", i == 0) for i, e in enumerate(experts[:4])]
            + [Appointment(world["auditor"], "expert")],
            officer,
        )
    with pytest.raises(RuleViolation, match="officer of the procuring agency"):
        form_committee(
            tender,
            [Appointment(e, "expert", i == 0) for i, e in enumerate(experts[:5])],
            world["other_officer"],
        )
    members = _committee(tender, experts, world)
    assert len(members) == 5 and tender.status == "evaluation"


def test_large_budget_needs_seven(world, db):
    assert procedures.profile("public_tender").committee_size_for(Decimal("10000000")) == 7
    assert procedures.profile("competitive_consultation").committee_size_for(Decimal("10000000")) == 3


def test_no_bid_before_declaring_and_conflict_removes(scene, world, db):
    tender, _b, bids, experts = scene
    members = _committee(tender, experts, world)
    m = members[1]
    assert visible_bid(bids[0].public_id, m.user) is None  # not before declaring
    with pytest.raises(RuleViolation, match="conflict"):
        save_scores(m, {}, m.user, submit=False)
    with pytest.raises(RuleViolation, match="every bidder"):
        declare(m, {bids[0].id: (False, "")}, m.user)
    assert declare(m, {b.id: (False, "") for b in bids}, m.user)
    assert visible_bid(bids[0].public_id, m.user) is bids[0]
    conflicted = members[2]
    assert not declare(conflicted, {b.id: (b is bids[1], "前同事") for b in bids}, conflicted.user)
    assert not conflicted.active and visible_bid(bids[0].public_id, conflicted.user) is None
    assert any("independent experts" in p or "at least 5" in p for p in evaluation_problems(tender))
    notes = db.session.scalars(select(Notification).where(Notification.kind == "committee.conflict")).all()
    assert {n.user_id for n in notes} == {world["officer"].id}
    replacement = replace_member(conflicted, experts[5], world["officer"])
    assert replacement.active and len(committee(tender)) == 5


def test_chair_conflict_passes_the_chair_to_the_replacement_once(scene, world, db):
    tender, _b, bids, experts = scene
    members = _committee(tender, experts, world)
    chair = next(m for m in members if m.is_chair)
    assert not declare(chair, {b.id: (b is bids[0], "亲属") for b in bids}, chair.user)
    assert not any(m.is_chair for m in committee(tender))  # nobody chairs until replaced
    replacement = replace_member(chair, experts[5], world["officer"])
    assert replacement.is_chair and not chair.is_chair
    assert [m.id for m in committee(tender) if m.is_chair] == [replacement.id]
    with pytest.raises(RuleViolation, match="already been replaced"):
        replace_member(chair, experts[6], world["officer"])
    assert len(committee(tender)) == 5


def test_members_do_not_see_each_others_scores_before_submitting(scene, world, db):
    tender, _b, bids, experts = scene
    members = _committee(tender, experts, world)
    for m in members:
        declare(m, {b.id: (False, "") for b in bids}, m.user)
    for b in bids:
        qualify(tender, b, True, "", world["officer"])
    first, second = members[0], members[1]
    c = tender.technical_criteria[0]
    save_scores(
        first,
        {(b.id, cc.id): (10, "") for b in bids for cc in tender.technical_criteria},
        first.user,
        submit=True,
    )
    save_scores(second, {(bids[0].id, c.id): (5, "")}, second.user, submit=False)
    assert set(visible_scores(tender, second)) == {second.id}
    assert set(visible_scores(tender, first)) == {m.id for m in members}
    with pytest.raises(RuleViolation, match="submitted"):
        save_scores(first, {(bids[0].id, c.id): (1, "")}, first.user, submit=False)
    with pytest.raises(RuleViolation, match="from 0 to"):
        save_scores(second, {(bids[0].id, c.id): (c.weight + 1, "")}, second.user, submit=False)
    with pytest.raises(RuleViolation, match="every qualified bid"):
        save_scores(second, {}, second.user, submit=True)


def test_full_flow_ranking_award_and_challenge_window(scene, world, db):
    tender, bidders, bids, experts = scene
    members = _committee(tender, experts, world)
    # Everyone gives the same points to every bid: the ranking is decided by price alone.
    _evaluate(tender, bids, members, [[8, 8, 8]] * 5)
    rows = conclude(tender, world["officer"])
    ranked = sorted((r for r in rows if r.rank), key=lambda r: r.rank)
    assert [r.bid_id for r in ranked] == [bids[1].id, bids[0].id, bids[2].id]  # 280k, 300k, 320k
    assert ranked[0].price_points == Decimal("30.00") and ranked[1].price_points == Decimal("28.00")
    with pytest.raises(RuleViolation, match="already concluded"):
        conclude(tender, world["officer"])
    with pytest.raises(RuleViolation, match="sign"):
        confirm_award(tender, bids[1], "", world["officer"])
    for m in members:
        sign_off(m, m.user)
    with pytest.raises(RuleViolation):
        confirm_award(tender, bids[0], "", world["officer"])  # not first-ranked: needs a reason
    # Confirmed on Tue 29 Sep 2026: notice period ends Wed 30 Sep; 7 WD later (National Day 1-7 Oct off,
    # Sat 10 Oct a make-up working day) is Thu 15 Oct.
    clock.set_now(datetime(2026, 9, 29, 2, 0, tzinfo=UTC))
    a = confirm_award(tender, bids[1], "", world["officer"])
    assert tender.status == "awarded" and a.rank == 1
    assert a.challenge_deadline == start_of_local_day(datetime(2026, 10, 16).date()) - timedelta(
        microseconds=1
    )
    assert not can_draft_contract(tender)
    loser_org, loser = bidders[0]
    clock.set_now(start_of_local_day(datetime(2026, 10, 16).date()) + timedelta(hours=9))  # 1 WD after
    with pytest.raises(RuleViolation, match="ended"):
        file_challenge(a, "评分有误", [], loser)
    clock.set_now(start_of_local_day(datetime(2026, 10, 15).date()) + timedelta(hours=23))  # last day
    ch = file_challenge(a, "评分有误 Scoring error", [], loser)
    with pytest.raises(RuleViolation, match="bidder"):
        file_challenge(a, "x", [], world["org_member"])
    clock.set_now(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    assert not finalize_if_due(tender)  # window closed but a challenge is open
    assert not can_draft_contract(tender)
    answer_challenge(ch, False, "评分无误。 The scores stand.", None, world["officer"])
    assert finalize_if_due(tender) and can_draft_contract(tender)


def test_upheld_challenge_sends_back_to_evaluation(scene, world, db):
    tender, bidders, bids, experts = scene
    members = _committee(tender, experts, world)
    _evaluate(tender, bids, members, [[8, 8, 8]] * 5)
    assert not concluded(tender)
    conclude(tender, world["officer"])
    assert concluded(tender)
    for m in members:
        sign_off(m, m.user)
    a = confirm_award(tender, bids[1], "", world["officer"])
    ch = file_challenge(a, "grounds", [], bidders[0][1])
    with pytest.raises(RuleViolation):
        answer_challenge(ch, True, "upheld", None, world["officer"])
    answer_challenge(ch, True, "专家评分错误，重新评审。", "reevaluate", world["officer"])
    assert tender.status == "evaluation" and a.status == "annulled"
    assert all(m.scores_submitted_at is None for m in members)
    with pytest.raises(RuleViolation, match="ranking first"):
        confirm_award(tender, bids[1], "", world["officer"])
    _evaluate_again = [[9, 7, 8]] * 5
    for mi, m in enumerate(members):
        save_scores(
            m,
            {
                (b.id, c.id): (_evaluate_again[mi][bi], "")
                for bi, b in enumerate(bids)
                for c in tender.technical_criteria
            },
            m.user,
            submit=True,
        )
    assert not concluded(tender)  # round 2 is being scored: round 1's ranking is not current
    rows = conclude(tender, world["officer"])
    assert {r.round for r in rows} == {2}
    assert concluded(tender)


def test_too_few_qualified_bids_fail_and_retender(scene, world, db):
    tender, bidders, bids, experts = scene
    members = _committee(tender, experts, world)
    for m in members:
        declare(m, {b.id: (False, "") for b in bids}, m.user)
    qualify(tender, bids[0], True, "", world["officer"])
    qualify(tender, bids[1], True, "", world["officer"])
    with pytest.raises(RuleViolation):
        qualify(tender, bids[2], False, "", world["officer"])  # a failure needs its reason
    qualify(tender, bids[2], False, "未提供年检合格证明 No annual inspection certificate", world["officer"])
    note = db.session.scalars(select(Notification).where(Notification.kind == "bid.disqualified")).one()
    assert note.user_id == bidders[2][1].id and "annual inspection" in render(note.body, note.params)
    assert note.link == f"/bids/{bids[2].public_id}"  # the public id: the sequential one answers 404
    conclude(tender, world["officer"])
    assert tender.status == "failed" and "Government Procurement Law, art. 36" in tender.failure_reason
    draft = retender(tender, world["officer"])
    assert draft.status == "draft" and draft.retender_of_id == tender.id and draft.category == tender.category


def test_abnormally_low_price_needs_justification(scene, world, db):
    tender, bidders, bids, experts = scene
    org, member = bf.organization("低价机构")
    # A fourth bid far below the others is flagged (mean of 300k, 280k, 320k, 150k = 262.5k; 80 % = 210k).
    clock.set_now(tender.bid_deadline - timedelta(days=1))
    tender.status = OPEN
    # Rewind the opening past the ORM: the application never deletes a record (core.retention).
    opening = db.session.scalar(select(BidOpening))
    db.session.expunge(opening)
    db.session.connection().execute(BidOpening.__table__.delete().where(BidOpening.id == opening.id))
    key = keys.key_of(tender)  # and the opening key's ceremony with it: the officers contribute again
    key.ceremony_started_at = key.completed_at = None
    for share in key.shares:
        share.contributed_at = None
    low, _ = bf.submitted_bid(tender, org, member, price="150000.00")
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    open_sealed(tender)
    members = _committee(tender, experts, world)
    _evaluate(tender, bids + [low], members, [[8, 8, 8, 8]] * 5)
    assert abnormally_low_bids(tender) == {low.id}
    assert any("abnormally low" in p for p in evaluation_problems(tender))
    with pytest.raises(RuleViolation):
        review_price(tender, bids[0], True, "ok", world["officer"])  # not flagged
    review_price(tender, low, False, "无法说明成本构成 Cannot explain its costs", world["officer"])
    rows = {r.bid_id: r for r in conclude(tender, world["officer"])}
    assert rows[low.id].rank is None and "MOF Order 87, art. 60" in rows[low.id].invalid_reason
    assert rows[bids[1].id].rank == 1


def test_mean_scores_and_price_deduction_come_from_the_service(scene, world, db):
    tender, _bidders, bids, experts = scene
    members = _committee(tender, experts, world)
    _evaluate(tender, bids, members, [[8, 4, 5], [7, 4, 5], [7, 4, 5], [7, 4, 5], [6, 5, 5]])
    c = tender.technical_criteria[0]
    means = mean_scores(visible_scores(tender, None, officer_view=True), bids, [c])
    assert means[(bids[0].id, c.id)] == Decimal("7.00")
    assert means[(bids[1].id, c.id)] == Decimal("4.20")
    assert mean_scores({}, bids, [c])[(bids[0].id, c.id)] is None  # nobody scored
    rows = conclude(tender, world["officer"])
    assert all(price_deduction_percent(r) == 0 for r in rows)  # no small organization
    r = rows[0]
    r.evaluated_price = r.price * Decimal("0.85")
    assert price_deduction_percent(r) == 15


# --- the award follows the ranking (O87 68) ----------------------------------------------------------


def _ranked(scene, world):
    """Ranked by price (280k, 300k, 320k) and signed: bids[1] is rank 1, bids[0] rank 2."""
    tender, bidders, bids, experts = scene
    members = _committee(tender, experts, world)
    _evaluate(tender, bids, members, [[8, 8, 8]] * 5)
    conclude(tender, world["officer"])
    for m in members:
        sign_off(m, m.user)
    return tender, bids


def test_a_written_reason_cannot_pick_a_lower_rank(scene, world):
    tender, bids = _ranked(scene, world)
    with pytest.raises(RuleViolation, match="goes to rank 1"):
        confirm_award(tender, bids[0], "第二名服务经验更丰富 more experienced", world["officer"])
    assert tender.status == "evaluation"
    with pytest.raises(RuleViolation, match="next candidate"):  # nor skip rank 1 by passing over rank 2
        pass_over(tender, bids[0], {"ground": "withdrew", "reason": "x"}, world["officer"])


def test_the_next_in_rank_order_wins_when_rank_one_withdraws(scene, world, db):
    tender, bids = _ranked(scene, world)
    with pytest.raises(RuleViolation, match="Reason"):
        pass_over(tender, bids[1], {"ground": "withdrew", "reason": ""}, world["officer"])
    with pytest.raises(RuleViolation, match="Choose why"):
        pass_over(tender, bids[1], {"ground": "dislike", "reason": "x"}, world["officer"])
    passed = pass_over(
        tender, bids[1], {"ground": "withdrew", "reason": "来函放弃中标资格"}, world["officer"]
    )
    assert passed.rank == 1 and passed.ground == "withdrew"
    assert next_candidate(tender).bid_id == bids[0].id
    with pytest.raises(RuleViolation, match="goes to rank 2"):
        confirm_award(tender, bids[1], "", world["officer"])
    award = confirm_award(tender, bids[0], "", world["officer"])
    assert award.rank == 2 and "rank 1 passed over (withdrew): 来函放弃中标资格" in award.reason


def test_a_winner_who_fails_to_sign_gives_way_to_the_next(scene, world, db):
    tender, bids = _ranked(scene, world)
    award = confirm_award(tender, bids[1], "", world["officer"])
    with pytest.raises(RuleViolation, match="final award"):  # still in its challenge window
        pass_over(tender, bids[1], {"ground": "failed_to_sign", "reason": "逾期未签"}, world["officer"])
    clock.set_now(award.challenge_deadline + timedelta(minutes=1))
    passed = pass_over(
        tender, bids[1], {"ground": "failed_to_sign", "reason": "逾期未签订合同"}, world["officer"]
    )
    assert award.status == "annulled" and tender.status == "evaluation"
    # The decision for the next candidate is counted from the recorded failure, not the old report.
    from marketplace.timelimits.limits import DECISION, time_limits

    decision = next(t for t in time_limits(tender) if t.code == DECISION)
    assert decision.counted_from == passed.recorded_at and decision.state == "open"
    second = confirm_award(tender, bids[0], "", world["officer"])
    assert second.rank == 2 and second.status == "notice"


def test_no_failure_to_sign_once_a_contract_is_drafted(scene, world, db):
    from marketplace.contracts import drafting
    from tests.test_contracts import contract_input

    tender, bids = _ranked(scene, world)
    award = confirm_award(tender, bids[1], "", world["officer"])
    clock.set_now(award.challenge_deadline + timedelta(minutes=1))
    drafting.draft_contract(tender, contract_input(), world["officer"])
    with pytest.raises(RuleViolation, match="contract was already drafted"):
        pass_over(tender, bids[1], {"ground": "failed_to_sign", "reason": "x"}, world["officer"])
    assert award.status != "annulled"
