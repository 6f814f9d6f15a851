"""Nothing is destroyed by a decision (issue 17, item 8): upholding a challenge sends the tender back
to the committee for a new round, and every earlier round's scores and ranking stay as history (GPL
42), numbered, read-only and listed in the evaluation report."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.tenders.committee.awards import confirm_award
from marketplace.tenders.committee.challenges import answer_challenge, file_challenge
from marketplace.tenders.committee.models import Score
from marketplace.tenders.committee.ranking import conclude, earlier_rounds, sign_off
from marketplace.tenders.committee.scores import current_round, save_scores, scores_of
from tests import test_award_services
from tests.test_award_services import _committee, _evaluate

scene = test_award_services.scene  # the fixture: a tender with three opened bids and seven experts


def _upheld(scene, world):
    tender, bidders, bids, experts = scene
    members = _committee(tender, experts, world)
    _evaluate(tender, bids, members, [[8, 6, 7]] * 5)
    conclude(tender, world["officer"])
    for m in members:
        sign_off(m, m.user)
    award = confirm_award(tender, bids[0], "", world["officer"])
    challenge = file_challenge(award, "评分有误 The scores are wrong", [], bidders[1][1])
    answer_challenge(challenge, True, "重新评审 Evaluate again", "reevaluate", world["officer"])
    return tender, bids, members


def _rescore(tender, bids, members, points):
    for m in members:
        save_scores(
            m,
            {
                (b.id, c.id): (points[i], "round 2")
                for i, b in enumerate(bids)
                for c in tender.technical_criteria
            },
            m.user,
            submit=True,
        )


def test_upheld_challenge_keeps_every_score_of_the_earlier_round(scene, world, db):
    tender, bids, members = _upheld(scene, world)
    criteria = tender.technical_criteria
    first = db.session.scalars(select(Score).where(Score.member_id.in_([m.id for m in members]))).all()
    assert len(first) == len(members) * len(bids) * len(criteria)
    assert all(s.round == 1 and s.superseded_at is not None for s in first)
    assert current_round(tender) == 2 and all(scores_of(m) == {} for m in members)

    _rescore(tender, bids, members, [5, 9, 7])
    conclude(tender, world["officer"])
    rows = db.session.scalars(select(Score).where(Score.member_id.in_([m.id for m in members]))).all()
    by_round = {n: [s for s in rows if s.round == n] for n in (1, 2)}
    assert len(by_round[1]) == len(by_round[2]) == len(first)
    assert {s.points for s in by_round[1] if s.bid_id == bids[0].id} == {8}  # untouched history
    assert {s.points for s in by_round[2] if s.bid_id == bids[0].id} == {5}
    assert all(s.superseded_at is None for s in by_round[2])

    (history,) = earlier_rounds(tender)
    assert history["round"] == 1 and len(history["scores"]) == len(members)
    assert [r.bid_id for r in history["results"] if r.rank == 1] == [bids[0].id]


def test_the_report_lists_each_round_read_only(scene, world, db, client, login_as):
    tender, bids, members = _upheld(scene, world)
    db.session.commit()
    login_as("officer")
    page = client.get(f"/committee/{tender.id}/report")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # While round 2 is scored, round 1's scores are visible as history, without any form.
    assert "Earlier rounds" in text and 'data-round="1"' in text and "Round 1" in text
    history = text[text.index('id="earlier-rounds"') :]
    assert "<form" not in history.split("</section>")[0]
    assert "8.00" in history or ">8<" in history

    _rescore(tender, bids, members, [5, 9, 7])
    conclude(tender, world["officer"])
    db.session.commit()
    text = client.get(f"/committee/{tender.id}/report").get_data(as_text=True)
    assert 'data-round="1"' in text and 'data-round="2"' not in text  # round 2 is the current one

    login_as("other_officer")  # not allowed to see this tender's report: no history either
    assert client.get(f"/committee/{tender.id}/report").status_code in (403, 404)
