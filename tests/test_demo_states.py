"""The demo (issue 20): every journey can be walked from ``make run``: one tender waits for its
evaluation (bids opened, committee appointed, scoring to do), one final award waits for its contract."""

from __future__ import annotations

from sqlalchemy import select

from marketplace import demo
from marketplace.contracts.models import Contract
from marketplace.tenders.committee import awards
from marketplace.tenders.committee.members import committee
from marketplace.tenders.committee.models import ConflictDeclaration, Score
from marketplace.tenders.models import EVALUATION, Tender


def test_the_demo_has_a_tender_to_evaluate_and_an_award_to_contract(app, db, client):
    summary = demo.load_demo()
    db.session.commit()
    evaluating = db.session.scalar(select(Tender).where(Tender.reference == summary["awaiting evaluation"]))
    assert evaluating is not None and evaluating.status == EVALUATION
    members = committee(evaluating)
    assert len(members) >= 3
    member_ids = [m.id for m in members]
    assert not db.session.scalars(select(Score).where(Score.member_id.in_(member_ids))).all()
    assert not db.session.scalars(
        select(ConflictDeclaration).where(ConflictDeclaration.member_id.in_(member_ids))
    ).all()
    waiting = db.session.scalar(select(Tender).where(Tender.reference == summary["awaiting a contract"]))
    assert waiting is not None and awards.award_is_final(waiting)
    assert db.session.scalar(select(Contract).where(Contract.tender_id == waiting.id)) is None
    assert summary["contracts"] >= 1
    # The expert of the demo finds the evaluation on their page.
    expert = members[0].user
    with client.session_transaction() as sess:
        sess["_user_id"] = expert.get_id()
        sess["_fresh"] = True
    page = client.get("/committee/seats")
    assert page.status_code == 200 and evaluating.title in page.get_data(as_text=True)
