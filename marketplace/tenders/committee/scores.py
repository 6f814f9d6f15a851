"""The members' scores: saving and submitting one's own, and who sees whose (sealed until submitted)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.records import require_open_record
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.tenders.committee import scoring
from marketplace.tenders.committee.members import committee, member_may_see_bids
from marketplace.tenders.committee.models import Challenge, CommitteeMember, Score
from marketplace.tenders.committee.review import qualified_bids
from marketplace.tenders.committee.schemas import ScoresInputSchema
from marketplace.tenders.models import Tender


def current_round(tender: Tender) -> int:
    """1, plus one for every upheld challenge that sent the tender back to evaluation."""
    return 1 + (
        db.session.scalar(
            select(func.count())
            .select_from(Challenge)
            .where(
                Challenge.tender_id == tender.id,
                Challenge.status == "upheld",
                Challenge.outcome == "reevaluate",
            )
        )
        or 0
    )


def round_scores(tender: Tender, round_no: int) -> dict[int, dict[tuple[int, int], Score]]:
    """Every member's scores of one round (an earlier round's are superseded, kept as history):
    ``{member_id: {(bid_id, criterion_id): Score}}``."""
    members = committee(tender, active_only=False)
    out: dict[int, dict[tuple[int, int], Score]] = {}
    rows = db.session.scalars(
        select(Score)
        .where(Score.member_id.in_([m.id for m in members]), Score.round == round_no)
        .order_by(Score.id)
    )
    for s in rows:
        out.setdefault(s.member_id, {})[(s.bid_id, s.criterion_id)] = s
    return out


def scores_of(member: CommitteeMember) -> dict[tuple[int, int], Score]:
    """The member's current scores (a re-evaluation supersedes the earlier round's, which are kept)."""
    return {
        (s.bid_id, s.criterion_id): s
        for s in db.session.scalars(
            select(Score).where(Score.member_id == member.id, Score.superseded_at.is_(None))
        )
    }


def visible_scores(tender: Tender, viewer_member: CommitteeMember | None, officer_view: bool = False):
    """All members' scores, for the officer after conclusion or for a member after submitting their own.

    A member who has not submitted sees only their own.
    """
    members = committee(tender)
    if officer_view or (viewer_member is not None and viewer_member.scores_submitted_at is not None):
        return {m.id: scores_of(m) for m in members}
    if viewer_member is not None:
        return {viewer_member.id: scores_of(viewer_member)}
    return {}


def mean_scores(scores: dict, bids, criteria) -> dict[tuple[int, int], Decimal | None]:
    """The members' mean points per (bid, criterion), two decimals; None where nobody scored.

    ``scores`` is ``{member_id: {(bid_id, criterion_id): Score}}`` as ``visible_scores`` returns it."""
    means = {}
    for b in bids:
        for c in criteria:
            points = [own[(b.id, c.id)].points for own in scores.values() if (b.id, c.id) in own]
            means[(b.id, c.id)] = scoring.q2(sum(points, Decimal(0)) / len(points)) if points else None
    return means


def _check_points(points: Decimal, criterion) -> None:
    if points > criterion.weight:
        raise RuleViolation(
            _("%(name)s: a score from 0 to %(max)d.", name=criterion.name, max=criterion.weight),
            field="scores",
        )


def _require_may_score(member: CommitteeMember, actor) -> None:
    if actor is None or member.user_id != actor.id:
        raise RuleViolation(_("Only the member can score."))
    require_open_record(member.tender)
    if not member_may_see_bids(member):
        raise RuleViolation(_("Declare that you have no conflict of interest before scoring."))
    if member.scores_submitted_at is not None:
        raise RuleViolation(_("Your scores are submitted and can no longer change."))


def _entries(scores: dict[tuple[int, int], tuple]) -> list[dict]:
    raw = [
        {"bid_id": b, "criterion_id": c, "points": points, "comment": comment}
        for (b, c), (points, comment) in scores.items()
    ]
    return load(ScoresInputSchema(), {"entries": raw})["entries"]


def save_scores(
    member: CommitteeMember, scores: dict[tuple[int, int], tuple], actor, *, submit: bool
) -> None:
    """Save (and optionally submit) a member's scores: {(bid_id, criterion_id): (points, comment)}."""
    _require_may_score(member, actor)
    tender = member.tender
    bids = {b.id for b in qualified_bids(tender)}
    criteria = {c.id: c for c in tender.technical_criteria}
    existing = scores_of(member)
    round_no = current_round(tender)
    for e in _entries(scores):
        key = (e["bid_id"], e["criterion_id"])
        if key[0] not in bids or key[1] not in criteria:
            raise RuleViolation(_("Score only qualified bids on the tender's criteria."), field="scores")
        if e["points"] is None:
            continue
        _check_points(e["points"], criteria[key[1]])
        s = existing.get(key)
        if s is None:
            s = Score(
                member_id=member.id,
                bid_id=key[0],
                criterion_id=key[1],
                points=e["points"],
                round=round_no,
            )
            db.session.add(s)
            existing[key] = s
        s.points, s.comment = e["points"], e["comment"]
    if submit:
        missing = [(b, c) for b in bids for c in criteria if (b, c) not in existing]
        if missing:
            raise RuleViolation(
                _("Score every qualified bid on every criterion before submitting."), field="scores"
            )
        member.scores_submitted_at = clock.now()
    db.session.flush()
    audit.record(
        actor,
        "committee.submit_scores" if submit else "committee.save_scores",
        "tender",
        tender.id,
        N_("Member %(member)s submitted scores") if submit else N_("Member %(member)s saved scores"),
        params={"member": member.id},
    )
