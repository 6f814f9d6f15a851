"""Conversions between stored UTC and the configured display zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app


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
