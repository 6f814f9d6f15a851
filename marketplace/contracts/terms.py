"""The terms of a contract and the rules that take them together, whether drafted or varied.

A term runs at most 12 months, up to 36 with a written justification; the milestone amounts add up
exactly to the contract value, with one final milestone (final acceptance), the last by due date.
Each value on its own is checked by the input schemas (``contracts.schemas``).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import format_date
from flask_babel import gettext as _

from marketplace.contracts.models import Contract, Milestone
from marketplace.core import rules
from marketplace.core.errors import RuleViolation
from marketplace.core.templating import money

TEXT_MAX = 5000
SCOPE_MAX = 20000
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_QUANTITY = Decimal("9999999999.99")  # Numeric(12, 2)
CENT = Decimal("0.01")


# --- the term ------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_limit(term_start: date, months: int) -> date:
    """The last day of a term of ``months`` months starting on ``term_start`` (the last day of the
    calendar when that would be past year 9999: typed dates may be anything, never a 500)."""
    try:
        return add_months(term_start, months) - timedelta(days=1)
    except (ValueError, OverflowError):
        return date.max


def check_term(term_start: date | None, term_end: date | None, justification: str | None) -> None:
    """Start before end; at most 12 months, up to 36 with a written justification."""
    if term_start is None:
        raise RuleViolation(_("Enter the first day of the term."), field="term_start")
    if term_end is None:
        raise RuleViolation(_("Enter the last day of the term."), field="term_end")
    if term_end < term_start:
        raise RuleViolation(_("The term cannot end before it starts."), field="term_end")
    longest = term_limit(term_start, rules.days("CONTRACT_TERM_MAX_MONTHS"))
    if term_end > longest:
        raise RuleViolation(
            _(
                "A contract term is at most %(n)d months: it must end on %(date)s at the latest.",
                n=rules.days("CONTRACT_TERM_MAX_MONTHS"),
                date=format_date(longest, "medium"),
            ),
            field="term_end",
        )
    if term_end > term_limit(term_start, rules.days("CONTRACT_TERM_DEFAULT_MONTHS")) and not justification:
        raise RuleViolation(
            _(
                "A term longer than %(n)d months needs a written justification.",
                n=rules.days("CONTRACT_TERM_DEFAULT_MONTHS"),
            ),
            field="term_justification",
        )


# --- the plan of milestones ----------------------------------------------------------------------


def check_plan(milestones: list[dict], value: Decimal, field_name: str = "milestones") -> None:
    """The shares (``amount``) add up to the value exactly; one final milestone (``is_final``), the
    last by ``due_date``."""
    if not milestones:
        raise RuleViolation(_("Add at least one milestone."), field=field_name)
    total = sum((Decimal(m["amount"]) for m in milestones), Decimal("0"))
    if total != value:
        amounts = {"total": money(total), "diff": money(abs(value - total)), "value": money(value)}
        raise RuleViolation(
            _(
                "The milestone amounts add up to %(total)s, %(diff)s less than the contract value of "
                "%(value)s.",
                **amounts,
            )
            if total < value
            else _(
                "The milestone amounts add up to %(total)s, %(diff)s more than the contract value of "
                "%(value)s.",
                **amounts,
            ),
            field=field_name,
        )
    finals = [m for m in milestones if m["is_final"]]
    if len(finals) != 1:
        raise RuleViolation(
            _("Mark exactly one milestone as the final one (final acceptance)."), field=field_name
        )
    if any(m["due_date"] > finals[0]["due_date"] for m in milestones):
        raise RuleViolation(_("The final milestone must be the last one by due date."), field=field_name)


# --- the terms as recorded (audit events, a variation's previous terms) ---------------------------


def amount_text(amount) -> str:
    """An amount as stored in JSON: "84000.00"."""
    return str(Decimal(amount).quantize(CENT))


def terms_of(contract: Contract) -> dict:
    return {
        "title": contract.title,
        "value": amount_text(contract.value),
        "term_start": contract.term_start.isoformat(),
        "term_end": contract.term_end.isoformat(),
        "term_justification": contract.term_justification,
        "targets": [[t.name, t.unit, str(t.quantity)] for t in contract.targets],
        "milestones": [_milestone_terms(m) for m in contract.milestones],
    }


def _milestone_terms(m: Milestone) -> dict:
    return {
        "id": m.id,
        "deliverable": m.deliverable,
        "kind": m.kind,
        "due_date": m.due_date.isoformat(),
        "amount": amount_text(m.amount),
        "is_final": m.is_final,
    }
