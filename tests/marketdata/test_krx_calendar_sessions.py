"""The project's KRX calendar: closures, late opens and phase edges (krx-market-rules §1, §5)."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.marketdata import krx_calendar as cal

KST = cal.KST
CLOSURES = {
    2025: "01-01 01-27 01-28 01-29 01-30 03-03 05-01 05-05 05-06 06-03 06-06 08-15 10-03 10-06 10-07 10-08 10-09 12-25 12-31",
    2026: "01-01 02-16 02-17 02-18 03-02 05-01 05-05 05-25 06-03 07-17 08-17 09-24 09-25 10-05 10-09 12-25 12-31",
    2027: "01-01 02-08 02-09 03-01 05-03 05-05 05-13 07-19 08-16 09-14 09-15 09-16 10-04 10-11 12-27 12-31",
}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=KST)


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_every_listed_closure_is_closed(year: int) -> None:
    expected = {dt.date.fromisoformat(f"{year}-{md}") for md in CLOSURES[year].split()}
    assert {c.date for c in cal.closures(year)} == expected
    for day in expected:
        assert not cal.is_trading_day(day)
        assert cal.phase_at(dt.datetime.combine(day, dt.time(10), KST)) == cal.Phase.HOLIDAY


def test_weekends_are_closed_and_ordinary_days_open() -> None:
    assert not cal.is_trading_day(dt.date(2026, 11, 21))  # Saturday
    assert cal.is_trading_day(dt.date(2026, 11, 23))


@pytest.mark.parametrize("day", ["2025-01-02", "2026-01-02", "2027-01-04"])
def test_the_first_trading_day_opens_at_ten_and_closes_as_usual(day: str) -> None:
    session = cal.session_for(dt.date.fromisoformat(day))
    assert session.continuous_open.time() == dt.time(10, 0)
    assert session.regular_close.time() == dt.time(15, 30)
    assert cal.phase_at(at(f"{day}T09:59:59")) == cal.Phase.OPENING_AUCTION
    assert cal.phase_at(at(f"{day}T09:29:59")) == cal.Phase.CLOSED


@pytest.mark.parametrize("day", ["2025-11-13", "2026-11-19"])
def test_csat_day_moves_every_session_an_hour(day: str) -> None:
    session = cal.session_for(dt.date.fromisoformat(day))
    assert (session.continuous_open.time(), session.regular_close.time()) == (dt.time(10), dt.time(16, 30))
    assert cal.phase_at(at(f"{day}T16:25:00")) == cal.Phase.CLOSING_AUCTION
    assert cal.phase_at(at(f"{day}T17:59:59")) == cal.Phase.AFTER_HOURS_SINGLE
    assert cal.phase_at(at(f"{day}T18:00:00")) == cal.Phase.CLOSED


@pytest.mark.parametrize(
    ("moment", "phase"),
    [
        ("2026-11-23T08:29:59", cal.Phase.CLOSED),
        ("2026-11-23T08:30:00", cal.Phase.OPENING_AUCTION),
        ("2026-11-23T08:59:59", cal.Phase.OPENING_AUCTION),
        ("2026-11-23T09:00:00", cal.Phase.CONTINUOUS),
        ("2026-11-23T15:19:59", cal.Phase.CONTINUOUS),
        ("2026-11-23T15:20:00", cal.Phase.CLOSING_AUCTION),
        ("2026-11-23T15:29:59", cal.Phase.CLOSING_AUCTION),
        ("2026-11-23T15:30:00", cal.Phase.POST_MARKET),
        ("2026-11-23T16:00:00", cal.Phase.AFTER_HOURS_SINGLE),
        ("2026-11-23T18:00:00", cal.Phase.CLOSED),
    ],
)
def test_phase_edges(moment: str, phase: cal.Phase) -> None:
    assert cal.phase_at(at(moment)) == phase
    assert cal.accepts_regular_orders(at(moment)) == (phase in cal.REGULAR_PHASES)


def test_next_open_skips_weekends_and_the_lunar_new_year() -> None:
    assert cal.next_regular_open(at("2026-11-20T16:00:00")) == at("2026-11-23T08:30:00")
    assert cal.next_regular_open(at("2026-02-13T15:30:00")) == at("2026-02-19T08:30:00")
    assert cal.next_regular_open(at("2026-12-30T20:00:00")) == at("2027-01-04T09:30:00")
    assert cal.next_regular_open(at("2026-11-23T10:00:00")) == at("2026-11-23T10:00:00")


def test_naive_times_and_uncovered_years_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        cal.phase_at(dt.datetime(2026, 11, 23, 10))  # noqa: DTZ001 - the point of the test
    with pytest.raises(cal.CalendarRangeError):
        cal.is_trading_day(dt.date(2028, 1, 3))


def test_the_always_clock_is_open_at_any_hour() -> None:
    clock = cal.MarketClock("always")
    assert clock.accepts_regular_orders(at("2026-11-22T23:00:00"))
    with pytest.raises(ValueError, match="unknown market clock"):
        cal.MarketClock("sometimes")
