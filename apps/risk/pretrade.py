"""Pre-trade checks that run inside the order service for every order, from every entry point.

Cheap checks first; the first failure denies the order with a stable code and a message the trader
understands. The full risk engine (limits, trading states, daily loss) extends this list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from kiwoom_worker import market_rules
from kiwoom_worker.protocol import SYMBOL_RE

if TYPE_CHECKING:
    from apps.accounts.models import BrokerAccount, User


class DenyCode(models.TextChoices):
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID_SYMBOL = "INVALID_SYMBOL"
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    SYMBOL_NOT_TRADABLE = "SYMBOL_NOT_TRADABLE"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    PRICE_REQUIRED = "PRICE_REQUIRED"
    PRICE_NOT_ALLOWED = "PRICE_NOT_ALLOWED"
    PRICE_OFF_TICK = "PRICE_OFF_TICK"
    PRICE_OUTSIDE_BAND = "PRICE_OUTSIDE_BAND"
    MARKET_CLOSED = "MARKET_CLOSED"
    ORDER_UNRESOLVED = "ORDER_UNRESOLVED"


@dataclass(frozen=True, slots=True)
class Denial:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the checks need to know about an order, independent of where it came from."""

    user_level_allows_mode: bool
    mode: str
    symbol: str
    side: str
    quantity: int
    order_type: str
    price: int | None


@dataclass(frozen=True, slots=True)
class SymbolFacts:
    kind: str
    previous_close: int
    is_tradable: bool


def check_static(req: OrderRequest) -> Denial | None:
    """Checks that need no database: permission for the mode, symbol format, quantity, price presence."""
    if not req.user_level_allows_mode:
        mode = _("실전투자") if req.mode == "real" else _("모의투자")
        return Denial(DenyCode.PERMISSION_DENIED, _("%(mode)s 주문 권한이 없습니다.") % {"mode": mode})
    if not SYMBOL_RE.match(req.symbol):
        return Denial(DenyCode.INVALID_SYMBOL, _("종목코드는 영문 대문자와 숫자 6자리입니다 (예: 005930)."))
    if req.quantity <= 0:
        return Denial(DenyCode.INVALID_QUANTITY, _("수량은 1주 이상이어야 합니다."))
    if req.order_type == "limit" and not req.price:
        return Denial(DenyCode.PRICE_REQUIRED, _("지정가 주문에는 가격이 필요합니다."))
    if req.order_type == "market" and req.price:
        return Denial(DenyCode.PRICE_NOT_ALLOWED, _("시장가 주문에는 가격을 입력하지 않습니다."))
    return None


def check_symbol_and_price(req: OrderRequest, facts: SymbolFacts | None) -> Denial | None:
    """Symbol known and tradable; a limit price on the KRX tick grid and inside the daily ±30% band."""
    if facts is None:
        return Denial(DenyCode.UNKNOWN_SYMBOL, _("%(symbol)s 종목을 찾을 수 없습니다.") % {"symbol": req.symbol})
    if not facts.is_tradable:
        return Denial(DenyCode.SYMBOL_NOT_TRADABLE, _("%(symbol)s 종목은 현재 거래할 수 없습니다.") % {"symbol": req.symbol})
    if req.order_type == "limit" and req.price is not None:
        if not market_rules.is_on_tick(req.price, facts.kind):
            below, above = market_rules.nearest_valid_prices(req.price, facts.kind)
            return Denial(
                DenyCode.PRICE_OFF_TICK,
                _("%(price)s원은 호가단위에 맞지 않습니다. 가까운 가격: %(below)s원 또는 %(above)s원.")
                % {"price": f"{req.price:,}", "below": f"{below:,}", "above": f"{above:,}"},
            )
        band = market_rules.price_band(facts.previous_close, facts.kind)
        if not band.contains(req.price):
            return Denial(
                DenyCode.PRICE_OUTSIDE_BAND,
                _("가격제한폭(%(lower)s원 ~ %(upper)s원)을 벗어났습니다.") % {"lower": f"{band.lower:,}", "upper": f"{band.upper:,}"},
            )
    return None


def check_order(*, account: BrokerAccount, user: User, symbol: str, side: str, quantity: int, order_type: str, price: int | None, origin: str) -> Denial | None:
    """Every pre-trade check for one order, cheap first; called by the order service for every entry point."""
    from apps.marketdata import selectors as market
    from apps.orders.models import Order, OrderStatus

    request = OrderRequest(
        user_level_allows_mode=user.can_trade(account.mode),
        mode=account.mode,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        price=price,
    )
    denial = check_static(request) or check_symbol_and_price(request, market.symbol_facts(symbol))
    if denial is not None:
        return denial
    if Order.objects.filter(account=account, symbol=symbol, status=OrderStatus.UNKNOWN).exists():
        return unresolved_denial(symbol)
    clock = market.market_clock()
    now = timezone.now()
    if not clock.accepts_regular_orders(now) and settings.OUTSIDE_HOURS_POLICY == "deny":
        return market_closed_denial(clock.next_regular_open(now))
    return None


def market_closed_denial(next_open: dt.datetime) -> Denial:
    return Denial(DenyCode.MARKET_CLOSED, _("장 운영시간이 아닙니다. 다음 정규장 주문 접수: %(at)s") % {"at": f"{next_open:%Y-%m-%d %H:%M} KST"})


def unresolved_denial(symbol: str) -> Denial:
    return Denial(
        DenyCode.ORDER_UNRESOLVED,
        _("%(symbol)s에 상태 확인이 필요한 주문이 있어 대사(reconciliation)가 끝날 때까지 신규 주문이 막혀 있습니다.") % {"symbol": symbol},
    )
