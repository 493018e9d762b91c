"""Market data writes: the symbol master from the worker, market status, latest prices from ticks."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from apps.marketdata.models import Symbol
from kiwoom_worker import market_rules
from kiwoom_worker.protocol import SYMBOL_RE

log = logging.getLogger(__name__)
KINDS = {choice for choice, _ in Symbol.Kind.choices}


def upsert_symbol_master(rows: list[dict[str, Any]]) -> int:
    """Insert or refresh listings; rows with a malformed code or a previous close off the tick grid are skipped."""
    symbols = []
    for row in rows:
        code, close, kind = str(row.get("code", "")), int(row.get("previous_close", 0)), str(row.get("kind", "stock"))
        if not SYMBOL_RE.match(code) or close <= 0 or kind not in KINDS:
            log.warning("symbol master row skipped: %s", row)
            continue
        if not market_rules.is_on_tick(close, kind):
            log.warning("symbol %s previous close %s is off the tick grid; skipped", code, close)
            continue
        symbols.append(
            Symbol(
                code=code,
                name=str(row.get("name", code))[:100],
                market=str(row.get("market", "KOSPI"))[:8],
                kind=kind,
                previous_close=close,
                kospi200=bool(row.get("kospi200")),
                suspended=row.get("suspended") is True,
            )
        )
    Symbol.objects.bulk_create(
        symbols,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "market", "kind", "previous_close", "kospi200", "suspended", "updated_at"],
    )
    return len(symbols)


def apply_symbol_info(rows: list[dict[str, Any]]) -> int:
    """The broker's 기준가 of today becomes the symbol's band base (previous_close).

    On an ex-rights or ex-dividend day the base is adjusted and the ±30% band moves with it; the
    master file's last price would leave the price checks on yesterday's band. Rows for unknown
    symbols, or with a base off the tick grid, are skipped. Limits that differ from the ones computed
    from the base are logged: the band rules would need a look.
    """
    wanted = {str(row.get("code", "")): row for row in rows if isinstance(row, dict)}
    changed = []
    for symbol in Symbol.objects.filter(code__in=[c for c in wanted if SYMBOL_RE.match(c)]):
        row = wanted[symbol.code]
        base = row.get("base_price")
        if type(base) is not int or base <= 0 or not market_rules.is_on_tick(base, symbol.kind):
            log.warning("symbol info for %s skipped: base price %r", symbol.code, base)
            continue
        band = market_rules.price_band(base, symbol.kind)
        if (row.get("lower_limit"), row.get("upper_limit")) != (band.lower, band.upper):
            log.warning("%s: the broker's limits %s–%s differ from %s–%s computed from 기준가 %s", symbol.code,
                        row.get("lower_limit"), row.get("upper_limit"), band.lower, band.upper, base)  # fmt: skip
        if symbol.previous_close != base:
            symbol.previous_close, symbol.updated_at = base, timezone.now()
            changed.append(symbol)
    Symbol.objects.bulk_update(changed, ["previous_close", "updated_at"])
    return len(changed)


def record_market_status(*, market: str, phase: str, at: str) -> None:
    cache.set(f"market_status:{market or 'ALL'}", {"phase": phase, "at": at}, timeout=None)
