"""An account's profit and loss since the session start: realized and unrealized, marked to market.

Holdings from before the session are marked at the session's base price (the previous close, which
also anchors the ±30% band), so yesterday's gains are not today's. Per symbol:

    today = held_now × mark − held_at_start × base − bought_today + sold_today

and fees and taxes paid today come off the total. That is the realized plus the unrealized result
of the session; it needs no snapshot, so a server that was down at the boundary computes it the same.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Sum

from apps.accounts.models import BrokerAccount
from apps.marketdata.models import LatestPrice, Symbol
from apps.orders.models import Execution, Position
from apps.risk.sessions import SessionWindow, current_session


class PnlUnavailable(Exception):
    """The figure cannot be computed (an unknown symbol is held, the calendar does not cover the date)."""


@dataclass(frozen=True, slots=True)
class DayPnl:
    session: SessionWindow
    total: int  # negative is a loss
    realized: int  # what today's fills realised against cost (after fees and tax), for display
    positions_value: int  # Σ held × mark
    marks: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)

    @property
    def loss(self) -> int:
        return max(-self.total, 0)


def day_pnl(account: BrokerAccount, now: dt.datetime) -> DayPnl:
    try:
        window = current_session(now)
    except ValueError as exc:  # CalendarRangeError is a ValueError
        raise PnlUnavailable(str(exc)) from exc
    held = dict(Position.objects.filter(account=account).exclude(quantity=0).values_list("symbol", "quantity"))
    flows: dict[str, dict[str, int]] = defaultdict(lambda: {"buy_q": 0, "buy_v": 0, "sell_q": 0, "sell_v": 0})
    costs = realized = 0
    rows = (
        Execution.objects.filter(account=account, executed_at__gte=window.start, executed_at__lte=now)
        .values("symbol", "side")
        .annotate(q=Sum("quantity"), v=Sum(F("price") * F("quantity")), fee=Sum("fee"), tax=Sum("tax"), realized=Sum("realized_pnl"))
    )
    for row in rows:
        side = "buy" if row["side"] == "buy" else "sell"
        flows[row["symbol"]][f"{side}_q"] += row["q"]
        flows[row["symbol"]][f"{side}_v"] += row["v"]
        costs += row["fee"] + row["tax"]
        realized += row["realized"]
    symbols = set(held) | set(flows)
    bases = dict(Symbol.objects.filter(pk__in=symbols).values_list("code", "previous_close"))
    missing = symbols - set(bases)
    if missing:
        raise PnlUnavailable(f"no base price for {', '.join(sorted(missing))}")
    # A price from before this session is yesterday's; the base price is today's reference until a tick arrives.
    marks = {**bases, **dict(LatestPrice.objects.filter(symbol_id__in=symbols, timestamp__gte=window.start).values_list("symbol_id", "current_price"))}
    total = -costs
    value = 0
    for symbol in symbols:
        f = flows[symbol]
        now_q = held.get(symbol, 0)
        start_q = now_q - f["buy_q"] + f["sell_q"]
        total += now_q * marks[symbol] - start_q * bases[symbol] - f["buy_v"] + f["sell_v"]
        value += now_q * marks[symbol]
    return DayPnl(window, total, realized, value, {s: marks[s] for s in symbols}, held)
