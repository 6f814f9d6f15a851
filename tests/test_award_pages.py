"""The evaluation and award stage through its pages: the officer's dashboard, the members' declaration
and scoring pages, the evaluation report, the public award notice and challenges."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.auth import services as auth_services
from marketplace.core.messages import render
from marketplace.core.notifications import Notification
from marketplace.jobs.runner import run_job
from marketplace.tenders.bids.models import BidAttachment
from marketplace.tenders.committee.awards import confirm_award
from marketplace.tenders.committee.challenges import file_challenge
from marketplace.tenders.committee.members import Appointment, committee, declare, form_committee
from marketplace.tenders.committee.models import (
    Award,
    Challenge,
    CommitteeMember,
    ConflictDeclaration,
    EvaluationResult,
    PriceReview,
    Qualification,
    Score,
)
from marketplace.tenders.committee.ranking import conclude, results, sign_off
from marketplace.tenders.committee.review import qualify
from marketplace.tenders.committee.scores import save_scores, scores_of
from marketplace.tenders.models import Tender
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed
from tests.factories import PASSWORD

PRICES = ("300000.00", "320000.00", "350000.00")
# Every member gives bid i this share of each criterion's weight: bid 0 ranks first.
SHARES = (0.9, 0.7, 0.5)
# Weights 40/20/10 and price weight 30 give these totals (price points 30.00, 28.13, 25.71).
TOTALS = ("93.00", "77.13", "60.71")
PRICE_POINTS = ("30.00", "28.13", "25.71")
NAMES = ("甲方机构ALPHA", "乙方机构BRAVO", "丙方机构CHARLIE", "丁方机构DELTA")
_accounts = itertools.count()


@dataclass
class Scene:
    tender: Tender
    bidders: list  # [(organization, member user)]
    bids: list
    experts: list


def _scene(world, db, prices=PRICES, small=()) -> Scene:
    tender = factories.published(world["officer"], price_weight=30)
    bidders = [bf.organization(name, small=i in small) for i, name in enumerate(NAMES[: len(prices)])]
    bids = [
        bf.submitted_bid(
            tender,
            org,
            member,
            price=price,
            marker=f"RESPONSE-{i}",
            files=[(f"plan-{i}.pdf", f"%PDF plan {i}".encode())],
        )[0]
        for i, ((org, member), price) in enumerate(zip(bidders, prices, strict=True))
    ]
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    open_sealed(tender)
    experts = [
        auth_services.create_user(
            email=f"panel{next(_accounts)}@test.org",
            role="evaluator",
            password=PASSWORD,
            name=f"评审专家{i}号",
        )
        for i in range(5)
    ]
    db.session.commit()
    return Scene(tender, bidders, bids, experts)


@pytest.fixture
def scene(world, db) -> Scene:
    return _scene(world, db)


def _login(client, user):
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True


def _committee(s: Scene, world) -> list[CommitteeMember]:
    members = form_committee(
        s.tender, [Appointment(e, "expert", i == 0) for i, e in enumerate(s.experts)], world["officer"]
    )
    return members


def _declare_and_qualify(s: Scene, members, world, disqualify=()):
    for m in members:
        assert declare(m, {b.id: (False, "") for b in s.bids}, m.user)
    for i, b in enumerate(s.bids):
        qualify(
            s.tender,
            b,
            i not in disqualify,
            "资质过期 Certificate expired" if i in disqualify else "",
            world["officer"],
        )


def _points(s: Scene, bid_index: int, criterion) -> str:
    return f"{criterion.weight * SHARES[bid_index]:.2f}"


def _all_scores(s: Scene, comment: str = "", count: int = 3) -> dict:
    return {
        (b.id, c.id): (_points(s, i, c), comment)
        for i, b in enumerate(s.bids[:count])
        for c in s.tender.technical_criteria
    }


def _score_form(s: Scene, comment: str = "", *, submit: bool, only_first_bid: bool = False) -> dict:
    data = {}
    for i, b in enumerate(s.bids[:1] if only_first_bid else s.bids):
        for c in s.tender.technical_criteria:
            data[f"points_{b.id}_{c.id}"] = _points(s, i, c)
            data[f"comment_{b.id}_{c.id}"] = comment
    data["submit_scores" if submit else "save"] = "1"
    return data


def _evaluated(s: Scene, world) -> list[CommitteeMember]:
    members = _committee(s, world)
    _declare_and_qualify(s, members, world)
    for m in members:
        save_scores(m, _all_scores(s, f"note by {m.user.name}"), m.user, submit=True)
    return members


def _concluded(s: Scene, world) -> list[CommitteeMember]:
    members = _evaluated(s, world)
    conclude(s.tender, world["officer"])
    return members


def _awarded(s: Scene, world) -> Award:
    members = _concluded(s, world)
    for m in members:
        sign_off(m, m.user)
    return confirm_award(s.tender, s.bids[0], "", world["officer"])


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- committee --------------------------------------------------------------------------------------


def test_committee_is_formed_through_the_dashboard(client, scene, world, db):
    s, officer = scene, world["officer"]
    _login(client, officer)
    page = client.get(f"/committee/{s.tender.id}")
    assert page.status_code == 200
    assert b"at least 5 members" in page.data and "评审专家0号".encode() in page.data
    ids = [e.id for e in s.experts]
    url = f"/committee/{s.tender.id}/members"
    bad = [
        ({"members": ids[:3], "chair": str(ids[0])}, b"at least 5 members"),
        ({"members": ids, "buyer_rep": str(officer.id), "chair": str(ids[0])}, b"odd number"),
        ({"members": ids[:4], "buyer_rep": str(officer.id), "chair": str(officer.id)}, b"may not chair"),
        ({"members": ids, "chair": str(world["evaluator"].id)}, b"chair must be one of the members"),
        ({"members": ids, "chair": ""}, b"Choose the chair"),
        ({"members": [ids[0], 999999], "chair": str(ids[0])}, b"not a valid choice"),
    ]
    for data, message in bad:
        r = client.post(url, data=data)
        assert r.status_code == 400 and message in r.data, (data, r.status_code)
        assert _count(db, CommitteeMember) == 0
        db.session.expire_all()
        assert s.tender.status == "opened"
    # Four experts and the buyer's representative, an expert in the chair.
    r = client.post(url, data={"members": ids[:4], "buyer_rep": str(officer.id), "chair": str(ids[1])})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/committee/{s.tender.id}")
    db.session.expire_all()
    members = committee(s.tender)
    assert len(members) == 5 and s.tender.status == "evaluation"
    assert [m.user_id for m in members if m.is_chair] == [ids[1]]
    assert {m.user_id for m in members if m.role == "buyer_rep"} == {officer.id}
    told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "committee.appointed"))
    assert set(told) == set(ids[:4]) | {officer.id}
    again = client.post(url, data={"members": ids, "chair": str(ids[0])})
    assert (
        again.status_code == 400 and b"already formed" in again.data and b"Declared no conflict" in again.data
    )
    assert _count(db, CommitteeMember) == 5
    # The form is gone; progress shows instead, without any score.
    page = client.get(f"/committee/{s.tender.id}")
    assert b'name="members"' not in page.data and b"Declared no conflict" in page.data
    # The buyer's representative declares and scores through the same pages as the experts.
    assert b"My evaluations" in page.data
    seat = next(m for m in members if m.user_id == officer.id)
    listing = client.get("/committee/seats")
    assert listing.status_code == 200 and s.tender.title.encode() in listing.data
    assert f"/committee/seats/{seat.id}/declare".encode() in listing.data and b"Buyer" in listing.data
    declare = client.get(f"/committee/seats/{seat.id}/declare")
    assert declare.status_code == 200 and b'name="confirm"' in declare.data
    for org, _member in s.bidders:
        assert org.name.encode() in declare.data


# --- declarations, bids and scores -------------------------------------------------------------------


def test_evaluator_sees_bids_only_after_declaring(client, scene, world, db):
    s = scene
    members = _committee(s, world)
    db.session.commit()
    m0, m1 = members[0], members[1]
    bid, att = s.bids[0], s.bids[0].opened_attachments[0]  # decrypted by the opening
    _login(client, m0.user)
    listing = client.get("/committee/seats")
    assert listing.status_code == 200 and s.tender.title.encode() in listing.data
    assert f"/committee/seats/{m0.id}/declare".encode() in listing.data
    assert client.get(f"/committee/seats/{m0.id}/score").status_code == 403
    assert (
        client.post(f"/committee/seats/{m0.id}/score", data=_score_form(s, submit=False)).status_code == 403
    )
    assert client.get(f"/bids/{bid.public_id}").status_code == 404
    assert client.get(f"/bids/{bid.public_id}/attachments/{att.public_id}").status_code == 404
    page = client.get(f"/committee/seats/{m0.id}/declare")
    assert page.status_code == 200
    for org, _member in s.bidders:
        assert org.name.encode() in page.data
    for leak in (b"300,000.00", b"RESPONSE-0", b"plan-0.pdf", s.bidders[0][0].uscc.encode()):
        assert leak not in page.data  # names only before declaring
    # Someone else's seat: not disclosed, whoever asks.
    for user in (m1.user, world["evaluator"]):
        _login(client, user)
        assert client.get(f"/committee/seats/{m0.id}/declare").status_code == 404
        assert client.get(f"/committee/seats/{m0.id}/score").status_code == 404
    for user in (world["auditor"], world["org_member"], world["officer"]):
        _login(client, user)
        assert client.get(f"/committee/seats/{m0.id}/declare").status_code == 403
    assert client.get("/committee/seats/999999/declare").status_code == 404
    _login(client, world["evaluator"])
    assert b"not been appointed to any evaluation committee" in client.get("/committee/seats").data
    _login(client, m0.user)
    form = {f"conflict_{b.id}": "" for b in s.bids}
    r = client.post(f"/committee/seats/{m0.id}/declare", data=form)
    assert r.status_code == 400 and b"Tick the box" in r.data
    db.session.expire_all()
    assert m0.declared_at is None and _count(db, ConflictDeclaration) == 0
    r = client.post(f"/committee/seats/{m0.id}/declare", data={"confirm": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/committee/seats/{m0.id}/score")
    db.session.expire_all()
    assert m0.declared_at is not None and m0.active
    again = client.post(f"/committee/seats/{m0.id}/declare", data={"confirm": "y"})
    assert again.status_code == 400 and b"already been made" in again.data
    assert client.get(f"/bids/{bid.public_id}").status_code == 200
    assert client.get(f"/bids/{bid.public_id}/attachments/{att.public_id}").status_code == 200
    # Reading a bid is not owning it: the member cannot act on the bidder's behalf.
    events = _count(db, AuditEvent)
    for url, data in (
        (f"/bids/{bid.public_id}/submit", {}),
        (f"/bids/{bid.public_id}/withdraw", {"confirm": "y"}),
        (f"/bids/{bid.public_id}/attachments/{att.public_id}/delete", {}),
    ):
        assert client.post(url, data=data).status_code == 403, url
    db.session.expire_all()
    assert bid.status == "submitted" and len(bid.opened_attachments) == 1 and _count(db, AuditEvent) == events
    assert db.session.get(BidAttachment, att.id).removed_at is None
    score = client.get(f"/committee/seats/{m0.id}/score")
    assert score.status_code == 200 and b"qualification review" in score.data  # nothing qualified yet
    qualify(s.tender, bid, True, "", world["officer"])
    db.session.commit()
    score = client.get(f"/committee/seats/{m0.id}/score")
    assert score.status_code == 200 and b"RESPONSE-0" in score.data and b"plan-0.pdf" in score.data
    assert b"RESPONSE-1" not in score.data  # only qualified bids are scored
    # A member who has not declared still sees nothing.
    _login(client, m1.user)
    assert client.get(f"/bids/{bid.public_id}").status_code == 404


def test_declared_conflict_removes_the_member_and_the_officer_replaces_them(client, scene, world, db):
    s = scene
    members = _committee(s, world)
    db.session.commit()
    m1 = members[1]
    _login(client, m1.user)
    data = {"confirm": "y", f"conflict_{s.bids[1].id}": "y", f"note_{s.bids[1].id}": "前雇主 former employer"}
    r = client.post(f"/committee/seats/{m1.id}/declare", data=data, follow_redirects=True)
    assert r.status_code == 200 and b"removed from this committee" in r.data
    db.session.expire_all()
    assert not m1.active and m1.declared_at is None
    assert client.get(f"/committee/seats/{m1.id}/score").status_code == 403
    assert client.get(f"/bids/{s.bids[0].public_id}").status_code == 404
    assert b"removed" in client.get("/committee/seats").data
    officer = world["officer"]
    assert db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.kind == "committee.conflict", Notification.user_id == officer.id)
    )
    _login(client, officer)
    page = client.get(f"/committee/{s.tender.id}")
    assert f"/committee/{s.tender.id}/members/{m1.id}/replace".encode() in page.data
    url = f"/committee/{s.tender.id}/members/{m1.id}/replace"
    for user_id in ("", str(members[2].user_id), str(m1.user_id)):  # none, seated, the removed member
        r = client.post(url, data={"user": user_id})
        assert r.status_code == 400, user_id
        assert _count(db, CommitteeMember) == 5
    assert (
        client.post(
            f"/committee/{s.tender.id}/members/{members[2].id}/replace",
            data={"user": str(world["evaluator"].id)},
        ).status_code
        == 400
    )
    assert (
        client.post(f"/committee/{s.tender.id}/members/999999/replace", data={"user": "1"}).status_code == 404
    )
    r = client.post(url, data={"user": str(world["evaluator"].id)})
    assert r.status_code == 302
    db.session.expire_all()
    active = committee(s.tender)
    assert len(active) == 5 and world["evaluator"].id in {m.user_id for m in active}
    assert f"/members/{m1.id}/replace".encode() not in client.get(f"/committee/{s.tender.id}").data
    _login(client, world["evaluator"])
    assert s.tender.title.encode() in client.get("/committee/seats").data


def test_scores_stay_private_until_the_member_submits(client, scene, world, db):
    s = scene
    members = _committee(s, world)
    _declare_and_qualify(s, members, world)
    m0, m1 = members[0], members[1]
    save_scores(m0, _all_scores(s, "COMMENT-FROM-M0"), m0.user, submit=True)
    db.session.commit()
    _login(client, m1.user)
    page = client.get(f"/committee/seats/{m1.id}/score")
    assert page.status_code == 200 and b"COMMENT-FROM-M0" not in page.data
    assert b"Scores of the other members" not in page.data
    assert client.get(f"/committee/{s.tender.id}/report").status_code == 404  # nothing concluded yet
    first = s.bids[0]
    plan = s.tender.technical_criteria[0]
    # Out of range, not a number, too many decimals: 400 and nothing saved.
    for value, message in (
        ("45", b"from 0 to 40"),
        ("abc", b"Not a valid decimal"),
        ("1.234", b"two decimal"),
    ):
        data = _score_form(s, submit=False)
        data[f"points_{first.id}_{plan.id}"] = value
        r = client.post(f"/committee/seats/{m1.id}/score", data=data)
        assert r.status_code == 400 and message in r.data, value
        assert db.session.scalar(select(func.count()).select_from(Score).where(Score.member_id == m1.id)) == 0
    r = client.post(
        f"/committee/seats/{m1.id}/score", data=_score_form(s, "draft", submit=False, only_first_bid=True)
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert len(scores_of(m1)) == len(s.tender.technical_criteria) and m1.scores_submitted_at is None
    assert b'value="36.00"' in client.get(f"/committee/seats/{m1.id}/score").data  # the draft is shown again
    r = client.post(f"/committee/seats/{m1.id}/score", data=_score_form(s, submit=True, only_first_bid=True))
    assert r.status_code == 400 and b"Score every qualified bid" in r.data
    db.session.expire_all()
    assert m1.scores_submitted_at is None
    r = client.post(f"/committee/seats/{m1.id}/score", data=_score_form(s, "MINE", submit=True))
    assert r.status_code == 302
    db.session.expire_all()
    assert m1.scores_submitted_at is not None
    page = client.get(f"/committee/seats/{m1.id}/score")
    assert b"COMMENT-FROM-M0" in page.data and b"Scores of the other members" in page.data
    assert b'name="submit_scores"' not in page.data
    r = client.post(f"/committee/seats/{m1.id}/score", data=_score_form(s, "CHANGED", submit=False))
    assert r.status_code == 400 and b"can no longer change" in r.data
    assert client.get(f"/committee/{s.tender.id}/report").status_code == 404
    # The officer's dashboard shows progress, never the scores, before the conclusion.
    _login(client, world["officer"])
    dash = client.get(f"/committee/{s.tender.id}")
    assert dash.status_code == 200 and b"COMMENT-FROM-M0" not in dash.data and b"MINE" not in dash.data


# --- qualification, prices, conclusion ------------------------------------------------------------


def test_failed_qualification_notifies_and_too_few_qualified_bids_fail_the_tender(client, scene, world, db):
    s = scene
    _committee(s, world)
    db.session.commit()
    _login(client, world["officer"])
    loser = s.bids[2]
    url = f"/committee/{s.tender.id}/bids/{loser.public_id}/qualify"
    r = client.post(url, data={"result": "fail", "reason": "  "})
    assert r.status_code == 400 and b"Reason is required" in r.data
    r = client.post(url, data={"reason": "x"})
    assert r.status_code == 400 and b"Choose passed or failed" in r.data
    assert _count(db, Qualification) == 0
    r = client.post(url, data={"result": "fail", "reason": "缺少登记证书 No registration certificate"})
    assert r.status_code == 302
    _org, loser_member = s.bidders[2]
    note = db.session.scalars(select(Notification).where(Notification.user_id == loser_member.id)).all()
    assert any(
        n.kind == "bid.disqualified" and "No registration certificate" in render(n.body, n.params)
        for n in note
    )
    other_tender = factories.published(world["officer"])
    db.session.commit()
    assert (
        client.post(f"/committee/{s.tender.id}/bids/999999/qualify", data={"result": "pass"}).status_code
        == 404
    )
    assert (
        client.post(
            f"/committee/{other_tender.id}/bids/{s.bids[0].public_id}/qualify", data={"result": "pass"}
        ).status_code
        == 404
    )
    for b in s.bids[:2]:
        assert (
            client.post(
                f"/committee/{s.tender.id}/bids/{b.public_id}/qualify", data={"result": "pass"}
            ).status_code
            == 302
        )
    page = client.get(f"/committee/{s.tender.id}")
    assert b"No registration certificate" in page.data and b"Compute ranking" in page.data
    r = client.post(f"/committee/{s.tender.id}/conclude", follow_redirects=True)
    assert r.status_code == 200 and b"Only 2 qualified" in r.data
    db.session.expire_all()
    assert s.tender.status == "failed"
    page = client.get(f"/committee/{s.tender.id}")
    assert b"Re-tender" in page.data and b"Government Procurement Law, art. 36" in page.data
    r = client.post(f"/committee/{s.tender.id}/retender")
    assert r.status_code == 302
    draft = db.session.scalars(select(Tender).where(Tender.retender_of_id == s.tender.id)).one()
    assert r.headers["Location"].endswith(f"/tenders/{draft.id}/edit") and draft.status == "draft"
    page = client.get(f"/committee/{s.tender.id}")
    assert b"Re-tendered as" in page.data
    assert client.post(f"/committee/{other_tender.id}/retender").status_code == 404  # not in this stage


def test_abnormally_low_price_needs_a_recorded_review(client, world, db):
    s = _scene(world, db, prices=("150000.00", "350000.00", "360000.00"))
    members = _committee(s, world)
    _declare_and_qualify(s, members, world)
    db.session.commit()
    _login(client, world["officer"])
    page = client.get(f"/committee/{s.tender.id}")
    assert b"Abnormally low prices" in page.data and b"abnormally low price needs" in page.data
    url = f"/committee/{s.tender.id}/bids/{s.bids[0].public_id}/price-review"
    r = client.post(url, data={"decision": "accept", "justification": ""})
    assert r.status_code == 400 and b"Justification is required" in r.data
    r = client.post(
        f"/committee/{s.tender.id}/bids/{s.bids[1].public_id}/price-review",
        data={"decision": "accept", "justification": "x"},
    )
    assert r.status_code == 400 and b"not flagged" in r.data
    assert _count(db, PriceReview) == 0
    r = client.post(
        url, data={"decision": "accept", "justification": "志愿者承担部分服务 Volunteers cover part of it"}
    )
    assert r.status_code == 302
    review = db.session.scalars(select(PriceReview)).one()
    assert review.accepted and review.bid_id == s.bids[0].id
    assert b"Volunteers cover part of it" in client.get(f"/committee/{s.tender.id}").data


def test_conclusion_shows_results_and_the_report_opens(client, scene, world, db):
    s = scene
    members = _evaluated(s, world)
    db.session.commit()
    _login(client, world["officer"])
    page = client.get(f"/committee/{s.tender.id}")
    assert b"Everything is ready" in page.data and b"note by" not in page.data
    assert client.get(f"/committee/{s.tender.id}/report").status_code == 404
    r = client.post(f"/committee/{s.tender.id}/conclude")
    assert r.status_code == 302
    page = client.get(f"/committee/{s.tender.id}")
    for org, _m in s.bidders:
        assert org.name.encode() in page.data
    for total in TOTALS:
        assert total.encode() in page.data
    ranks = [(r.bid_id, r.rank, str(r.total)) for r in results(s.tender)]
    assert ranks == [(b.id, i + 1, TOTALS[i]) for i, b in enumerate(s.bids)]
    again = client.post(f"/committee/{s.tender.id}/conclude")
    assert again.status_code == 400 and b"already concluded" in again.data
    assert _count(db, EvaluationResult) == 3
    # The report: every member's scores, the price computation, totals, sign-off status.
    report = client.get(f"/committee/{s.tender.id}/report")
    assert report.status_code == 200
    for m in members:
        assert m.user.name.encode() in report.data and f"note by {m.user.name}".encode() in report.data
    assert b"Benchmark price" in report.data and "¥300,000.00".encode() in report.data
    for points in PRICE_POINTS:
        assert points.encode() in report.data
    assert b"Not signed" in report.data and b"no-print" in report.data
    for who in ("auditor", "admin"):
        _login(client, world[who])
        assert client.get(f"/committee/{s.tender.id}/report").status_code == 200, who
    _login(client, members[3].user)
    assert client.get(f"/committee/{s.tender.id}/report").status_code == 200
    for user in (world["other_officer"], world["evaluator"], s.bidders[0][1], world["org_member"]):
        _login(client, user)
        assert client.get(f"/committee/{s.tender.id}/report").status_code == 403, user.email
    _login(client, None)
    assert client.get(f"/committee/{s.tender.id}/report").status_code == 302  # to the sign-in page
    # Members sign the report from their scoring page.
    _login(client, members[0].user)
    page = client.get(f"/committee/seats/{members[0].id}/score")
    assert b"Sign the evaluation report" in page.data and b"note by" in page.data
    r = client.post(f"/committee/seats/{members[0].id}/sign-off")
    assert r.status_code == 302
    again = client.post(f"/committee/seats/{members[0].id}/sign-off")
    assert again.status_code == 400 and b"already signed" in again.data
    db.session.expire_all()
    assert members[0].signed_off_at is not None
    _login(client, members[1].user)
    assert client.post(f"/committee/seats/{members[0].id}/sign-off").status_code == 404


def test_report_notes_the_small_organization_deduction(client, world, db, monkeypatch):
    s = _scene(world, db, small=(2,))
    _concluded(s, world)
    db.session.commit()
    _login(client, world["officer"])
    report = client.get(f"/committee/{s.tender.id}/report")
    assert report.status_code == 200
    assert "¥350,000.00".encode() in report.data and "¥315,000.00".encode() in report.data
    assert b"price reduced by 10% for scoring" in report.data
    assert report.data.count(b"price reduced by") == 1
    # The percent is read from the frozen result, not from today's configuration.
    monkeypatch.setitem(client.application.config, "SMALL_ORG_PRICE_DEDUCTION", "0.20")
    report = client.get(f"/committee/{s.tender.id}/report")
    assert b"price reduced by 10% for scoring" in report.data and b"reduced by 20%" not in report.data


# --- award, notice, challenges ----------------------------------------------------------------------


def test_a_candidate_is_passed_over_through_the_dashboard(client, scene, world, db):
    s = scene
    for m in _concluded(s, world):
        sign_off(m, m.user)
    db.session.commit()
    _login(client, world["officer"])
    page = client.get(f"/committee/{s.tender.id}").get_data(as_text=True)
    assert "Rank order of the award" in page and "Next candidate: rank 1" in page
    url = f"/committee/{s.tender.id}/pass-over"
    r = client.post(url, data={"ground": "withdrew", "reason": ""})
    assert r.status_code == 400 and "Reason is required" in r.get_data(as_text=True)
    r = client.post(url, data={"ground": "preference", "reason": "x"})
    assert r.status_code == 400
    r = client.post(url, data={"ground": "withdrew", "reason": "书面放弃"})
    assert r.status_code == 302
    page = client.get(f"/committee/{s.tender.id}")
    assert f'<option selected value="{s.bids[1].id}"'.encode() in page.data  # rank 2 is next
    assert "书面放弃" in page.get_data(as_text=True)
    r = client.post(f"/committee/{s.tender.id}/award", data={"bid": str(s.bids[1].id)})
    assert r.status_code == 302
    db.session.expire_all()
    award = db.session.scalars(select(Award)).one()
    assert award.rank == 2 and "书面放弃" in award.reason


def test_award_is_confirmed_through_the_dashboard(client, scene, world, db):
    s = scene
    members = _concluded(s, world)
    db.session.commit()
    _login(client, world["officer"])
    url = f"/committee/{s.tender.id}/award"
    r = client.post(url, data={"bid": str(s.bids[0].id)})
    assert r.status_code == 400 and b"sign the evaluation report" in r.data
    for m in members:
        sign_off(m, m.user)
    db.session.commit()
    page = client.get(f"/committee/{s.tender.id}")
    assert f'<option selected value="{s.bids[0].id}"'.encode() in page.data  # rank 1 is the default
    # The award follows the ranking: only the next candidate is offered, whatever reason is written.
    r = client.post(url, data={"bid": str(s.bids[1].id), "reason": "第二名经验更丰富"})
    assert r.status_code == 400 and b"Not a valid choice" in r.data
    r = client.post(url, data={"bid": "999999"})
    assert r.status_code == 400 and b"Not a valid choice" in r.data
    assert _count(db, Award) == 0
    r = client.post(url, data={"bid": str(s.bids[0].id)})
    assert r.status_code == 302
    db.session.expire_all()
    a = db.session.scalars(select(Award)).one()
    assert a.bid_id == s.bids[0].id and a.status == "notice" and s.tender.status == "awarded"
    page = client.get(f"/committee/{s.tender.id}")
    assert b"Notice period ends" in page.data and b"Challenge deadline" in page.data
    assert b"2026-04-21 23:59" in page.data  # 7 working days after the 1-day notice period, local time
    detail = client.get(f"/tenders/{s.tender.id}")
    assert f"/tenders/{s.tender.id}/notice".encode() in detail.data
    assert f"/committee/{s.tender.id}".encode() in detail.data


def test_committee_names_stay_off_public_pages_until_the_notice(client, scene, world, db):
    s = scene
    members = _concluded(s, world)
    for m in members:
        sign_off(m, m.user)
    db.session.commit()
    for user in (None, s.bidders[1][1], world["org_member"]):
        _login(client, user)
        assert client.get(f"/tenders/{s.tender.id}/notice").status_code == 404
        detail = client.get(f"/tenders/{s.tender.id}")
        assert detail.status_code == 200
        for m in members:
            assert m.user.name.encode() not in detail.data
        assert f"/tenders/{s.tender.id}/notice".encode() not in detail.data
        assert f"/committee/{s.tender.id}".encode() not in detail.data
    confirm_award(s.tender, s.bids[0], "", world["officer"])
    db.session.commit()
    _login(client, None)
    notice = client.get(f"/tenders/{s.tender.id}/notice")
    assert notice.status_code == 200
    winner = s.bidders[0][0]
    assert winner.name.encode() in notice.data and winner.uscc.encode() in notice.data
    assert "¥300,000.00".encode() in notice.data and TOTALS[0].encode() in notice.data
    assert b"of 3 valid bids" in notice.data
    for m in members:
        assert m.user.name.encode() in notice.data
    for total in TOTALS[1:]:
        assert total.encode() not in notice.data
    assert b"2026-04-10 23:59" in notice.data and b"2026-04-21 23:59" in notice.data
    assert b'name="grounds"' not in notice.data
    assert f"/tenders/{s.tender.id}/notice".encode() in client.get(f"/tenders/{s.tender.id}").data


def test_each_bidder_sees_its_own_result_only(client, scene, world, db):
    s = scene
    _awarded(s, world)
    db.session.commit()
    for i in (1, 2):
        _login(client, s.bidders[i][1])
        page = client.get(f"/tenders/{s.tender.id}/notice")
        assert page.status_code == 200
        assert f"Rank {i + 1} of 3 valid bids".encode() in page.data
        assert TOTALS[i].encode() in page.data and PRICE_POINTS[i].encode() in page.data
        other = 3 - i  # the other losing bidder
        assert TOTALS[other].encode() not in page.data and PRICE_POINTS[other].encode() not in page.data
        assert b'name="grounds"' in page.data  # a bidder may challenge during the notice period
    _login(client, world["org_member"])  # a member of an organization that did not bid
    page = client.get(f"/tenders/{s.tender.id}/notice")
    assert b"Your organization" not in page.data and b'name="grounds"' not in page.data


def test_disqualified_bidder_sees_the_reason(client, world, db):
    s = _scene(world, db, prices=(*PRICES, "310000.00"))  # a fourth bid, which fails the review
    members = _committee(s, world)
    _declare_and_qualify(s, members, world, disqualify=(3,))
    for m in members:
        save_scores(m, _all_scores(s), m.user, submit=True)
    conclude(s.tender, world["officer"])
    for m in members:
        sign_off(m, m.user)
    confirm_award(s.tender, s.bids[0], "", world["officer"])
    db.session.commit()
    _login(client, s.bidders[3][1])
    page = client.get(f"/tenders/{s.tender.id}/notice")
    assert page.status_code == 200
    assert b"did not pass the qualification review" in page.data and b"Certificate expired" in page.data
    assert b"of 3 valid bids" in page.data
    for total in TOTALS[1:]:
        assert total.encode() not in page.data
    _login(client, None)
    assert b"Certificate expired" not in client.get(f"/tenders/{s.tender.id}/notice").data


def test_challenge_is_filed_and_answered_through_the_pages(client, scene, world, db):
    s = scene
    a = _awarded(s, world)
    db.session.commit()
    challenger_org, challenger = s.bidders[1]
    _login(client, challenger)
    url = f"/tenders/{s.tender.id}/challenges"
    r = client.post(url, data={"grounds": " "})
    assert r.status_code == 400 and b"Grounds is required" in r.data
    r = client.post(
        url,
        data={"grounds": "x", "documents": [(io.BytesIO(b"MZ"), "virus.exe")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and b"not accepted" in r.data
    assert _count(db, Challenge) == 0
    grounds = "评分不公 SECRET-GROUNDS the team score ignores our certified staff"
    r = client.post(
        url,
        data={"grounds": grounds, "documents": [(io.BytesIO(b"%PDF evidence"), "证据.pdf")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    ch = db.session.scalars(select(Challenge)).one()
    assert ch.organization_id == challenger_org.id and ch.status == "open" and len(ch.documents) == 1
    assert db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.kind == "challenge.filed", Notification.user_id == world["officer"].id)
    )
    # Others cannot file, nor answer.
    for user in (world["auditor"], world["org_member"], world["evaluator"], world["officer"]):
        _login(client, user)
        assert client.post(url, data={"grounds": "hijack"}).status_code == 403, user.email
    assert _count(db, Challenge) == 1
    _login(client, s.bidders[2][1])
    assert b"SECRET-GROUNDS" not in client.get(f"/tenders/{s.tender.id}/notice").data
    _login(client, world["officer"])
    page = client.get(f"/committee/{s.tender.id}")
    assert b"SECRET-GROUNDS" in page.data and "证据.pdf".encode() in page.data
    answer_url = f"/committee/{s.tender.id}/challenges/{ch.id}/answer"
    r = client.post(answer_url, data={"decision": "uphold", "answer": "ok"})
    assert r.status_code == 400 and b"back to evaluation or fails" in r.data
    r = client.post(answer_url, data={"decision": "dismiss", "answer": ""})
    assert r.status_code == 400 and b"Answer is required" in r.data
    db.session.expire_all()
    assert ch.status == "open"
    r = client.post(
        answer_url, data={"decision": "dismiss", "answer": "评分符合评审标准 Scores follow the criteria"}
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert ch.status == "dismissed" and a.status == "notice"
    _login(client, None)
    public = client.get(f"/tenders/{s.tender.id}/notice")
    assert b"Dismissed" in public.data and b"SECRET-GROUNDS" not in public.data
    _login(client, challenger)
    own = client.get(f"/tenders/{s.tender.id}/notice")
    assert b"SECRET-GROUNDS" in own.data and b"Scores follow the criteria" in own.data
    # After the challenge window the notice reads final at once; the job writes it (a GET never does).
    clock.set_now(a.challenge_deadline + timedelta(seconds=1))
    _login(client, None)
    assert b"Final" in client.get(f"/tenders/{s.tender.id}/notice").data
    db.session.expire_all()
    assert a.status == "notice"
    assert run_job("finalize-awards").status == "ok"
    db.session.expire_all()
    assert a.status == "final"
    _login(client, challenger)
    r = client.post(url, data={"grounds": "too late"})
    assert r.status_code == 400 and _count(db, Challenge) == 1


def test_upheld_challenge_reopens_the_evaluation(client, scene, world, db):
    s = scene
    a = _awarded(s, world)
    ch = file_challenge(a, "grounds", [], s.bidders[1][1])
    db.session.commit()
    _login(client, world["officer"])
    r = client.post(
        f"/committee/{s.tender.id}/challenges/{ch.id}/answer",
        data={"decision": "uphold", "outcome": "reevaluate", "answer": "重新评审 Evaluate again"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert a.status == "annulled" and s.tender.status == "evaluation"
    page = client.get(f"/committee/{s.tender.id}")
    assert b"evaluating again" in page.data and b"Compute ranking" in page.data
    notice = client.get(f"/tenders/{s.tender.id}/notice")
    assert notice.status_code == 200 and b"annulled" in notice.data
    report = client.get(f"/committee/{s.tender.id}/report")
    assert report.status_code == 200
    current, history = report.data.split(b'id="earlier-rounds"')
    assert b"note by" not in current  # the new round is not concluded
    assert b"note by" in history  # round 1's scores stay, read-only, as history


# --- permissions and languages -------------------------------------------------------------------


def test_only_the_agency_officer_changes_anything(client, scene, world, db):
    s = scene
    members = _committee(s, world)
    db.session.commit()
    t, b, m = s.tender, s.bids[0], members[0]
    posts = [
        (f"/committee/{t.id}/members", {"members": [e.id for e in s.experts], "chair": str(s.experts[0].id)}),
        (f"/committee/{t.id}/members/{m.id}/replace", {"user": str(world["evaluator"].id)}),
        (f"/committee/{t.id}/bids/{b.public_id}/qualify", {"result": "fail", "reason": "hijack"}),
        (
            f"/committee/{t.id}/bids/{b.public_id}/price-review",
            {"decision": "invalid", "justification": "hijack"},
        ),
        (f"/committee/{t.id}/conclude", {}),
        (f"/committee/{t.id}/award", {"bid": str(b.id)}),
        (f"/committee/{t.id}/challenges/1/answer", {"decision": "dismiss", "answer": "x"}),
        (f"/committee/{t.id}/retender", {}),
    ]
    events = _count(db, AuditEvent)
    outsiders = [world[k] for k in ("auditor", "admin", "evaluator", "org_member", "other_officer")]
    outsiders += [s.bidders[0][1], m.user]
    for user in outsiders:
        _login(client, user)
        assert client.get(f"/committee/{t.id}").status_code == 403, user.email
        for url, data in posts:
            assert client.post(url, data=data).status_code == 403, (user.email, url)
    db.session.expire_all()
    assert t.status == "evaluation" and _count(db, Qualification) == 0 and _count(db, CommitteeMember) == 5
    assert _count(db, AuditEvent) == events
    _login(client, None)
    for url, data in posts:
        r = client.post(url, data=data)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"], url
    _login(client, world["officer"])
    assert client.get("/committee/999999").status_code == 404
    draft = factories.draft(world["officer"])
    db.session.commit()
    assert client.get(f"/committee/{draft.id}").status_code == 404


def test_every_award_page_renders_in_both_languages(client, scene, world, db):
    s = scene
    a = _awarded(s, world)
    file_challenge(a, "grounds", [], s.bidders[1][1])
    failed = _scene(world, db)
    form_committee(
        failed.tender,
        [Appointment(e, "expert", i == 0) for i, e in enumerate(failed.experts)],
        world["officer"],
    )
    for b in failed.bids:
        qualify(failed.tender, b, False, "不合格 not qualified", world["officer"])
    conclude(failed.tender, world["officer"])
    db.session.commit()
    member = committee(s.tender)[0]
    fresh = committee(failed.tender)[0]
    pages = [
        (world["officer"], f"/committee/{s.tender.id}"),
        (world["officer"], f"/committee/{failed.tender.id}"),
        (world["officer"], f"/committee/{s.tender.id}/report"),
        (world["auditor"], f"/committee/{s.tender.id}/report"),
        (member.user, "/committee/seats"),
        (fresh.user, "/committee/seats"),
        (world["evaluator"], "/committee/seats"),
        (member.user, f"/committee/seats/{member.id}/declare"),
        (fresh.user, f"/committee/seats/{fresh.id}/declare"),
        (member.user, f"/committee/seats/{member.id}/score"),
        (member.user, f"/committee/{s.tender.id}/report"),
        (None, f"/tenders/{s.tender.id}/notice"),
        (s.bidders[1][1], f"/tenders/{s.tender.id}/notice"),
        (s.bidders[2][1], f"/tenders/{s.tender.id}/notice"),
        (world["officer"], f"/tenders/{s.tender.id}"),
    ]
    bad_posts = [
        (world["officer"], f"/committee/{s.tender.id}/conclude"),
        (world["officer"], f"/committee/{s.tender.id}/award"),
        (world["officer"], f"/committee/{failed.tender.id}/members"),
        (member.user, f"/committee/seats/{member.id}/declare"),
        (member.user, f"/committee/seats/{member.id}/sign-off"),
        (s.bidders[1][1], f"/tenders/{s.tender.id}/challenges"),
    ]
    for lang, marker in (("zh_CN", b'lang="zh-CN"'), ("en", b'lang="en"')):
        for user, url in pages:
            _login(client, user)
            client.get(f"/lang/{lang}")
            r = client.get(url)
            assert r.status_code == 200 and marker in r.data, (lang, url, r.status_code)
        for user, url in bad_posts:
            _login(client, user)
            client.get(f"/lang/{lang}")
            r = client.post(url, data={})
            assert r.status_code == 400, (lang, url, r.status_code)


def test_my_evaluations_is_paginated(client, world, db):
    first, second = _scene(world, db), _scene(world, db)
    expert = first.experts[0]
    for sc in (first, second):
        form_committee(
            sc.tender,
            [Appointment(expert, "expert", True)] + [Appointment(e, "expert") for e in sc.experts[1:]],
            world["officer"],
        )
    db.session.commit()
    _login(client, expert)
    both = client.get("/committee/seats").data
    assert first.tender.title.encode() in both and both.count(b"/declare") == 2
    page1 = client.get("/committee/seats?per_page=1").data
    page2 = client.get("/committee/seats?per_page=1&page=2").data
    assert page1.count(b"/declare") == 1 and page2.count(b"/declare") == 1 and page1 != page2
    for junk in ("page=abc", "per_page=-5", "page=99999"):
        assert client.get(f"/committee/seats?{junk}").status_code == 200, junk
