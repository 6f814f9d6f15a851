"""How the figures of a flag read on the page (the stored keys are the export's, in English)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Ids shown through their names beside them.
HIDDEN = frozenset({"organization_a", "organization_b", "winner", "organization", "agency"})

FIGURE_LABELS = {
    "method": _l("Method"),
    "bids": _l("Bids opened"),
    "qualified_bids": _l("Bids qualified"),
    "period_days": _l("Tender period (days)"),
    "legal_minimum_days": _l("Legal minimum (days)"),
    "median_days": _l("Median period of the district and category (days)"),
    "median_sample": _l("Tenders in the median"),
    "amendment": _l("Amendment no."),
    "amended_at": _l("Amended at"),
    "previous_deadline": _l("Deadline before"),
    "new_deadline": _l("Deadline after"),
    "days_before_deadline": _l("Days before the deadline"),
    "substantive": _l("Substantive"),
    "winning_price": _l("Winning price"),
    "budget_ceiling": _l("Budget ceiling"),
    "organization_a_name": _l("Organization"),
    "organization_b_name": _l("Other organization"),
    "same_legal_representative": _l("Same legal representative"),
    "same_phone": _l("Same phone"),
    "bids_examined": _l("Bids examined"),
    "disqualified": _l("Disqualified"),
    "awarded_rank": _l("Rank of the awarded bid"),
    "passed_over_recorded": _l("Pass-overs recorded"),
    "winner_name": _l("Winner"),
    "category": _l("Category"),
    "won_in_window": _l("Awards won in the window"),
    "agency_awards_in_window": _l("Agency's awards in the window"),
    "lost_together": _l("Processes lost together"),
    "organization_name": _l("Organization"),
    "bids_in_awarded_processes": _l("Bids in awarded processes"),
    "original_value": _l("Original value"),
    "value": _l("Value now"),
    "approved_variations": _l("Approved variations"),
    "award_notice_at": _l("Award notice"),
    "signed_at": _l("Signed"),
    "days_to_signature": _l("Days to signature"),
    "unsigned_flagged_at": _l("Flagged unsigned"),
    "milestone": _l("Milestone no."),
    "deliverable": _l("Deliverable"),
    "accepted_at": _l("Accepted at"),
    "payment": _l("Payment no."),
    "paid_on": _l("Paid on"),
    "amount": _l("Amount"),
    "milestone_status": _l("Milestone status"),
    "accepted_on": _l("Accepted on"),
    "grade": _l("Grade"),
    "total": _l("Score"),
    "count": _l("Hits"),
}


def figure_items(figures: dict) -> list[list[tuple[object, object]]]:
    """The figures as lists of (label, value), one list per hit."""
    hits = figures.get("items") if "items" in figures else [figures]
    return [
        [(FIGURE_LABELS.get(k, k), v) for k, v in sorted(hit.items()) if k not in HIDDEN and v is not None]
        for hit in hits
    ]
