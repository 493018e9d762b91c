"""Market data writes: the symbol master from the worker, market status, latest prices from ticks."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

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


def record_market_status(*, market: str, phase: str, at: str) -> None:
    cache.set(f"market_status:{market or 'ALL'}", {"phase": phase, "at": at}, timeout=None)
