"""Challenges of the award (质疑, GPL 52; IR 53): filed by a bidder, answered by the agency. An upheld
challenge annuls the award and either sends the tender back to the committee or fails it."""

from __future__ import annotations

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select, update

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.records import require_open_record
from marketplace.core.schemas import load
from marketplace.core.timeutil import local_date
from marketplace.extensions import db
from marketplace.tenders.bids.bidders import is_member, organization_members
from marketplace.tenders.bids.opening import opened_bids
from marketplace.tenders.committee.members import committee
from marketplace.tenders.committee.models import Award, Challenge, ChallengeDocument, Score
from marketplace.tenders.committee.officers import agency_users, require_officer
from marketplace.tenders.committee.ranking import fail_tender
from marketplace.tenders.committee.schemas import ChallengeAnswerInputSchema, ChallengeInputSchema
from marketplace.tenders.models import EVALUATION, Tender
from marketplace.tenders.records import record_text


def challenges_of(tender: Tender) -> list[Challenge]:
    return list(
        db.session.scalars(select(Challenge).where(Challenge.tender_id == tender.id).order_by(Challenge.id))
    )


def answered_challenges(tender: Tender) -> list[Challenge]:
    """The answered challenges, published on the award notice."""
    return list(
        db.session.scalars(
            select(Challenge)
            .where(Challenge.tender_id == tender.id, Challenge.status != "open")
            .order_by(Challenge.answered_at, Challenge.id)
        )
    )


def challenges_of_organization(tender: Tender, organization_id: int) -> list[Challenge]:
    return list(
        db.session.scalars(
            select(Challenge)
            .where(Challenge.tender_id == tender.id, Challenge.organization_id == organization_id)
            .order_by(Challenge.id)
        )
    )


def file_challenge(award: Award, grounds: str, documents: list[StoredFile], actor) -> Challenge:
    tender = award.tender
    require_open_record(tender)
    org_id = getattr(actor, "organization_id", None)
    bidder_orgs = {b.organization_id for b in opened_bids(tender)}
    if org_id is None or org_id not in bidder_orgs or not is_member(actor, org_id):
        raise RuleViolation(_("Only a bidder of this tender can file a challenge."))
    if award.status != "notice":
        raise RuleViolation(_("This award can no longer be challenged."))
    now = clock.now()
    if now > award.challenge_deadline:
        raise RuleViolation(
            _(
                "The challenge period ended on %(date)s (7 working days after the notice period).",
                date=format_date(local_date(award.challenge_deadline), "medium"),
            )
        )
    grounds = load(ChallengeInputSchema(), {"grounds": grounds})["grounds"]
    ch = Challenge(
        award_id=award.id,
        tender_id=tender.id,
        organization_id=org_id,
        filed_by_id=actor.id,
        filed_at=now,
        grounds=grounds,
        status="open",
    )
    for stored in documents:
        ch.documents.append(ChallengeDocument(uploaded_at=now, **stored.columns()))
    db.session.add(ch)
    db.session.flush()
    audit.record(
        actor, "challenge.file", "tender", tender.id, N_("Challenge %(id)s filed"), params={"id": ch.id}
    )
    notify(
        agency_users(tender),
        "challenge.filed",
        N_("A challenge was filed — %(title)s"),
        N_("Grounds: %(grounds)s"),
        f"/award/{tender.id}",
        params={"title": tender.title, "grounds": grounds[:500]},
    )
    return ch


def answer_challenge(ch: Challenge, upheld: bool, answer: str, outcome: str | None, actor) -> Challenge:
    tender = db.session.get(Tender, ch.tender_id)
    require_officer(tender, actor)
    if ch.status != "open":
        raise RuleViolation(_("This challenge was already answered."))
    data = load(ChallengeAnswerInputSchema(), {"upheld": upheld, "answer": answer, "outcome": outcome})
    answer, outcome = data["answer"], data["outcome"]
    ch.status = "upheld" if upheld else "dismissed"
    ch.answer, ch.answered_at, ch.answered_by_id = answer, clock.now(), actor.id
    ch.outcome = outcome if upheld else None
    if upheld:
        _uphold(ch, tender, outcome, answer, actor)
    audit.record(
        actor,
        "challenge.answer",
        "tender",
        tender.id,
        N_("Challenge %(id)s %(status)s"),
        {"outcome": ch.outcome},
        params={"id": ch.id, "status": ch.status},
    )
    notify(
        organization_members({ch.organization_id}),
        "challenge.answered",
        N_("Your challenge was answered — %(title)s"),
        N_("Answer: %(answer)s"),
        f"/tenders/{tender.id}/notice",
        params={"title": tender.title, "answer": answer[:1000]},
    )
    return ch


def _uphold(ch: Challenge, tender: Tender, outcome: str, answer: str, actor) -> None:
    """Annul the award; fail the tender, or send it back to the committee for a new round."""
    award = db.session.get(Award, ch.award_id)
    award.status = "annulled"
    award.annulled_reason = record_text(N_("challenge %(id)s upheld"), id=ch.id)
    if outcome == "fail":
        fail_tender(
            tender,
            actor,
            record_text(N_("Challenge upheld: the tender fails. %(answer)s"), answer=answer[:300]),
        )
        return
    tender.status = EVALUATION
    members = committee(tender)
    for m in members:  # the committee evaluates again: new scores, new report
        m.scores_submitted_at = None
        m.signed_off_at = None
    # The earlier round's scores are superseded, not deleted: they stay in the record (GPL 42).
    db.session.execute(
        update(Score)
        .where(Score.member_id.in_([m.id for m in members]), Score.superseded_at.is_(None))
        .values(superseded_at=clock.now())
    )
