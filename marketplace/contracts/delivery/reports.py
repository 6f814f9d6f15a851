"""The organization's periodic progress reports (a period within the term and a narrative)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.delivery.checks import require, require_active, within_term
from marketplace.contracts.delivery.schemas import ProgressReportSchema
from marketplace.contracts.models import Contract, ProgressReport
from marketplace.contracts.parties import buyer_officers, contract_link
from marketplace.core.messages import N_
from marketplace.core.notifications import notify
from marketplace.core.schemas import load
from marketplace.extensions import db


def file_progress_report(
    contract: Contract, period_start: date | None, period_end: date | None, summary: str, issues: str, actor
) -> ProgressReport:
    """The organization reports on a period within the term (up to today)."""
    require(actor, "contract.deliver", contract)
    require_active(contract)
    data = load(
        ProgressReportSchema(),
        {"period_start": period_start, "period_end": period_end, "summary": summary, "issues": issues},
    )
    period_start, period_end, summary, issues = (
        data["period_start"],
        data["period_end"],
        data["summary"],
        data["issues"],
    )
    within_term(contract, period_start, "period_start", _("The start of the period"))
    within_term(contract, period_end, "period_end", _("The end of the period"))
    report = ProgressReport(
        contract_id=contract.id,
        period_start=period_start,
        period_end=period_end,
        summary=summary,
        issues=issues,
        submitted_at=clock.now(),
        submitted_by_id=actor.id,
    )
    db.session.add(report)
    db.session.flush()
    period = {"start": period_start.isoformat(), "end": period_end.isoformat()}
    audit.record(
        actor,
        "contract.progress_reported",
        "contract",
        contract.id,
        N_("Progress report %(report)s for %(start)s to %(end)s"),
        {"report_id": report.id},
        tender_id=contract.tender_id,
        params={"report": report.id, **period},
    )
    notify(
        buyer_officers(contract),
        "contract.progress_report",
        N_("Progress report filed — %(title)s"),
        N_("%(start)s – %(end)s"),
        f"{contract_link(contract)}/reports",
        params={"title": contract.title, **period},
    )
    return report


def reports_query(contract: Contract):
    """The contract's reports, the latest period first (then the latest filed)."""
    return (
        select(ProgressReport)
        .where(ProgressReport.contract_id == contract.id)
        .order_by(ProgressReport.period_end.desc(), ProgressReport.id.desc())
    )
