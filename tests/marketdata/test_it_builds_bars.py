"""Ticks become the latest price and one-minute bars, merged across flushes; the API serves them."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.marketdata import ingest
from apps.marketdata.models import LatestPrice, PriceBar
from kiwoom_worker.protocol import Tick

pytestmark = pytest.mark.django_db
KST = dt.timezone(dt.timedelta(hours=9))


def tick(at: str, price: int, volume: int = 10, code: str = "005930") -> Tick:
    return Tick(code, price, price - 70_000, round((price - 70_000) / 700, 2), volume, 0, f"2026-11-23T{at}+09:00")


def test_bars_from_a_known_sequence_with_the_open_and_an_empty_minute(symbols) -> None:
    feed = ingest.TickIngest()
    for t in [tick("09:00:00", 70_100), tick("09:00:30", 70_500, -5), tick("09:00:59", 69_900), tick("09:02:10", 70_200, 7)]:
        feed.add(t)
    ingest.flush(*feed.take())
    # A later flush in the same minute merges into the stored bar instead of overwriting it.
    feed.add(tick("09:02:40", 70_800, 3))
    feed.add(tick("09:02:50", 70_300, 1))
    ingest.flush(*feed.take())
    bars = {b.start.astimezone(KST).strftime("%H:%M"): (b.open, b.high, b.low, b.close, b.volume) for b in PriceBar.objects.filter(symbol_id="005930")}
    assert bars == {"09:00": (70_100, 70_500, 69_900, 69_900, 25), "09:02": (70_200, 70_800, 70_200, 70_300, 11)}  # no 09:01 bar: nothing traded
    latest = LatestPrice.objects.get(symbol_id="005930")
    assert latest.current_price == 70_300


def test_unknown_and_malformed_ticks_are_counted_and_dropped(symbols) -> None:
    before = dict(ingest.STATS)
    feed = ingest.TickIngest()
    feed.add(tick("09:00:00", 70_000, code="999999"))
    feed.add(Tick("005930", 70_000, 0, 0.0, 1, 0, "yesterday"))
    kept = ingest.flush(*feed.take())
    assert kept == []
    assert ingest.STATS["dropped_unknown"] == before.get("dropped_unknown", 0) + 1
    assert ingest.STATS["dropped_malformed"] == before.get("dropped_malformed", 0) + 1
    assert not LatestPrice.objects.exists()


def test_the_bars_api(symbols, paper_trader) -> None:
    feed = ingest.TickIngest()
    feed.add(tick("09:00:00", 70_100))
    ingest.flush(*feed.take())
    client = APIClient()
    client.force_authenticate(paper_trader.user)
    ok = client.get("/api/bars", {"symbol": "005930", "interval": "1m", "from": "2026-11-23T08:00:00+09:00", "to": "2026-11-23T16:00:00+09:00"})
    assert ok.status_code == 200
    assert [(b["o"], b["c"], b["v"]) for b in ok.json()] == [(70_100, 70_100, 10)]
    assert client.get("/api/bars", {"symbol": "0593"}).status_code == 400
    assert client.get("/api/bars", {"symbol": "005930", "interval": "5m"}).status_code == 400
    assert client.get("/api/bars", {"symbol": "005930", "from": "2026-11-23T09:00:00"}).status_code == 400


def test_market_state_events_are_readable_by_the_checks() -> None:
    from apps.marketdata import selectors, services

    services.record_market_status(market="KOSPI", phase="3", at="2026-11-23T09:00:00+09:00")
    assert selectors.market_status("KOSPI") == {"phase": "3", "at": "2026-11-23T09:00:00+09:00"}
