"""Cross-check the project's calendar against exchange_calendars (XKRX) and holidays (KR).

The differences are asserted exactly, so a library update that fixes one (or a table edit that
introduces one) shows up here; docs/market-calendar.md explains each.
"""

from __future__ import annotations

import datetime as dt

import pytest

from apps.marketdata import krx_calendar as cal

YEARS = (2025, 2026, 2027)
# Closed at KRX but open in exchange_calendars 4.13.2: ad-hoc and new holidays it has not released yet.
XCALS_MISSING = {dt.date(2026, 6, 3), dt.date(2026, 7, 17), dt.date(2027, 5, 3), dt.date(2027, 7, 19)}
# KRX-only closures the public-holiday list does not have: the year-end close, and 2025 Labor Day
# (a market holiday before it became a public holiday in 2026).
HOLIDAYS_MISSING = {dt.date(2025, 5, 1), dt.date(2025, 12, 31), dt.date(2026, 12, 31), dt.date(2027, 12, 31)}


def project_closures() -> set[dt.date]:
    return {c.date for year in YEARS for c in cal.closures(year)}


def weekdays() -> list[dt.date]:
    day, out = dt.date(2025, 1, 1), []
    while day.year <= 2027:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def test_against_exchange_calendars() -> None:
    xcals = pytest.importorskip("exchange_calendars")
    xkrx = xcals.get_calendar("XKRX", start="2025-01-01", end="2027-12-31")
    sessions = {ts.date() for ts in xkrx.sessions}
    xcals_closed = {day for day in weekdays() if day not in sessions}
    assert project_closures() - xcals_closed == XCALS_MISSING
    assert xcals_closed - project_closures() == set()
    # xcals models the first-trading-day 10:00 open like the project does.
    for day in (dt.date(2025, 1, 2), dt.date(2026, 1, 2), dt.date(2027, 1, 4)):
        assert xkrx.session_open(day.isoformat()).tz_convert("Asia/Seoul").time() == cal.session_for(day).continuous_open.time()
    # It stops its CSAT late opens at 2020; the project has 2025 and 2026.
    assert xkrx.session_open("2025-11-13").tz_convert("Asia/Seoul").hour == 9
    assert cal.session_for(dt.date(2025, 11, 13)).continuous_open.hour == 10


def test_against_the_holidays_package() -> None:
    holidays = pytest.importorskip("holidays")
    public = {day for day in holidays.country_holidays("KR", years=list(YEARS)) if day.weekday() < 5}
    assert project_closures() - public == HOLIDAYS_MISSING
    assert public - project_closures() == set()
