"""Quote rows for dashboards: rendered once per symbol per delivery, only for symbols someone here follows."""

from __future__ import annotations

from html import escape
from typing import Any

from apps.marketdata.models import Symbol
from kiwoom_worker.protocol import Tick

# A quote as it travels between processes: price, change, change rate, cumulative volume.
Quote = tuple[int, int, float, int]

_names: dict[str, str] = {}


def learn_names(codes: set[str] | list[str]) -> None:
    """Cache symbol names (they change only with the symbol master), so rendering needs no query."""
    missing = [c for c in codes if c not in _names]
    if missing:
        _names.update(Symbol.objects.filter(pk__in=missing).values_list("code", "name"))


def quotes_of(ticks: list[Tick]) -> dict[str, Quote]:
    return {t.symbol: (t.price, t.change, t.change_rate, t.cum_volume) for t in ticks}


def render_quote(code: str, quote: Quote) -> str:
    price, change, rate, volume = quote
    return quote_html(quote_context(code, _names.get(code, ""), price, change, rate, volume), oob=True)


def quote_context(code: str, name: str, price: int, change: int, rate: float, volume: int) -> dict[str, Any]:
    # Korean convention: up is red and carries a +, down is blue.
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {"code": code, "name": name, "price": price, "change": change, "rate": rate, "volume": volume, "direction": direction}


def quote_html(q: dict[str, Any], *, oob: bool = False) -> str:
    """One watchlist row. Plain string formatting: it is rendered for every symbol many times a second.

    Thousands are grouped with "," as Korean locales do (f"{n:,}" rather than humanize's intcomma,
    which consults the locale machinery on every call).
    """
    d = q["direction"]
    arrow = "▲ +" if q["change"] > 0 else "▼ " if q["change"] < 0 else ""
    sign = "+" if q["rate"] > 0 else ""
    swap = ' hx-swap-oob="true"' if oob else ""
    return (
        f'<tr id="quote-{q["code"]}" class="{d}"{swap}><td>{q["code"]} <span class="muted">{escape(q["name"])}</span></td>'
        f'<td class="{d}">{q["price"]:,}</td><td class="{d}">{arrow}{q["change"]:,}</td>'
        f'<td class="{d}">{sign}{q["rate"]:.2f}%</td><td>{q["volume"]:,}</td></tr>'
    )
