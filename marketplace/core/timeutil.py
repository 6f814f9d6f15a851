"""Conversions between stored UTC and the configured display zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from marketplace.core.errors import RuleViolation


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(zone())


def local_to_utc(naive_local: datetime) -> datetime:
    """A wall-clock time typed in the display zone, as an aware UTC datetime."""
    if naive_local.tzinfo is not None:
        return naive_local.astimezone(UTC)
    return naive_local.replace(tzinfo=zone()).astimezone(UTC)


def local_date(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone()).astimezone(UTC)


# Filter dates outside this range are refused: a day at either end of ``date`` overflows ``datetime``
# once moved to UTC or to the next day (a 500, not a filter).
FIRST_FILTER_DATE = date(1900, 1, 1)
LAST_FILTER_DATE = date(9998, 12, 31)


def parse_local_date(value: str | None, label: str, field: str | None = None) -> date | None:
    """A YYYY-MM-DD filter date, or None when empty. Raises :class:`RuleViolation` on a bad value."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise RuleViolation(
            _("%(label)s must be a date written YYYY-MM-DD.", label=label), field=field
        ) from None
    if not FIRST_FILTER_DATE <= day <= LAST_FILTER_DATE:
        raise RuleViolation(
            _(
                "%(label)s must be between %(first)s and %(last)s.",
                label=label,
                first=FIRST_FILTER_DATE.isoformat(),
                last=LAST_FILTER_DATE.isoformat(),
            ),
            field=field,
        )
    return day
