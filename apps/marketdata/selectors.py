"""Market reads: symbol facts for the checks and the session clock."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.conf import settings
from django.db.models import Q, QuerySet

from apps.marketdata.krx_calendar import MarketClock
from apps.marketdata.models import LatestPrice, Symbol
from apps.risk.pretrade import SymbolFacts
from kiwoom_worker import market_rules


def symbol_facts(code: str) -> SymbolFacts | None:
    row = Symbol.objects.filter(pk=code).values("kind", "previous_close", "is_tradable", "suspended").first()
    return SymbolFacts(**row) if row else None


@lru_cache(maxsize=4)
def _clock(mode: str) -> MarketClock:
    return MarketClock(mode)


def market_clock() -> MarketClock:
    return _clock(settings.MARKET_HOURS)


def symbols() -> QuerySet[Symbol]:
    return Symbol.objects.filter(is_tradable=True).order_by("code")


def latest_prices(codes: list[str]) -> dict[str, LatestPrice]:
    return {p.symbol_id: p for p in LatestPrice.objects.filter(symbol_id__in=codes)}


def symbol_quotes(*, query: str = "", limit: int = 50) -> list[dict[str, object]]:
    """Symbols matching a code prefix or a name fragment, with today's band and last price."""
    qs = symbols()
    if query:
        qs = qs.filter(Q(code__startswith=query.upper()) | Q(name__icontains=query))
    rows = list(qs[:limit])
    prices = latest_prices([s.code for s in rows])
    out = []
    for s in rows:
        band = market_rules.price_band(s.previous_close, s.kind)
        price = prices.get(s.code)
        out.append(
            {
                "code": s.code,
                "name": s.name,
                "market": s.market,
                "kind": s.kind,
                "previous_close": s.previous_close,
                "lower_limit": band.lower,
                "upper_limit": band.upper,
                "last_price": price.current_price if price else None,
                "suspended": s.suspended,
            }
        )
    return out


def watchlist_quotes(user_id: int) -> list[dict[str, object]]:
    """The user's watched symbols with their latest price, in the order they were added."""
    from apps.marketdata.fanout import quote_context
    from apps.marketdata.models import Watch

    watches = list(Watch.objects.filter(user_id=user_id).select_related("symbol"))
    prices = latest_prices([w.symbol_id for w in watches])
    out = []
    for w in watches:
        p = prices.get(w.symbol_id)
        if p is None:
            out.append(quote_context(w.symbol_id, w.symbol.name, w.symbol.previous_close, 0, 0.0, 0))
        else:
            out.append(quote_context(w.symbol_id, w.symbol.name, p.current_price, p.change, float(p.change_rate), p.volume))
    return out


def bars(*, symbol: str, start: dt.datetime, end: dt.datetime, limit: int = 2000) -> list[dict[str, object]]:
    from apps.marketdata.models import PriceBar

    rows = PriceBar.objects.filter(symbol_id=symbol, start__gte=start, start__lt=end).order_by("start")[:limit]
    return [{"t": b.start, "o": b.open, "h": b.high, "l": b.low, "c": b.close, "v": b.volume} for b in rows]


def market_status(market: str = "ALL") -> dict[str, str] | None:
    """The last market-state event the worker reported (장시작시간: opening, closing, VI), for the risk checks."""
    from django.core.cache import cache

    return cache.get(f"market_status:{market or 'ALL'}")
