"""The KRX trading calendar: closures, late opens and session phases, from the project's own table.

Pure Python (no Django) so the risk checks, Celery beat and the tests share one clock. The data lives
in data/krx_calendar.toml, versioned by date; outside the covered years the calendar refuses to
guess instead of silently assuming the market is open.
"""

from __future__ import annotations

import datetime as dt
import enum
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")
DATA = Path(__file__).with_name("data") / "krx_calendar.toml"
ONE_HOUR = dt.timedelta(hours=1)


class Phase(enum.StrEnum):
    CLOSED = "closed"  # a trading day, outside every session
    HOLIDAY = "holiday"  # weekend or closure
    OPENING_AUCTION = "opening_auction"  # 장전 동시호가: orders collected for the 09:00 single price
    CONTINUOUS = "continuous"
    CLOSING_AUCTION = "closing_auction"  # 장마감 동시호가
    POST_MARKET = "post_market"  # 장후 시간외 종가 (orders accepted from the close)
    AFTER_HOURS_SINGLE = "after_hours_single"  # 시간외 단일가


# Phases in which regular limit and market orders are accepted.
REGULAR_PHASES = frozenset({Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION})


class CalendarRangeError(ValueError):
    """The date is outside the years the project's table covers."""


@dataclass(frozen=True, slots=True)
class Closure:
    date: dt.date
    reason_ko: str
    reason_en: str


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day's phases as aware datetimes, in order."""

    date: dt.date
    late_open: str | None
    phases: tuple[tuple[Phase, dt.datetime, dt.datetime], ...]

    @property
    def regular_open(self) -> dt.datetime:
        return next(start for phase, start, _ in self.phases if phase == Phase.OPENING_AUCTION)

    @property
    def continuous_open(self) -> dt.datetime:
        return next(start for phase, start, _ in self.phases if phase == Phase.CONTINUOUS)

    @property
    def regular_close(self) -> dt.datetime:
        return next(end for phase, _, end in self.phases if phase == Phase.CLOSING_AUCTION)


@dataclass(frozen=True, slots=True)
class _Table:
    years: frozenset[int]
    closures: dict[dt.date, Closure]
    late_opens: dict[dt.date, str]
    schedules: tuple[tuple[dt.date, dict[str, tuple[dt.time, dt.time]]], ...]


def _time(text: str) -> dt.time:
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


@cache
def _table() -> _Table:
    raw = tomllib.loads(DATA.read_text(encoding="utf-8"))
    # TOML table keys are strings, so the dates are parsed here.
    closures = {dt.date.fromisoformat(day): Closure(dt.date.fromisoformat(day), ko, en) for day, (ko, en) in raw["closures"].items()}
    schedules = tuple(
        sorted(
            ((s["since"], {k: (_time(v[0]), _time(v[1])) for k, v in s.items() if k != "since"}) for s in raw["schedules"]),
            key=lambda item: item[0],
            reverse=True,
        )
    )
    late_opens = {dt.date.fromisoformat(day): kind for day, kind in raw["late_opens"].items()}
    return _Table(frozenset(raw["covered_years"]), closures, late_opens, schedules)


def _check_range(day: dt.date) -> None:
    if day.year not in _table().years:
        raise CalendarRangeError(f"the KRX calendar covers {sorted(_table().years)}; {day} is outside it")


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (Asia/Seoul for the market)")
    return moment.astimezone(KST)


def is_trading_day(day: dt.date) -> bool:
    _check_range(day)
    return day.weekday() < 5 and day not in _table().closures


def closures(year: int) -> list[Closure]:
    _check_range(dt.date(year, 1, 1))
    return sorted((c for c in _table().closures.values() if c.date.year == year), key=lambda c: c.date)


def session_for(day: dt.date) -> Session | None:
    """The day's phases, or None when KRX is closed."""
    if not is_trading_day(day):
        return None
    schedule = next(s for since, s in _table().schedules if day >= since)
    late = _table().late_opens.get(day)
    phases = []
    for name, phase in (
        ("opening_auction", Phase.OPENING_AUCTION),
        ("continuous", Phase.CONTINUOUS),
        ("closing_auction", Phase.CLOSING_AUCTION),
        ("post_market_close_price", Phase.POST_MARKET),
        ("after_hours_single", Phase.AFTER_HOURS_SINGLE),
    ):
        start_t, end_t = schedule[name]
        start, end = dt.datetime.combine(day, start_t, KST), dt.datetime.combine(day, end_t, KST)
        if late == "CSAT":
            # Every session moves one hour later, but the after-hours single-price session still ends at 18:00.
            start += ONE_HOUR
            end = end if phase == Phase.AFTER_HOURS_SINGLE else end + ONE_HOUR
        elif late == "first trading day" and phase in (Phase.OPENING_AUCTION, Phase.CONTINUOUS):
            # The first day opens an hour late but closes at the usual time.
            start += ONE_HOUR
            end = end if phase == Phase.CONTINUOUS else end + ONE_HOUR
        phases.append((phase, start, end))
    return Session(day, late, tuple(phases))


def phase_at(moment: dt.datetime) -> Phase:
    moment = _aware(moment)
    session = session_for(moment.date())
    if session is None:
        return Phase.HOLIDAY
    for phase, start, end in session.phases:
        if start <= moment < end:
            return phase
    # Post-market closing-price orders are accepted from the close, before fills start.
    if session.regular_close <= moment < session.phases[3][1]:
        return Phase.POST_MARKET
    return Phase.CLOSED


def accepts_regular_orders(moment: dt.datetime) -> bool:
    return phase_at(moment) in REGULAR_PHASES


def next_trading_day(day: dt.date) -> dt.date:
    candidate = day + dt.timedelta(days=1)
    while not is_trading_day(candidate):
        candidate += dt.timedelta(days=1)
    return candidate


def next_regular_open(moment: dt.datetime) -> dt.datetime:
    """The next moment regular orders are accepted (``moment`` itself if they are accepted now)."""
    moment = _aware(moment)
    if accepts_regular_orders(moment):
        return moment
    day = moment.date()
    session = session_for(day) if is_trading_day(day) else None
    if session is not None and moment < session.regular_open:
        return session.regular_open
    following = session_for(next_trading_day(day))
    if following is None:  # pragma: no cover - next_trading_day only returns trading days
        raise CalendarRangeError(f"no session after {day}")
    return following.regular_open


def session_date(moment: dt.datetime) -> dt.date:
    """The trading date a moment belongs to: the day itself on a trading day, else the next trading day."""
    moment = _aware(moment)
    day = moment.date()
    return day if is_trading_day(day) else next_trading_day(day)


def session_boundary(day: dt.date) -> dt.datetime:
    """When daily counters reset for trading date ``day``: 08:00 KST, before any order can be placed."""
    if not is_trading_day(day):
        raise ValueError(f"{day} is not a KRX trading day")
    return dt.datetime.combine(day, dt.time(8, 0), KST)


class MarketClock:
    """The clock the platform trades by: ``krx`` (the calendar above) or ``always`` (a simulated open session)."""

    def __init__(self, mode: str) -> None:
        if mode not in ("krx", "always"):
            raise ValueError(f"unknown market clock {mode!r}; use 'krx' or 'always'")
        self.mode = mode

    def phase_at(self, moment: dt.datetime) -> Phase:
        return Phase.CONTINUOUS if self.mode == "always" else phase_at(moment)

    def accepts_regular_orders(self, moment: dt.datetime) -> bool:
        _aware(moment)
        return True if self.mode == "always" else accepts_regular_orders(moment)

    def next_regular_open(self, moment: dt.datetime) -> dt.datetime:
        return _aware(moment) if self.mode == "always" else next_regular_open(moment)

    def session_date(self, moment: dt.datetime) -> dt.date:
        return _aware(moment).date() if self.mode == "always" else session_date(moment)
