from datetime import date

import pytest

from marketplace.core.calendar import WorkingCalendar, bundled_rows, load_bundled


@pytest.fixture
def cal(db):
    return WorkingCalendar.load()


def test_holidays_and_makeup_days(cal):
    assert not cal.is_working_day(date(2026, 10, 1))  # National Day, a Thursday
    assert not cal.is_working_day(date(2026, 2, 17))  # Spring Festival
    assert cal.is_working_day(date(2026, 1, 4))  # Sunday worked as a make-up day
    assert not cal.is_working_day(date(2026, 3, 14))  # an ordinary Saturday
    assert cal.is_working_day(date(2026, 3, 10))  # an ordinary Tuesday


def test_add_working_days_excludes_start_and_skips_holidays(cal):
    # Tuesday 29 Sep 2026 + 3 WD: Wed 30 Sep (1), National Day week 1-7 Oct off, Thu 8 (2), Fri 9 (3).
    assert cal.add_working_days(date(2026, 3, 10), 3) == date(2026, 3, 13)
    assert cal.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 16)  # Friday → Monday
    assert cal.add_working_days(date(2026, 9, 29), 3) == date(2026, 10, 9)
    assert cal.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)  # make-up Saturday
    assert cal.working_days_between(date(2026, 9, 29), date(2026, 10, 10)) == 4


def test_calendar_days_move_to_next_working_day(cal):
    assert cal.add_calendar_days(date(2026, 3, 10), 20) == date(2026, 3, 30)  # a Monday
    assert cal.add_calendar_days(date(2026, 3, 7), 7) == date(2026, 3, 16)  # lands on Saturday 14th
    assert cal.add_calendar_days(date(2026, 9, 20), 11) == date(2026, 10, 8)  # 1 Oct holiday week


def test_bundled_rows_match_the_shared_notice(db):
    rows = bundled_rows()
    assert len(rows) == 39
    assert load_bundled() == 0  # the migration already loaded them
