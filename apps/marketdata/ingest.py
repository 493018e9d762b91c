"""Ticks in, latest prices and one-minute bars out: conflated in memory, written in bulk.

The user's first design wrote a row per tick; here a tick only updates memory, and a flush (a few
times a second) writes the newest price per symbol and the touched bars in two bulk statements.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.dateparse import parse_datetime

from apps.marketdata.models import LatestPrice, PriceBar, Symbol
from kiwoom_worker.protocol import Tick

log = logging.getLogger(__name__)
# Process-wide tick counters (accepted, dropped_malformed, dropped_unknown), shown by /healthz.
STATS: Counter[str] = Counter()


def price_row(tick: Tick, moment: dt.datetime) -> LatestPrice:
    return LatestPrice(
        symbol_id=tick.symbol,
        current_price=tick.price,
        change=tick.change,
        change_rate=Decimal(str(round(tick.change_rate, 2))),
        volume=tick.cum_volume,
        timestamp=moment,
    )


@dataclass(slots=True)
class Bar:
    start: dt.datetime
    open: int
    high: int
    low: int
    close: int
    volume: int


@dataclass
class TickIngest:
    """Per connection: what arrived since the last flush. Not thread-safe; one consumer owns it."""

    latest: dict[str, tuple[Tick, dt.datetime]] = field(default_factory=dict)
    bars: dict[tuple[str, dt.datetime], Bar] = field(default_factory=dict)
    fresh: dict[str, Tick] = field(default_factory=dict)  # newest per symbol since the last fan-out
    published: dict[str, float] = field(default_factory=dict)  # when each symbol last went out
    _moments: dict[str, dt.datetime | None] = field(default_factory=dict)

    def _moment(self, text: str) -> dt.datetime | None:
        # A frame's ticks mostly share a handful of timestamps; parsing each one again was the hot spot.
        moment = self._moments.get(text)
        if moment is None:
            if len(self._moments) > 10_000:
                self._moments.clear()
            moment = self._moments[text] = parse_datetime(text)
        return moment

    def add(self, tick: Tick) -> None:
        moment = self._moment(tick.time)
        if moment is None or moment.tzinfo is None:
            STATS["dropped_malformed"] += 1
            log.warning("tick for %s dropped: time %r is not ISO 8601 with an offset", tick.symbol, tick.time)
            return
        STATS["accepted"] += 1
        previous = self.latest.get(tick.symbol)
        if previous is None or moment >= previous[1]:
            self.latest[tick.symbol] = (tick, moment)
            self.fresh[tick.symbol] = tick
        start = moment.replace(second=0, microsecond=0)
        key = (tick.symbol, start)
        bar = self.bars.get(key)
        volume = abs(tick.volume)
        if bar is None:
            self.bars[key] = Bar(start, tick.price, tick.price, tick.price, tick.price, volume)
        else:
            bar.high, bar.low, bar.close = max(bar.high, tick.price), min(bar.low, tick.price), tick.price
            bar.volume += volume

    def take_fresh(self, *, min_interval_s: float = 0.0) -> list[Tick]:
        """The newest tick of each symbol that has not been fanned out within ``min_interval_s``.

        A symbol that is not due yet keeps its newest tick for a later call, so what goes out is
        always the newest value and each symbol is published at most once per interval.
        """
        now = time.monotonic()
        due = [code for code in self.fresh if now - self.published.get(code, 0.0) >= min_interval_s]
        for code in due:
            self.published[code] = now
        return [self.fresh.pop(code) for code in due]

    def take(self) -> tuple[list[Tick], dict[tuple[str, dt.datetime], Bar]]:
        latest = [tick for tick, _ in self.latest.values()]
        bars, self.latest, self.bars = self.bars, {}, {}
        return latest, bars


def flush(latest: list[Tick], bars: dict[tuple[str, dt.datetime], Bar]) -> list[Tick]:
    """Write latest prices and merge bars into stored ones; returns the newest tick of each known symbol."""
    codes = {t.symbol for t in latest} | {code for code, _ in bars}
    known = set(Symbol.objects.filter(pk__in=codes).values_list("pk", flat=True))
    unknown = codes - known
    if unknown:
        STATS["dropped_unknown"] += sum(1 for t in latest if t.symbol in unknown)
        log.warning("ticks for unknown symbols dropped: %s", ", ".join(sorted(unknown)[:20]))
    kept = [t for t in latest if t.symbol in known]
    rows = [price_row(t, parse_datetime(t.time)) for t in kept]  # type: ignore[arg-type]
    with transaction.atomic():
        if rows:
            LatestPrice.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["symbol"], update_fields=["current_price", "change", "change_rate", "volume", "timestamp"]
            )
        _merge_bars({k: b for k, b in bars.items() if k[0] in known})
    return kept


def _merge_bars(bars: dict[tuple[str, dt.datetime], Bar]) -> None:
    if not bars:
        return
    # A bar can span flushes (and reconnects): merge with what is stored rather than overwrite it.
    starts = {start for _, start in bars}
    stored = {(b.symbol_id, b.start): b for b in PriceBar.objects.filter(symbol_id__in={c for c, _ in bars}, start__in=starts)}
    rows = []
    for (code, start), bar in bars.items():
        old = stored.get((code, start))
        if old is not None:
            bar = Bar(start, old.open, max(old.high, bar.high), min(old.low, bar.low), bar.close, old.volume + bar.volume)
        rows.append(PriceBar(symbol_id=code, start=start, open=bar.open, high=bar.high, low=bar.low, close=bar.close, volume=bar.volume))
    PriceBar.objects.bulk_create(rows, update_conflicts=True, unique_fields=["symbol", "start"], update_fields=["open", "high", "low", "close", "volume"])
