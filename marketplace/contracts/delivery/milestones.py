"""Milestones: the organization submits a deliverable with its report and evidence; the agency accepts
it (its payment share becomes due) or rejects it for a resubmission. The final milestone is accepted
through the final acceptance (``delivery.acceptance``)."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.delivery.checks import require, require_active, today
from marketplace.contracts.delivery.schemas import MilestoneReportSchema, RejectionSchema
from marketplace.contracts.locking import lock_contract
from marketplace.contracts.models import Milestone, MilestoneDocument, MilestoneSubmission
from marketplace.contracts.parties import OWN_WORDS, buyer_officers, contract_link, supplier_members
from marketplace.core.documents import StoredFile
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.permissions import can
from marketplace.core.schemas import load
from marketplace.core.templating import money
from marketplace.extensions import db


def overdue_days(milestone: Milestone) -> int:
    """Days past due today for a milestone not yet accepted (0 when not overdue)."""
    if milestone.is_accepted:
        return 0
    return max(0, (today() - milestone.due_date).days)


def latest_submission(milestone: Milestone) -> MilestoneSubmission | None:
    return milestone.submissions[-1] if milestone.submissions else None


def may_submit(milestone: Milestone, user) -> bool:
    """The organization (re)submits a milestone not submitted yet, or rejected, while in force."""
    contract = milestone.contract
    return can(user, "contract.deliver", contract) and contract.is_active and milestone.awaits_submission


def may_accept(milestone: Milestone, user) -> bool:
    """The agency accepts a submitted milestone here, except the final one (final acceptance)."""
    return may_reject(milestone, user) and not milestone.is_final


def may_reject(milestone: Milestone, user) -> bool:
    """The agency rejects a submitted milestone, the final one included."""
    contract = milestone.contract
    return can(user, "contract.manage", contract) and contract.is_active and milestone.is_submitted


def submit_milestone(
    milestone: Milestone, report: str, files: list[StoredFile], actor
) -> MilestoneSubmission:
    contract = lock_contract(milestone.contract)
    require(actor, "contract.deliver", contract)
    require_active(contract)
    if not milestone.awaits_submission:
        raise RuleViolation(
            _("This milestone is already submitted or accepted: it cannot be submitted again."),
            field="report",
        )
    report = load(MilestoneReportSchema(), {"report": report})["report"]
    now = clock.now()
    submission = MilestoneSubmission(
        milestone_id=milestone.id, report=report, submitted_at=now, submitted_by_id=actor.id
    )
    for f in files:
        submission.documents.append(MilestoneDocument(uploaded_at=now, **f.columns()))
    milestone.submissions.append(submission)
    previous = milestone.status
    milestone.status = "submitted"
    db.session.flush()
    audit.record(
        actor,
        "contract.milestone_submitted",
        "contract",
        contract.id,
        N_("Milestone %(milestone)s submitted: %(deliverable)s"),
        {
            "milestone_id": milestone.id,
            "submission_id": submission.id,
            "status": [previous, "submitted"],
            "documents": [f.sha256 for f in files],
        },
        tender_id=contract.tender_id,
        params={"milestone": milestone.id, "deliverable": milestone.deliverable},
    )
    notify(
        buyer_officers(contract),
        "contract.milestone_submitted",
        N_("Milestone submitted for acceptance — %(deliverable)s"),
        OWN_WORDS,
        contract_link(contract),
        params={"deliverable": milestone.deliverable, "text": contract.title},
    )
    return submission


def record_decision(milestone: Milestone, decision: str, reason: str, actor) -> None:
    """Write the decision on the latest submission (when it has none yet)."""
    submission = latest_submission(milestone)
    if submission is not None and submission.decision is None:
        submission.decision = decision
        submission.decision_reason = reason
        submission.decided_at = clock.now()
        submission.decided_by_id = actor.id


def mark_accepted(milestone: Milestone, actor) -> None:
    """Met today: its payment share becomes due and it is no longer overdue."""
    milestone.status = "accepted"
    milestone.met_on = today()
    milestone.accepted_at = clock.now()
    milestone.accepted_by_id = actor.id
    milestone.overdue_days = None
    record_decision(milestone, "accepted", "", actor)


def accept_milestone(milestone: Milestone, actor) -> None:
    contract = lock_contract(milestone.contract)  # a second officer deciding at once waits, then sees it
    require(actor, "contract.manage", contract)
    require_active(contract)
    if milestone.is_final:
        raise RuleViolation(
            _("The final milestone is accepted through the final acceptance (验收), with service recipients.")
        )
    if not milestone.is_submitted:
        raise RuleViolation(_("Only a submitted milestone can be accepted."))
    mark_accepted(milestone, actor)
    params = {
        "milestone": milestone.id,
        "deliverable": milestone.deliverable,
        "amount": money(milestone.amount),
    }
    audit.record(
        actor,
        "contract.milestone_accepted",
        "contract",
        contract.id,
        N_("Milestone %(milestone)s accepted: %(deliverable)s; %(amount)s due"),
        {"milestone_id": milestone.id, "status": ["submitted", "accepted"], "amount_due": milestone.amount},
        tender_id=contract.tender_id,
        params=params,
    )
    notify(
        supplier_members(contract),
        "contract.milestone_accepted",
        N_("Milestone accepted — %(deliverable)s"),
        N_("Payment due: %(amount)s"),
        contract_link(contract),
        params=params,
    )


def reject_milestone(milestone: Milestone, reason: str, actor) -> None:
    contract = lock_contract(milestone.contract)  # a second officer deciding at once waits, then sees it
    require(actor, "contract.manage", contract)
    require_active(contract)
    if not milestone.is_submitted:
        raise RuleViolation(_("Only a submitted milestone can be rejected."), field="reason")
    reason = load(RejectionSchema(), {"reason": reason})["reason"]
    milestone.status = "rejected"
    record_decision(milestone, "rejected", reason, actor)
    audit.record(
        actor,
        "contract.milestone_rejected",
        "contract",
        contract.id,
        N_("Milestone %(milestone)s rejected: %(deliverable)s"),
        {"milestone_id": milestone.id, "status": ["submitted", "rejected"], "reason": reason},
        tender_id=contract.tender_id,
        params={"milestone": milestone.id, "deliverable": milestone.deliverable},
    )
    notify(
        supplier_members(contract),
        "contract.milestone_rejected",
        N_("Milestone rejected: please resubmit — %(deliverable)s"),
        OWN_WORDS,
        contract_link(contract),
        params={"deliverable": milestone.deliverable, "text": reason},
    )
