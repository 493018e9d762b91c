"""Quote rows for dashboards: rendered once per symbol per fan-out cycle, for every dashboard that shows it."""

from __future__ import annotations

from html import escape
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma

from apps.marketdata.models import Symbol
from kiwoom_worker.protocol import Tick

_names: dict[str, str] = {}


def knows(code: str) -> bool:
    return code in _names


def learn_names(codes: list[str]) -> None:
    """Cache symbol names (they change only with the symbol master), so rendering needs no query."""
    missing = [c for c in codes if c not in _names]
    if missing:
        _names.update(Symbol.objects.filter(pk__in=missing).values_list("code", "name"))


def render_quotes(ticks: list[Tick]) -> dict[str, str]:
    """One fragment per known symbol, rendered once for every dashboard that shows it."""
    return {
        t.symbol: quote_html(quote_context(t.symbol, _names[t.symbol], t.price, t.change, t.change_rate, t.cum_volume), oob=True)
        for t in ticks
        if t.symbol in _names
    }


def quote_context(code: str, name: str, price: int, change: int, rate: float, volume: int) -> dict[str, Any]:
    # Korean convention: up is red and carries a +, down is blue.
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {"code": code, "name": name, "price": price, "change": change, "rate": rate, "volume": volume, "direction": direction}


def quote_html(q: dict[str, Any], *, oob: bool = False) -> str:
    """One watchlist row. Plain string formatting: it is rendered for every symbol many times a second."""
    d = q["direction"]
    arrow = "▲ +" if q["change"] > 0 else "▼ " if q["change"] < 0 else ""
    sign = "+" if q["rate"] > 0 else ""
    swap = ' hx-swap-oob="true"' if oob else ""
    return (
        f'<tr id="quote-{q["code"]}" class="{d}"{swap}><td>{q["code"]} <span class="muted">{escape(q["name"])}</span></td>'
        f'<td class="{d}">{intcomma(q["price"])}</td><td class="{d}">{arrow}{intcomma(q["change"])}</td>'
        f'<td class="{d}">{sign}{q["rate"]:.2f}%</td><td>{intcomma(q["volume"])}</td></tr>'
    )
