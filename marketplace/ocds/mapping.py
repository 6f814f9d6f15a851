"""Our states and codes → OCDS 1.1 codelists. docs/ocds.md has the same tables with the reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app

CURRENCY = "CNY"
LANGUAGE = "zh"
# The unified social credit code (统一社会信用代码, GB 32100-2015) identifies every organization.
IDENTIFIER_SCHEME = "CN-USCC"
CLASSIFICATION_SCHEME = "x_catalogue"  # our service catalogue (core.catalogue); open codelist

# Tender status → tenderStatus. Drafts are never published, so they have no code.
TENDER_STATUS = {
    "open": "active",
    "closed": "active",
    "opened": "active",
    "evaluation": "active",
    "awarded": "complete",
    "failed": "unsuccessful",
    "cancelled": "cancelled",
}

# Award status → awardStatus.
AWARD_STATUS = {"notice": "pending", "final": "active", "annulled": "cancelled"}

# Contract status → contractStatus. Draft contracts are not published (listed for completeness).
CONTRACT_STATUS = {
    "draft": "pending",
    "active": "active",
    "completed": "terminated",
    "terminated": "terminated",
}

# Milestone kind → milestoneType.
MILESTONE_TYPE = {"delivery": "delivery", "report": "reporting", "payment": "payment"}

# Procurement method → method, and its Chinese name for procurementMethodDetails.
PROCUREMENT_METHOD = {
    "public_tender": "open",
    "invited_tender": "selective",
    "competitive_consultation": "selective",
    "competitive_negotiation": "limited",
    "request_for_quotation": "selective",
    "single_source": "direct",
}
PROCUREMENT_METHOD_DETAILS = {
    "public_tender": "公开招标",
    "invited_tender": "邀请招标",
    "competitive_consultation": "竞争性磋商",
    "competitive_negotiation": "竞争性谈判",
    "request_for_quotation": "询价",
    "single_source": "单一来源",
}

# Evaluation method → awardCriteria.
AWARD_CRITERIA = {"comprehensive_scoring": "ratedCriteria", "lowest_price": "priceOnly"}
AWARD_CRITERIA_DETAILS = {"comprehensive_scoring": "综合评分法", "lowest_price": "最低评标价法"}

# Fields an amendment may change, named for tender.amendments[].description.
AMENDED_FIELDS = {
    "description": "采购需求 description",
    "budget_ceiling": "预算上限 budget ceiling",
    "contract_term_months": "合同期限 contract term",
    "bid_deadline": "投标截止时间 bid deadline",
    "documents_added": "采购文件 documents",
    "contact_name": "联系方式 contact details",
    "contact_phone": "联系方式 contact details",
    "contact_email": "联系方式 contact details",
}


def clean(obj):
    """Drop None values and empty containers (OCDS asks to omit them rather than send them empty)."""
    if isinstance(obj, dict):
        out = {k: clean(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return obj


def amount(value: Decimal | int | None) -> float | None:
    """A money amount as a JSON number. ``Numeric(14, 2)`` has at most 14 significant digits, so the
    float's shortest repr is exactly the 2-decimal value (311111.11 stays 311111.11)."""
    if value is None:
        return None
    return float(Decimal(value).quantize(Decimal("0.01")))


def value(money: Decimal | None) -> dict | None:
    if money is None:
        return None
    return {"amount": amount(money), "currency": CURRENCY}


def timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC, to the second: ``2026-03-10T02:00:00Z``."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # the UTC columns never give naive values; be safe anyway
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def day_start(day: date | None) -> str | None:
    """A local calendar day as the RFC 3339 moment it starts (``2026-03-10T00:00:00+08:00``)."""
    if day is None:
        return None
    return datetime.combine(day, time(0, 0), tzinfo=_zone()).isoformat(timespec="seconds")


def day_end(day: date | None) -> str | None:
    """A local calendar day as the RFC 3339 moment it ends (``2026-03-10T23:59:59+08:00``)."""
    if day is None:
        return None
    return datetime.combine(day, time(23, 59, 59), tzinfo=_zone()).isoformat(timespec="seconds")


def end_of_day(day: date) -> datetime:
    """The aware moment a local day is over (the next day's 00:00 local)."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=_zone())
