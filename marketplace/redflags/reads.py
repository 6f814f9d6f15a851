"""What the red-flags page reads: one page of flagged processes with their flags, the flags per agency
per year (the chart and its table), the evidence links of a flag, and the export rows."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import Integer, cast, func, select

from marketplace import clock
from marketplace.auth.models import Agency
from marketplace.core.permissions import can
from marketplace.core.timeutil import zone
from marketplace.extensions import db
from marketplace.redflags import indicators
from marketplace.redflags.models import RedFlag
from marketplace.redflags.services import flags_query, visible_to
from marketplace.tenders.models import Tender

CHART_AGENCIES = 12  # the chart shows the agencies with the most flags; the table shows them all


def local_year(column):
    """The local-time year of a UTC timestamp column, as an integer, on SQLite and PostgreSQL."""
    if db.session.get_bind().dialect.name == "sqlite":
        hours = int(clock.now().astimezone(zone()).utcoffset().total_seconds() // 3600)
        return cast(func.strftime("%Y", func.datetime(column, f"{hours:+d} hours")), Integer)
    return cast(func.extract("year", func.timezone(zone().key, column)), Integer)


def processes_query(user, conditions):
    """The flagged processes (tenders) matching, newest first."""
    flagged = flags_query(user, conditions).with_only_columns(RedFlag.tender_id)
    return select(Tender).where(Tender.id.in_(flagged)).order_by(Tender.published_at.desc(), Tender.id.desc())


def flags_of(user, tender_ids: list[int], conditions) -> dict[int, list[RedFlag]]:
    if not tender_ids:
        return {}
    order = {code: i for i, code in enumerate(indicators.CODES)}
    out: dict[int, list[RedFlag]] = defaultdict(list)
    for flag in db.session.scalars(flags_query(user, conditions).where(RedFlag.tender_id.in_(tender_ids))):
        out[flag.tender_id].append(flag)
    for flags in out.values():
        flags.sort(key=lambda f: order.get(f.indicator, 99))
    return out


def per_agency_year(user, conditions) -> dict:
    """{"years": [...], "rows": [(agency, {year: n}, total)], "max": n} for the chart and its table."""
    year = local_year(Tender.published_at)
    stmt = (
        select(Tender.agency_id, year.label("year"), func.count(RedFlag.id))
        .select_from(RedFlag)
        .join(Tender, Tender.id == RedFlag.tender_id)
        .where(visible_to(user), Tender.published_at.is_not(None), *conditions)
        .group_by(Tender.agency_id, year)
    )
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    years: set[int] = set()
    for agency_id, y, n in db.session.execute(stmt):
        counts[agency_id][int(y)] = n
        years.add(int(y))
    agencies = {a.id: a for a in db.session.scalars(select(Agency).where(Agency.id.in_(list(counts))))}
    rows = sorted(
        ((agencies[a], by_year, sum(by_year.values())) for a, by_year in counts.items()),
        key=lambda r: (-r[2], r[0].name),
    )
    peak = max((n for _a, by_year, _t in rows for n in by_year.values()), default=0)
    return {"years": sorted(years), "rows": rows, "chart_rows": rows[:CHART_AGENCIES], "max": peak}


def evidence_links(flag: RedFlag, user) -> list[tuple[str, str]]:
    """Where the figures of a flag can be checked: the contract's or the tender's history."""
    indicator = indicators.INDICATORS.get(flag.indicator)
    auditor = can(user, "audit.view")
    links = []
    if flag.contract_id is not None:
        if auditor:
            links.append((_("Contract history"), url_for("auditor.history", contract_id=flag.contract_id)))
        links.append((_("Contract"), url_for("contracts.detail", contract_id=flag.contract_id)))
    if indicator is not None and indicator.stage == "tender" and auditor:
        links.append(
            (
                _("Tender history (audit log)"),
                url_for("audit_log.index", object_type="tender", object_id=flag.tender_id),
            )
        )
    if flag.tender.status in ("opened", "evaluation", "awarded", "failed"):
        links.append((_("Evaluation report"), url_for("committee.report", tender_id=flag.tender_id)))
    links.append((_("Tender"), url_for("tenders.detail", tender_id=flag.tender_id)))
    return links


EXPORT_COLUMNS = (
    "flag_id",
    "tender_id",
    "tender_reference",
    "tender_title",
    "agency",
    "district",
    "category",
    "published_at",
    "indicator",
    "figures",
    "first_flagged_at",
    "computed_at",
    "cleared_at",
    "reviewed_at",
    "review_note",
)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def export_rows(user, conditions):
    """The export's rows (``EXPORT_COLUMNS``), in id order, read in batches. The query is built now (the
    user's permissions read while the request is open); the rows as they are consumed."""
    stmt = (
        select(RedFlag, Tender, Agency.name)
        .join(Tender, Tender.id == RedFlag.tender_id)
        .join(Agency, Agency.id == Tender.agency_id)
        .where(visible_to(user), *conditions)
        .order_by(RedFlag.id)
        .execution_options(yield_per=500)
    )
    return _rows(stmt)


def _rows(stmt):
    for flag, tender, agency in db.session.execute(stmt):
        yield (
            flag.id,
            tender.id,
            tender.reference or "",
            tender.title,
            agency,
            tender.district_code,
            tender.category,
            _iso(tender.published_at),
            flag.indicator,
            json.dumps(flag.figures, ensure_ascii=False, sort_keys=True),
            _iso(flag.first_flagged_at),
            _iso(flag.computed_at),
            _iso(flag.cleared_at),
            _iso(flag.reviewed_at),
            flag.review_note or "",
        )
