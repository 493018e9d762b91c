"""What a trader's dashboard shows, computed in one place for the page, the HTMX views and the live socket."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils import timezone

from apps.accounts.models import BrokerAccount, User
from apps.marketdata import selectors as market
from apps.orders import selectors
from apps.orders.models import Execution, Order, Position

RECENT = 20


@dataclass
class PositionRow:
    position: Position
    name: str
    last_price: int | None
    market_value: int
    unrealized: int
    change: int  # the symbol's move versus the previous close: the Korean colours follow its sign


@dataclass
class Snapshot:
    account: BrokerAccount | None
    accounts: list[BrokerAccount]
    open_orders: list[Order] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    positions: list[PositionRow] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    equity: int = 0
    unrealized: int = 0
    realized_today: int = 0


def account_for(user: User, account_id: int | str | None) -> BrokerAccount | None:
    accounts = selectors.accounts_of(user)
    if account_id not in (None, ""):
        try:
            return accounts.filter(pk=int(account_id)).first()
        except (TypeError, ValueError):
            return None
    return accounts.first()


def snapshot(user: User, account: BrokerAccount | None) -> Snapshot:
    accounts = list(selectors.accounts_of(user))
    snap = Snapshot(account=account, accounts=accounts)
    if account is None:
        return snap
    snap.open_orders = list(selectors.open_orders_of(user, account_id=account.pk)[:50])
    snap.orders = list(selectors.orders_of(user, account_id=account.pk)[:RECENT])
    snap.executions = list(selectors.executions_of(user, account_id=account.pk)[:RECENT])
    positions = list(selectors.positions_of(user, account_id=account.pk))
    codes = [p.symbol for p in positions]
    prices = market.latest_prices(codes)
    names = dict(market.symbols().filter(code__in=codes).values_list("code", "name"))
    value = 0
    for p in positions:
        quote = prices.get(p.symbol)
        last = quote.current_price if quote else None
        mark = last if last is not None else int(p.average_price or 0)
        unrealized = mark * p.quantity - p.cost_basis
        snap.positions.append(PositionRow(p, names.get(p.symbol, ""), last, mark * p.quantity, unrealized, quote.change if quote else 0))
        value += mark * p.quantity
        snap.unrealized += unrealized
    snap.equity = account.cash + value
    today = timezone.localdate()
    snap.realized_today = Execution.objects.filter(account=account, trade_date=today).aggregate(total=Sum("realized_pnl"))["total"] or 0
    return snap
