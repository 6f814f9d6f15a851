"""Working-day calendar: public holidays and make-up working days (调休) kept as data.

A date is a working day when it is a Monday-Friday not listed as a holiday, or a weekend day listed
as a make-up working day. Day counting follows DOMAIN.md: the start day is excluded, and a deadline
that lands on a non-working day moves to the next working day.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from importlib import resources

from sqlalchemy import Date, String, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db

HOLIDAY = "holiday"
WORKDAY = "workday"


class CalendarDay(db.Model):
    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False, default="")


def bundled_rows() -> list[dict]:
    """The official calendar rows shipped with the package (``marketplace/data/calendar-cn.csv``)."""
    text = resources.files("marketplace").joinpath("data/calendar-cn.csv").read_text("utf-8")
    rows = []
    for row in csv.DictReader(text.splitlines()):
        rows.append({"day": date.fromisoformat(row["date"]), "kind": row["kind"], "name": row["name"]})
    return rows


class WorkingCalendar:
    """An in-memory view of the exceptions table for a range of computations."""

    def __init__(self, exceptions: dict[date, str]):
        self.exceptions = exceptions

    @classmethod
    def load(cls) -> WorkingCalendar:
        rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
        return cls({d: k for d, k in rows})

    def is_working_day(self, day: date) -> bool:
        kind = self.exceptions.get(day)
        if kind == HOLIDAY:
            return False
        if kind == WORKDAY:
            return True
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (start excluded)."""
        day = start
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def add_calendar_days(self, start: date, n: int) -> date:
        """``start`` + n days, moved to the next working day if it lands on a non-working day."""
        return self.next_working_day(start + timedelta(days=n))

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def load_bundled(session=None) -> int:
    """Insert the bundled rows that are not yet present; returns how many were added."""
    session = session or db.session
    existing = set(session.execute(select(CalendarDay.day)).scalars())
    added = 0
    for row in bundled_rows():
        if row["day"] not in existing:
            session.add(CalendarDay(**row))
            added += 1
    return added
