"""Pre-trade checks that run inside the order service for every order, from every entry point.

Cheap checks first; the first failure denies the order with a stable code (docs/risk.md lists them)
and a message the trader understands. ``check_order`` is the one entry point; the checks that need
the database live in apps/risk/checks.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _

from kiwoom_worker import market_rules
from kiwoom_worker.protocol import SYMBOL_RE

if TYPE_CHECKING:
    from apps.accounts.models import BrokerAccount, User
    from apps.orders.models import Order

log = logging.getLogger(__name__)


class DenyCode(TextChoices):
    # Who and where
    PERMISSION_DENIED = "PERMISSION_DENIED"
    SECOND_FACTOR_REQUIRED = "SECOND_FACTOR_REQUIRED"
    MODE_MISMATCH = "MODE_MISMATCH"
    # Trading state and locks
    TRADING_EMERGENCY = "TRADING_EMERGENCY"
    TRADING_HALTED = "TRADING_HALTED"
    TRADING_REDUCING = "TRADING_REDUCING"
    TRADING_LOCKED = "TRADING_LOCKED"
    EMERGENCY_ORDER_INVALID = "EMERGENCY_ORDER_INVALID"
    # The order itself
    INVALID_SYMBOL = "INVALID_SYMBOL"
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    SYMBOL_NOT_TRADABLE = "SYMBOL_NOT_TRADABLE"
    SYMBOL_SUSPENDED = "SYMBOL_SUSPENDED"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    PRICE_REQUIRED = "PRICE_REQUIRED"
    PRICE_NOT_ALLOWED = "PRICE_NOT_ALLOWED"
    PRICE_OFF_TICK = "PRICE_OFF_TICK"
    PRICE_OUTSIDE_BAND = "PRICE_OUTSIDE_BAND"
    MARKET_CLOSED = "MARKET_CLOSED"
    ORDER_UNRESOLVED = "ORDER_UNRESOLVED"
    # Limits
    QUANTITY_LIMIT = "QUANTITY_LIMIT"
    ORDER_AMOUNT_LIMIT = "ORDER_AMOUNT_LIMIT"
    FAT_FINGER = "FAT_FINGER"
    DUPLICATE_ORDER = "DUPLICATE_ORDER"
    RATE_LIMIT = "RATE_LIMIT"
    POSITION_COUNT_LIMIT = "POSITION_COUNT_LIMIT"
    POSITION_SIZE_LIMIT = "POSITION_SIZE_LIMIT"
    CAPITAL_LIMIT = "CAPITAL_LIMIT"
    INSUFFICIENT_CASH = "INSUFFICIENT_CASH"
    INSUFFICIENT_SELLABLE = "INSUFFICIENT_SELLABLE"
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    # A check could not compute its figure: the order is denied rather than let through (fail closed).
    RISK_CHECK_FAILED = "RISK_CHECK_FAILED"


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
    # A verified second factor (or a token issued for real trading), or an order the platform itself
    # places (the emergency stop's sells): real-money orders need one.
    second_factor: bool = False


@dataclass(frozen=True, slots=True)
class SymbolFacts:
    kind: str
    previous_close: int
    is_tradable: bool
    suspended: bool = False


def won(amount: int) -> str:
    return f"{amount:,}"


def check_static(req: OrderRequest) -> Denial | None:
    """Checks that need no database: permission for the mode, symbol format, quantity, price presence."""
    if not req.user_level_allows_mode:
        mode = _("실전투자") if req.mode == "real" else _("모의투자")
        return Denial(DenyCode.PERMISSION_DENIED, _("%(mode)s 주문 권한이 없습니다.") % {"mode": mode})
    if req.mode == "real" and not req.second_factor:
        return Denial(DenyCode.SECOND_FACTOR_REQUIRED, _("실전투자 주문은 2단계 인증(OTP) 후에만 낼 수 있습니다. /account/2fa/verify 에서 인증하세요."))
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
    if facts.suspended:
        return Denial(DenyCode.SYMBOL_SUSPENDED, _("%(symbol)s 종목은 거래정지 중입니다 (증권사 종목 정보).") % {"symbol": req.symbol})
    if req.order_type == "limit" and req.price is not None:
        if not market_rules.is_on_tick(req.price, facts.kind):
            below, above = market_rules.nearest_valid_prices(req.price, facts.kind)
            return Denial(
                DenyCode.PRICE_OFF_TICK,
                _("%(price)s원은 호가단위에 맞지 않습니다. 가까운 가격: %(below)s원 또는 %(above)s원.")
                % {"price": won(req.price), "below": won(below), "above": won(above)},
            )
        band = market_rules.price_band(facts.previous_close, facts.kind)
        if not band.contains(req.price):
            return Denial(
                DenyCode.PRICE_OUTSIDE_BAND,
                _("가격제한폭(%(lower)s원 ~ %(upper)s원)을 벗어났습니다.") % {"lower": won(band.lower), "upper": won(band.upper)},
            )
    return None


def check_order(
    *,
    account: BrokerAccount,
    user: User,
    symbol: str,
    side: str,
    quantity: int,
    order_type: str,
    price: int | None,
    origin: str,
    second_factor: bool = False,
) -> Denial | None:
    """Every pre-trade check for one order, cheap first; called by the order service for every entry point."""
    from django.conf import settings

    from apps.risk import checks

    request = OrderRequest(
        user_level_allows_mode=user.can_trade(account.mode),
        mode=account.mode,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        price=price,
        second_factor=second_factor or origin == "emergency" or not settings.TWO_FACTOR_REQUIRED,
    )
    denial = check_static(request)
    if denial is not None:
        return denial
    try:
        # A savepoint: a database error inside a check must not poison the caller's transaction.
        with transaction.atomic():
            return checks.run(account=account, user=user, request=request, origin=origin, now=timezone.now())
    except Exception:
        log.exception("pre-trade check failed for %s %s %s on account %s; denying (fail closed)", side, quantity, symbol, account.pk)
        return Denial(DenyCode.RISK_CHECK_FAILED, _("위험 점검을 완료하지 못해 주문을 거부했습니다. 잠시 후 다시 시도하세요."))


def held_at_dispatch(order: Order) -> bool:
    """Whether a queued order must stay queued because its scope's trading state changed since it was placed.

    Emergency orders always go; others wait while the scope is halted (or only reducing, for a buy).
    """
    from apps.risk.models import State
    from apps.risk.states import effective_state

    if order.origin == "emergency":
        return False
    state = effective_state(order.account).state
    return state in (State.HALTED, State.EMERGENCY) or (state == State.REDUCING and order.side == "buy")


def market_closed_denial(next_open: dt.datetime) -> Denial:
    return Denial(DenyCode.MARKET_CLOSED, _("장 운영시간이 아닙니다. 다음 정규장 주문 접수: %(at)s") % {"at": f"{next_open:%Y-%m-%d %H:%M} KST"})


def unresolved_denial(symbol: str) -> Denial:
    return Denial(
        DenyCode.ORDER_UNRESOLVED,
        _("%(symbol)s에 상태 확인이 필요한 주문이 있어 대사(reconciliation)가 끝날 때까지 신규 주문이 막혀 있습니다.") % {"symbol": symbol},
    )
