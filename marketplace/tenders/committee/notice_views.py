"""The public award notice (中标结果公告), each bidder's own result on it, and the challenge form."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core import documents as document_store
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can, require
from marketplace.core.transaction import abandon
from marketplace.core.web import apply_violation, get_or_404
from marketplace.tenders.bids.opening import own_opened_bid
from marketplace.tenders.committee import awards, challenges, members, ranking, review
from marketplace.tenders.committee.blueprint import bp
from marketplace.tenders.committee.forms import ChallengeForm
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import Tender


def _own_part(tender: Tender) -> dict:
    """The current user's organization's bid, result, qualification and challenges (if it bid)."""
    own_bid = own_opened_bid(tender, current_user)
    if own_bid is None:
        return {"own_bid": None, "own_result": None, "own_qualification": None, "own_challenges": []}
    return {
        "own_bid": own_bid,
        "own_result": ranking.result_for_bid(own_bid),
        "own_qualification": review.qualification_of(own_bid),
        "own_challenges": challenges.challenges_of_organization(tender, own_bid.organization_id),
    }


def _notice(tender: Tender, award: Award, form: ChallengeForm | None = None, status: int = 200):
    results = ranking.results(tender)
    may_challenge = awards.challengeable(tender, award) and can(current_user, "committee.challenge", tender)
    return render_template(
        "committee/notice.html",
        tender=tender,
        award=award,
        winner=next((r for r in results if r.bid_id == award.bid_id), None),
        valid_count=sum(1 for r in results if r.rank),
        committee=members.committee(tender) if awards.committee_names_public(tender) else [],
        answered=challenges.answered_challenges(tender),
        form=(form or ChallengeForm(formdata=None)) if may_challenge else None,
        **_own_part(tender),
    ), status


@bp.route("/tenders/<int:tender_id>/notice")
def notice(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    require(current_user, "tender.view", tender)
    award = awards.latest_award(tender)
    if award is None:
        abort(404)
    return _notice(tender, award)


@bp.route("/tenders/<int:tender_id>/challenges", methods=["POST"])
@login_required
def file_challenge(tender_id: int):
    tender = get_or_404(Tender, tender_id)
    award = awards.current_award(tender)
    if award is None:
        abort(404)
    require(current_user, "committee.challenge", tender)
    form = ChallengeForm()
    if form.validate_on_submit():
        uploads = [f for f in (form.documents.data or []) if getattr(f, "filename", "")]
        try:
            stored = [document_store.store(f) for f in uploads]
            challenges.file_challenge(award, form.grounds.data, stored, current_user)
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc, default_field="grounds")
        else:
            flash(_("Your challenge is filed. The agency answers it within 7 working days."), "success")
            return redirect(url_for("committee.notice", tender_id=tender.id))
    return _notice(tender, award, form=form, status=400)
