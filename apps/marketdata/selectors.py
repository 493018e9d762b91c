"""Market reads: symbol facts for the checks and the session clock."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.db.models import Q, QuerySet

from apps.marketdata.krx_calendar import MarketClock
from apps.marketdata.models import LatestPrice, Symbol
from apps.risk.pretrade import SymbolFacts
from kiwoom_worker import market_rules


def symbol_facts(code: str) -> SymbolFacts | None:
    row = Symbol.objects.filter(pk=code).values("kind", "previous_close", "is_tradable").first()
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
            }
        )
    return out
