"""The KRX session a moment belongs to, for daily counters: from one session boundary (08:00 KST) to the next.

Between sessions (an evening, a weekend) the day that counts is the last one that started, so its
figures stand until the next boundary resets them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from apps.marketdata import krx_calendar
from apps.marketdata import selectors as market

KST = krx_calendar.KST
BOUNDARY = dt.time(8, 0)


@dataclass(frozen=True, slots=True)
class SessionWindow:
    date: dt.date
    start: dt.datetime


def previous_trading_day(day: dt.date) -> dt.date:
    candidate = day - dt.timedelta(days=1)
    while not krx_calendar.is_trading_day(candidate):
        candidate -= dt.timedelta(days=1)
    return candidate


def current_session(now: dt.datetime) -> SessionWindow:
    """The session whose counters apply at ``now``; raises CalendarRangeError outside the calendar's years."""
    local = now.astimezone(KST)
    if market.market_clock().mode == "always":
        # The simulated clock never closes; its "day" still turns over at the usual boundary.
        day = local.date() if local.time() >= BOUNDARY else local.date() - dt.timedelta(days=1)
        return SessionWindow(day, dt.datetime.combine(day, BOUNDARY, KST))
    day = krx_calendar.session_date(local)
    start = krx_calendar.session_boundary(day)
    if start > local:
        day = previous_trading_day(day)
        start = krx_calendar.session_boundary(day)
    return SessionWindow(day, start)


def in_session(now: dt.datetime) -> bool:
    """Whether regular orders are accepted now: the monitors that watch a live session run only then."""
    return market.market_clock().accepts_regular_orders(now)
