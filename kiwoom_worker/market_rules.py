"""KRX price rules: tick sizes, the daily price band, fees and the securities transaction tax.

One module for the risk checks, the sim exchange and the order ticket alike, and pure standard
library so the worker can import it. The rules change by date, so each table is versioned by the
date it took effect (krx-market-rules reference, sections 2 and 4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

# Stock tick table in force since 2023-01-25 (KOSPI, KOSDAQ and KONEX alike): (lower bound, tick).
STOCK_TICKS: tuple[tuple[int, int], ...] = (
    (500_000, 1_000),
    (200_000, 500),
    (50_000, 100),
    (20_000, 50),
    (5_000, 10),
    (2_000, 5),
    (0, 1),
)
# ETF/ETN ticks since 2023-12-18: 1 won below 2,000 and 5 won from 2,000 up.
FUND_TICKS: tuple[tuple[int, int], ...] = ((2_000, 5), (0, 1))
FUND_KINDS = frozenset({"etf", "etn"})
PRICE_LIMIT_RATE_PCT = 30  # ±30% of the base price since 2015-06-15


def tick_size(price: int, kind: str = "stock") -> int:
    """The tick at ``price``; the table is chosen by instrument kind."""
    table = FUND_TICKS if kind in FUND_KINDS else STOCK_TICKS
    for lower, tick in table:
        if price >= lower:
            return tick
    raise ValueError(f"price must be positive, got {price}")


def is_on_tick(price: int, kind: str = "stock") -> bool:
    return price > 0 and price % tick_size(price, kind) == 0


def round_down_to_tick(price: int, kind: str = "stock") -> int:
    return price - price % tick_size(price, kind)


def round_up_to_tick(price: int, kind: str = "stock") -> int:
    down = round_down_to_tick(price, kind)
    return down if down == price else down + tick_size(down, kind)


def nearest_valid_prices(price: int, kind: str = "stock") -> tuple[int, int]:
    """The valid prices just below and above ``price`` (the same value twice if it is valid)."""
    return round_down_to_tick(price, kind), round_up_to_tick(price, kind)


def step_price(price: int, ticks: int, kind: str = "stock") -> int:
    """Move ``ticks`` ticks up (positive) or down from a valid price, respecting tick-size boundaries."""
    for _ in range(abs(ticks)):
        if ticks > 0:
            price += tick_size(price, kind)
        else:
            below = price - 1
            price = round_down_to_tick(below, kind) if below > 0 else price
    return price


@dataclass(frozen=True, slots=True)
class PriceBand:
    lower: int
    upper: int

    def contains(self, price: int) -> bool:
        return self.lower <= price <= self.upper


def price_band(base: int, kind: str = "stock", rate_pct: int = PRICE_LIMIT_RATE_PCT) -> PriceBand:
    """KRX's own rounding: width truncated to the tick at the base, each limit truncated at its own level.

    Example from KRX: base 9,980 gives width 2,994 -> 2,990, so 6,990 to 12,970.
    """
    if base <= 0:
        raise ValueError(f"base price must be positive, got {base}")
    width = base * rate_pct // 100
    width -= width % tick_size(base, kind)
    return PriceBand(lower=round_down_to_tick(base - width, kind), upper=round_down_to_tick(base + width, kind))


# Securities transaction tax on sells, by trade date (settlement T+2 decides the year), in basis points.
# (first trade date, KOSPI, KOSDAQ, KONEX)
_TAX_BP: tuple[tuple[dt.date, int, int, int], ...] = (
    (dt.date(2025, 12, 29), 20, 20, 10),
    (dt.date(2024, 12, 27), 15, 15, 10),
    (dt.date(2023, 12, 27), 18, 18, 10),
    (dt.date(2022, 12, 28), 20, 20, 10),
)


def sell_tax_bp(trade_date: dt.date, market: str, kind: str = "stock") -> int:
    if kind in FUND_KINDS:
        return 0  # ETFs and ETNs pay no securities transaction tax
    for start, kospi, kosdaq, konex in _TAX_BP:
        if trade_date >= start:
            return {"KOSPI": kospi, "KOSDAQ": kosdaq, "KONEX": konex}.get(market, kospi)
    return _TAX_BP[-1][1]


@dataclass(frozen=True, slots=True)
class FeeProfile:
    """Commission per side in hundredths of a basis point, and whether sells pay the tax."""

    name: str
    commission_ppm: int  # parts per million of the traded value
    charges_tax: bool


KIWOOM_REAL = FeeProfile("kiwoom_real", commission_ppm=150, charges_tax=True)  # 0.015% per side + sell tax
KIWOOM_MOCK = FeeProfile("kiwoom_mock", commission_ppm=3500, charges_tax=False)  # 0.35% per side, no tax
FEE_PROFILES = {p.name: p for p in (KIWOOM_REAL, KIWOOM_MOCK)}


def fees_for_fill(*, profile: FeeProfile, side: str, price: int, quantity: int, trade_date: dt.date, market: str, kind: str = "stock") -> tuple[int, int]:
    """(commission, tax) in whole won for one execution; both truncated, as brokers do per fill."""
    value = Decimal(price * quantity)
    commission = int((value * profile.commission_ppm / 1_000_000).to_integral_value(ROUND_DOWN))
    tax = 0
    if side == "sell" and profile.charges_tax:
        tax = int((value * sell_tax_bp(trade_date, market, kind) / 10_000).to_integral_value(ROUND_DOWN))
    return commission, tax
