"""KRX tick sizes and the ±30% band at every boundary of the table (krx-market-rules §2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiwoom_worker import market_rules as mr

# (last price of a bracket, its tick, first price of the next bracket, its tick)
STOCK_BOUNDARIES = [
    (1_999, 1, 2_000, 5),
    (4_995, 5, 5_000, 10),
    (19_990, 10, 20_000, 50),
    (49_950, 50, 50_000, 100),
    (199_900, 100, 200_000, 500),
    (499_500, 500, 500_000, 1_000),
]


@pytest.mark.parametrize(("below", "below_tick", "at", "at_tick"), STOCK_BOUNDARIES)
def test_stock_tick_changes_exactly_at_each_boundary(below: int, below_tick: int, at: int, at_tick: int) -> None:
    assert mr.tick_size(below) == below_tick
    assert mr.tick_size(at) == at_tick
    assert mr.is_on_tick(below) and mr.is_on_tick(at)
    assert not mr.is_on_tick(at + at_tick // 2) or at_tick == 1
    assert mr.step_price(below, 1) == at
    assert mr.step_price(at, -1) == below


def test_prices_just_off_the_grid_are_refused_and_their_neighbours_offered() -> None:
    assert not mr.is_on_tick(70_050)
    assert mr.nearest_valid_prices(70_050) == (70_000, 70_100)
    assert not mr.is_on_tick(2_001)
    assert mr.nearest_valid_prices(2_001) == (2_000, 2_005)
    assert mr.nearest_valid_prices(500_500) == (500_000, 501_000)
    assert not mr.is_on_tick(0)


def test_etfs_use_one_won_below_2000_and_five_won_above() -> None:
    assert mr.tick_size(1_999, "etf") == 1
    assert mr.tick_size(2_000, "etf") == 5
    assert mr.tick_size(600_000, "etf") == 5
    assert mr.is_on_tick(35_005, "etf")
    assert not mr.is_on_tick(35_005, "stock")


@pytest.mark.parametrize(
    ("base", "lower", "upper"),
    [
        (9_980, 6_990, 12_970),  # KRX's own worked example
        (2_015, 1_415, 2_615),  # where the floor/ceil shortcut gets the lower limit wrong
        (70_000, 49_000, 91_000),
        (1_000, 700, 1_300),
        (500_000, 350_000, 650_000),
        (200_000, 140_000, 260_000),
    ],
)
def test_price_band_follows_krx_rounding(base: int, lower: int, upper: int) -> None:
    band = mr.price_band(base)
    assert (band.lower, band.upper) == (lower, upper)
    assert band.contains(lower) and band.contains(upper)
    assert not band.contains(lower - 1) and not band.contains(upper + 1)


@given(st.integers(min_value=100, max_value=2_000_000))
def test_band_limits_are_always_on_the_grid_and_within_thirty_percent(base: int) -> None:
    base = mr.round_down_to_tick(base)
    band = mr.price_band(base)
    assert mr.is_on_tick(band.lower) and mr.is_on_tick(band.upper)
    assert band.lower >= base * 0.7 - 1e-9
    assert band.upper <= base * 1.3 + 1e-9


def test_sell_tax_follows_the_trade_date() -> None:
    import datetime as dt

    assert mr.sell_tax_bp(dt.date(2025, 6, 2), "KOSPI") == 15
    assert mr.sell_tax_bp(dt.date(2026, 3, 2), "KOSDAQ") == 20
    assert mr.sell_tax_bp(dt.date(2026, 3, 2), "KOSPI", "etf") == 0


def test_fees_per_profile() -> None:
    import datetime as dt

    day = dt.date(2026, 3, 2)
    assert mr.fees_for_fill(profile=mr.KIWOOM_MOCK, side="buy", price=70_000, quantity=10, trade_date=day, market="KOSPI") == (2_450, 0)
    assert mr.fees_for_fill(profile=mr.KIWOOM_REAL, side="sell", price=70_000, quantity=10, trade_date=day, market="KOSPI") == (105, 1_400)
