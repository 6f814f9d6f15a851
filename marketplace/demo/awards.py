"""Demo openings and awards: the closed tenders' bids opened at their deadlines, three evaluated by a
committee (the first drawn from the expert pool) and awarded; the first two awards' challenge windows have closed (final), the third's not.
A fourth award is final and waits for its contract, and one more tender waits for its evaluation (bids
opened, committee appointed, no declaration or score yet), so the expert's and the officer's journeys can
be walked from the demo (issue 20)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace import clock
from marketplace.auth.models import User
from marketplace.demo.accounts import OPENING_PASSPHRASE
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.bids.ceremony import keys
from marketplace.tenders.bids.ceremony import verbs as ceremony
from marketplace.tenders.bids.ceremony.models import TenderKey, TenderKeyShare
from marketplace.tenders.bids.models import Bid, BidOpening
from marketplace.tenders.bids.opening import open_bids, opened_bids, opening_time
from marketplace.tenders.bids.submission import lock_tender
from marketplace.tenders.committee import awards, expert_draws, ranking, review
from marketplace.tenders.committee.members import Appointment, committee, declare, form_committee
from marketplace.tenders.committee.scores import save_scores
from marketplace.tenders.models import Tender

AWARDS = 3


@dataclass
class AwardStage:
    opened: int = 0
    awarded: list[Tender] = field(default_factory=list)
    awaiting_contract: Tender | None = None  # a final award no contract was drafted for yet
    evaluating: Tender | None = None  # bids opened, committee appointed, scoring to do

    @property
    def final(self) -> list[Tender]:
        """The awarded tenders whose award is final (its challenge window closed)."""
        return [t for t in self.awarded if awards.award_is_final(t)]

    def waiting_reference(self, which: str) -> str:
        """The reference of the tender waiting for a contract or an evaluation ("-" when none)."""
        tender = getattr(self, which)
        return tender.reference if tender is not None else "-"

    @property
    def to_contract(self) -> list[Tender]:
        """The final awards the demo drafts a contract for: all but the one left waiting."""
        return [t for t in self.final if t is not self.awaiting_contract]


def _score_all(tender: Tender, members, bids) -> None:
    """Every member scores every bid on every technical criterion (60-88 % of the weight)."""
    for mi, m in enumerate(members):
        scores = {}
        for bi, b in enumerate(bids):
            for c in tender.technical_criteria:
                share = Decimal("0.6") + Decimal("0.07") * ((mi + 2 * bi) % 5)
                scores[(b.id, c.id)] = ((c.weight * share).quantize(Decimal("0.01")), "")
        save_scores(m, scores, m.user, submit=True)


def appoint(tender: Tender, experts: list[User], drawn: bool = False) -> list:
    """The committee, a day after the deadline: drawn from the expert pool when ``drawn``, else
    appointed by name."""
    officer = tender.created_by
    clock.set_now(tender.bid_deadline + timedelta(days=1))
    size = procedures.profile(tender.method).committee_size_for(tender.budget_ceiling)
    if drawn:
        expert_draws.draw_committee(
            tender, {"category": tender.category, "experts": size, "reserves": 2}, officer
        )
        return committee(tender)
    return form_committee(
        tender, [Appointment(e, "expert", i == 0) for i, e in enumerate(experts[:size])], officer
    )


def award(tender: Tender, experts: list[User], award_at: datetime, drawn: bool = False) -> None:
    """Committee, declarations, qualification, scores, ranking, sign-off and the award notice."""
    officer = tender.created_by
    members = appoint(tender, experts, drawn)
    bids = opened_bids(tender)
    for m in members:
        declare(m, {b.id: (False, "") for b in bids}, m.user)
    for b in bids:
        review.qualify(tender, b, True, "", officer)
    _score_all(tender, members, bids)
    for bid_id in review.abnormally_low_bids(tender):
        review.review_price(
            tender,
            db.session.get(Bid, bid_id),
            True,
            "报价构成说明合理。 The cost breakdown explains the price.",
            officer,
        )
    ranking.conclude(tender, officer)
    for m in members:
        ranking.sign_off(m, m.user)
    clock.set_now(award_at)
    first = next(r for r in ranking.results(tender) if r.rank == 1)
    awards.confirm_award(tender, first.bid, "", officer)


def _open(tender: Tender) -> BidOpening:
    """The opening ceremony a minute after the opening time: the platform's part, then the share of
    the officer who published the tender (the demo passphrase)."""
    clock.set_now(opening_time(tender) + timedelta(minutes=1))
    started = ceremony.begin(lock_tender(tender))
    if isinstance(started, BidOpening):  # too few bids: they stay sealed
        return started
    clock.set_now(opening_time(tender) + timedelta(minutes=4))
    opening = ceremony.contribute(tender, tender.created_by, OPENING_PASSPHRASE)
    return opening if opening is not None else open_bids(tender)


def confirm_shares(real_now: datetime) -> int:
    """Every demo officer confirms its share of the open tenders published more than a week ago: the
    newer ones still show the tender page's warning to the buyer's officers."""
    clock.set_now(real_now)
    confirmed = 0
    rows = db.session.execute(
        select(Tender, TenderKeyShare)
        .join(TenderKey, TenderKey.tender_id == Tender.id)
        .join(TenderKeyShare, TenderKeyShare.tender_key_id == TenderKey.id)
        .where(Tender.status == "open", Tender.published_at < real_now - timedelta(days=7))
        .order_by(Tender.id, TenderKeyShare.position)
    ).all()
    for tender, share in rows:
        keys.confirm_share(tender, share.user, OPENING_PASSPHRASE)
        confirmed += 1
    return confirmed


def load_awards(closed: list[Tender], experts: list[User], real_now: datetime) -> AwardStage:
    """Open the bids of every closed tender at its opening ceremony and award three."""
    stage = AwardStage()
    for tender in closed:
        opening = _open(tender)
        stage.opened += 1
        if opening.failed:
            continue
        if len(stage.awarded) < AWARDS:
            # The last award is two days old: its challenge window is still open.
            late = len(stage.awarded) == AWARDS - 1
            at = real_now - timedelta(days=2) if late else tender.bid_deadline + timedelta(days=2)
            award(tender, experts, at, drawn=not stage.awarded)  # the first committee is drawn
            stage.awarded.append(tender)
        elif stage.awaiting_contract is None:
            award(tender, experts, tender.bid_deadline + timedelta(days=2))
            stage.awarded.append(tender)
            stage.awaiting_contract = tender
        elif stage.evaluating is None:
            appoint(tender, experts)
            stage.evaluating = tender
    for tender in stage.awarded:
        # The scheduler finalizes an award when its challenge window closes; the demo does it then.
        closes = awards.current_award(tender).challenge_deadline + timedelta(minutes=1)
        clock.set_now(min(closes, real_now))
        awards.finalize_if_due(tender)
    clock.set_now(real_now)
    return stage
