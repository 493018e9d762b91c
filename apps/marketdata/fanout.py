"""Quotes to dashboards: rendered once per symbol per flush, sent to that symbol's group.

Each dashboard consumer joins the groups of the symbols it shows and keeps only the newest
fragment per symbol, so a slow client receives newer values instead of a growing queue.
"""

from __future__ import annotations

import logging
from typing import Any

from django.template.loader import render_to_string

from apps.marketdata.models import Symbol
from kiwoom_worker.protocol import Tick

log = logging.getLogger(__name__)


def quote_group(code: str) -> str:
    return f"quote.{code}"


def render_quotes(ticks: list[Tick]) -> dict[str, str]:
    names = dict(Symbol.objects.filter(pk__in=[t.symbol for t in ticks]).values_list("code", "name"))
    return {
        t.symbol: render_to_string(
            "marketdata/_quote.html", {"q": quote_context(t.symbol, names.get(t.symbol, ""), t.price, t.change, t.change_rate, t.cum_volume), "oob": True}
        )
        for t in ticks
    }


def quote_context(code: str, name: str, price: int, change: int, rate: float, volume: int) -> dict[str, Any]:
    # Korean convention: up is red and carries a +, down is blue.
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {"code": code, "name": name, "price": price, "change": change, "rate": rate, "volume": volume, "direction": direction}
