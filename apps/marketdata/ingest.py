"""Ticks in, latest prices and one-minute bars out: conflated in memory, written in bulk.

The user's first design wrote a row per tick; here a tick only updates memory, and a flush (a few
times a second) writes the newest price per symbol and the touched bars in two bulk statements.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils.dateparse import parse_datetime

from apps.marketdata.models import Symbol
from kiwoom_worker.protocol import Tick

log = logging.getLogger(__name__)
# Process-wide tick counters (accepted, dropped_malformed, dropped_unknown), shown by /healthz.
STATS: Counter[str] = Counter()
SLOT_TOLERANCE = 0.1  # of a symbol's fan-out interval


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
    fresh: dict[str, Tick] = field(default_factory=dict)  # newest per symbol not yet fanned out
    next_ok: dict[str, float] = field(default_factory=dict)  # when each symbol may go out again
    _arrived: list[str] = field(default_factory=list)  # symbols that became fresh since the last take_due
    _waiting: list[tuple[float, str]] = field(default_factory=list)  # heap of (next_ok, code) of fresh symbols held back
    _moments: dict[str, tuple[dt.datetime, dt.datetime] | None] = field(default_factory=dict)

    def _moment(self, text: str) -> tuple[dt.datetime, dt.datetime] | None:
        # A frame's ticks mostly share a handful of timestamps; parsing each one again was the hot spot.
        try:
            return self._moments[text]
        except KeyError:
            pass
        if len(self._moments) > 10_000:
            self._moments.clear()
        moment = parse_datetime(text)
        entry = None if moment is None or moment.tzinfo is None else (moment, moment.replace(second=0, microsecond=0))
        self._moments[text] = entry
        return entry

    def add(self, tick: Tick) -> None:
        entry = self._moment(tick.time)
        if entry is None:
            STATS["dropped_malformed"] += 1
            log.warning("tick for %s dropped: time %r is not ISO 8601 with an offset", tick.symbol, tick.time)
            return
        moment, start = entry
        STATS["accepted"] += 1
        code, price = tick.symbol, tick.price
        previous = self.latest.get(code)
        if previous is None or moment >= previous[1]:
            self.latest[code] = (tick, moment)
            if code not in self.fresh:
                self._arrived.append(code)
            self.fresh[code] = tick
        key = (code, start)
        bar = self.bars.get(key)
        volume = abs(tick.volume)
        if bar is None:
            self.bars[key] = Bar(start, price, price, price, price, volume)
        else:
            if price > bar.high:
                bar.high = price
            elif price < bar.low:
                bar.low = price
            bar.close = price
            bar.volume += volume

    def take_due(self, now: float, interval_s: float) -> tuple[list[Tick], float | None]:
        """The newest tick of each symbol whose slot is open, and when the next held-back slot opens.

        Each symbol has a slot every ``interval_s``. A tick arriving in an open slot goes at once; one
        arriving earlier waits for the slot, replaced by newer ticks meanwhile, so what goes out is
        always the newest value. Slots sit on a grid (the next one opens ``interval_s`` after the one
        just used, not after the moment it was used), so the event loop's lateness does not accumulate
        into the age of every later quote; a tolerance of a tenth of the interval lets a tick that
        arrives just before its slot go at once. The caller wakes at the returned time rather than on a
        polling cycle, because every millisecond a held symbol waits past its slot ages what it shows.
        """
        tolerance = interval_s * SLOT_TOLERANCE
        due: list[str] = []
        for code in self._arrived:
            ok = self.next_ok.get(code, 0.0)
            if ok - tolerance <= now:
                due.append(code)
            else:
                heapq.heappush(self._waiting, (ok, code))
        self._arrived.clear()
        waiting = self._waiting
        while waiting and waiting[0][0] <= now:
            due.append(heapq.heappop(waiting)[1])
        out = []
        for code in due:
            # Never sooner than interval - tolerance after this one, and N per second on average.
            self.next_ok[code] = max(self.next_ok.get(code, 0.0) + interval_s, now + interval_s - tolerance)
            out.append(self.fresh.pop(code))
        return out, (waiting[0][0] if waiting else None)

    def take(self) -> tuple[list[Tick], dict[tuple[str, dt.datetime], Bar]]:
        latest = [tick for tick, _ in self.latest.values()]
        bars, self.latest, self.bars = self.bars, {}, {}
        return latest, bars


def flush(latest: list[Tick], bars: dict[tuple[str, dt.datetime], Bar]) -> list[Tick]:
    """Write latest prices and merge bars into stored ones; returns the newest tick of each known symbol."""
    codes = {t.symbol for t in latest} | {code for code, _ in bars}
    try:
        return _write(latest, bars, _known(codes))
    except IntegrityError:
        # A symbol remembered as known was removed from the master meanwhile: look everything up again.
        _known_cache.clear()
        return _write(latest, bars, _known(codes))


_known_cache: dict[str, float] = {}
KNOWN_TTL_S = 60.0


def _known(codes: set[str]) -> set[str]:
    """Codes in the symbol master. Remembered for a minute: asking on every flush cost a query per flush."""
    now = time.monotonic()
    missing = {c for c in codes if now - _known_cache.get(c, -KNOWN_TTL_S) >= KNOWN_TTL_S}
    if missing:
        for code in Symbol.objects.filter(pk__in=missing).values_list("pk", flat=True):
            _known_cache[code] = now
    return {c for c in codes if c in _known_cache and now - _known_cache[c] < KNOWN_TTL_S}


def _write(latest: list[Tick], bars: dict[tuple[str, dt.datetime], Bar], known: set[str]) -> list[Tick]:
    unknown = ({t.symbol for t in latest} | {code for code, _ in bars}) - known
    if unknown:
        STATS["dropped_unknown"] += sum(1 for t in latest if t.symbol in unknown)
        log.warning("ticks for unknown symbols dropped: %s", ", ".join(sorted(unknown)[:20]))
    kept = [t for t in latest if t.symbol in known]
    with transaction.atomic():
        _upsert_prices(kept)
        _merge_bars({k: b for k, b in bars.items() if k[0] in known})
    return kept


# Plain SQL rather than bulk_create: at a whole market's rate the ORM's per-row model instances were most
# of a flush, and merging bars in the statement itself saves reading the stored bars first.
_PRICES_SQL = (
    'INSERT INTO real_time_prices ("stock_code", "current_price", "change", "change_rate", "volume", "timestamp") VALUES {rows} '
    'ON CONFLICT ("stock_code") DO UPDATE SET "current_price" = excluded."current_price", "change" = excluded."change", '
    '"change_rate" = excluded."change_rate", "volume" = excluded."volume", "timestamp" = excluded."timestamp"'
)
# A bar can span flushes (and reconnects): the stored open stays, high/low/volume accumulate, close is the newest.
_BARS_SQL = (
    'INSERT INTO price_bars ("symbol_id", "start", "open", "high", "low", "close", "volume") VALUES {rows} '
    'ON CONFLICT ("symbol_id", "start") DO UPDATE SET "high" = {greatest}(price_bars."high", excluded."high"), '
    '"low" = {least}(price_bars."low", excluded."low"), "close" = excluded."close", "volume" = price_bars."volume" + excluded."volume"'
)
CHUNK = 500


def _upsert_prices(ticks: list[Tick]) -> None:
    ops = connection.ops
    rows = [
        (
            t.symbol,
            t.price,
            t.change,
            ops.adapt_decimalfield_value(Decimal(str(round(t.change_rate, 2))), 7, 2),
            t.cum_volume,
            ops.adapt_datetimefield_value(parse_datetime(t.time)),
        )
        for t in ticks
    ]
    _execute_chunks(_PRICES_SQL, rows, 6)


def _merge_bars(bars: dict[tuple[str, dt.datetime], Bar]) -> None:
    ops = connection.ops
    rows = [(code, ops.adapt_datetimefield_value(start), b.open, b.high, b.low, b.close, b.volume) for (code, start), b in bars.items()]
    greatest, least = ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")
    _execute_chunks(_BARS_SQL.replace("{greatest}", greatest).replace("{least}", least), rows, 7)


def _execute_chunks(sql: str, rows: list[tuple[object, ...]], width: int) -> None:
    placeholder = "(" + ", ".join(["%s"] * width) + ")"
    with connection.cursor() as cursor:
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            cursor.execute(sql.replace("{rows}", ", ".join([placeholder] * len(chunk))), [v for row in chunk for v in row])
