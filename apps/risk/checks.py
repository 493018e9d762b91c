"""The pre-trade checks that read the database, in the order they run (cheap first).

Emergency orders (origin "emergency", created only by the emergency stop) must be market sells of
shares the account holds, placed while an emergency is in progress. They keep every rule about who
may trade and where an order may go (permission, worker mode, symbol, tick, band, sellable quantity)
and skip what would keep a position open: state gates for other orders, locks, market hours (they
queue for the next session), unresolved orders on the symbol, and every limit (docs/risk.md).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.db.models import F, Q, Sum
from django.utils.translation import gettext as _

from apps.accounts.models import BrokerAccount, User, Worker
from apps.marketdata import selectors as market
from apps.marketdata.krx_calendar import KST
from apps.marketdata.models import LatestPrice, Symbol
from apps.orders.models import Order, OrderStatus, Origin, Position
from apps.orders.state import WORKING
from apps.risk import states
from apps.risk.limits import Limits, limits_for
from apps.risk.models import State, TradingLock
from apps.risk.pnl import day_pnl
from apps.risk.pretrade import Denial, DenyCode, OrderRequest, SymbolFacts, check_symbol_and_price, market_closed_denial, unresolved_denial, won
from apps.risk.sessions import current_session
from kiwoom_worker import market_rules

log = logging.getLogger(__name__)
FEES = {"paper": market_rules.KIWOOM_MOCK, "real": market_rules.KIWOOM_REAL}


def commission(value: int, mode: str) -> int:
    return value * FEES[mode].commission_ppm // 1_000_000


@dataclass
class Context:
    account: BrokerAccount
    user: User
    request: OrderRequest
    origin: str
    now: dt.datetime

    @property
    def emergency(self) -> bool:
        return self.origin == Origin.EMERGENCY

    @property
    def buy(self) -> bool:
        return self.request.side == "buy"

    @cached_property
    def limits(self) -> Limits:
        return limits_for(user_id=self.account.owner_id, mode=self.account.mode)

    @cached_property
    def facts(self) -> SymbolFacts | None:
        return market.symbol_facts(self.request.symbol)

    @cached_property
    def last_price(self) -> int:
        """Today's last trade, or the base price (previous close) before the first tick of the session."""
        return _market_reference(self.request.symbol, self.now)

    @cached_property
    def reference_price(self) -> int:
        """What one share of this order is worth for the amount limits: its limit price, or the last price."""
        return self.request.price if self.request.order_type == "limit" and self.request.price else self.last_price

    @cached_property
    def sellable(self) -> int:
        held = Position.objects.filter(account=self.account, symbol=self.request.symbol).values_list("quantity", flat=True).first() or 0
        selling = _remaining(Order.objects.filter(account=self.account, symbol=self.request.symbol, side="sell", status__in=WORKING))
        return max(held - selling, 0)

    @cached_property
    def working_buys(self) -> list[Order]:
        """Read once per check run: the position-count, exposure and cash checks all need them."""
        return _working_buys(self.account)

    @cached_property
    def exposure(self) -> Exposure:
        return exposure(self)

    @property
    def reduces_position(self) -> bool:
        """Only a sell of shares held (and not already being sold) reduces a position: KRX cash accounts cannot go short."""
        return not self.buy and self.request.quantity <= self.sellable


def _remaining(orders: object) -> int:
    return orders.aggregate(n=Sum(F("quantity") - F("filled_quantity") - F("canceled_quantity")))["n"] or 0  # type: ignore[attr-defined]


def run(*, account: BrokerAccount, user: User, request: OrderRequest, origin: str, now: dt.datetime) -> Denial | None:
    # One check at a time per account, so two orders cannot both spend the same cash or the last position slot.
    account = BrokerAccount.objects.select_for_update().get(pk=account.pk)
    ctx = Context(account, user, request, origin, now)
    for check in (state_and_locks, worker_route, symbol_and_price, session, unresolved):
        denial = check(ctx)
        if denial is not None:
            return denial
    if ctx.emergency:
        return emergency_order(ctx)
    for check in (quantity_limit, order_amount, fat_finger, duplicate, order_rate):
        denial = check(ctx)
        if denial is not None:
            return denial
    checks = (position_count, position_size, capital, cash, daily_loss) if ctx.buy else (sellable,)
    for check in checks:
        denial = check(ctx)
        if denial is not None:
            return denial
    return None


def state_and_locks(ctx: Context) -> Denial | None:
    effective = states.effective_state(ctx.account)
    reason = effective.reason
    if effective.state == State.EMERGENCY and not ctx.emergency:
        return Denial(DenyCode.TRADING_EMERGENCY, _("긴급 정지가 진행 중입니다. 긴급 청산 주문만 처리됩니다. (%(reason)s)") % {"reason": reason})
    if ctx.emergency:
        if effective.state != State.EMERGENCY:
            return Denial(DenyCode.EMERGENCY_ORDER_INVALID, _("긴급 청산 주문은 긴급 정지 중에만 낼 수 있습니다."))
        return None
    if effective.state == State.HALTED:
        return Denial(DenyCode.TRADING_HALTED, _("신규 주문이 정지되었습니다. 미체결 주문 취소만 가능합니다. (%(reason)s)") % {"reason": reason})
    if effective.state == State.REDUCING and not ctx.reduces_position:
        return Denial(DenyCode.TRADING_REDUCING, _("포지션 축소 주문(보유 수량 이내의 매도)만 허용됩니다. (%(reason)s)") % {"reason": reason})
    lock = (
        TradingLock.objects.filter(Q(until__isnull=True) | Q(until__gt=ctx.now))
        .filter(Q(account=ctx.account) | Q(user_id=ctx.account.owner_id) | Q(account__isnull=True, user__isnull=True))
        .filter(Q(symbol="") | Q(symbol=ctx.request.symbol), Q(side="") | Q(side=ctx.request.side))
        .order_by("-until")
        .first()
    )
    if lock is not None:
        until = _("해제 시까지") if lock.until is None else f"{lock.until.astimezone(KST):%Y-%m-%d %H:%M} KST"
        return Denial(DenyCode.TRADING_LOCKED, _("주문이 잠겨 있습니다 (%(until)s): %(reason)s") % {"until": until, "reason": lock.reason})
    return None


def worker_route(ctx: Context) -> Denial | None:
    """A connected worker carrying this account must be logged in to this account's server, never the other one."""
    connected = Worker.objects.filter(accounts=ctx.account, revoked_at__isnull=True).exclude(channel_name="")
    wrong = connected.exclude(mode=ctx.account.mode, reported_server=ctx.account.mode).values_list("name", "reported_server").first()
    if wrong is not None:
        log.error("account %s (%s) is carried by worker %s reporting %s", ctx.account.pk, ctx.account.mode, *wrong)
        return Denial(DenyCode.MODE_MISMATCH, _("이 계좌의 워커가 다른 서버(%(server)s)에 접속해 있어 주문을 보낼 수 없습니다.") % {"server": wrong[1] or "?"})
    return None


def symbol_and_price(ctx: Context) -> Denial | None:
    return check_symbol_and_price(ctx.request, ctx.facts)


def session(ctx: Context) -> Denial | None:
    clock = market.market_clock()
    if ctx.emergency or clock.accepts_regular_orders(ctx.now) or settings.OUTSIDE_HOURS_POLICY != "deny":
        return None  # queued for the next session (the order service says so on the order)
    return market_closed_denial(clock.next_regular_open(ctx.now))


def unresolved(ctx: Context) -> Denial | None:
    if ctx.emergency:
        return None  # an unresolved sell still counts against the sellable quantity, so the exit cannot oversell
    if Order.objects.filter(account=ctx.account, symbol=ctx.request.symbol, status=OrderStatus.UNKNOWN).exists():
        return unresolved_denial(ctx.request.symbol)
    return None


def emergency_order(ctx: Context) -> Denial | None:
    if ctx.buy or ctx.request.order_type != "market":
        return Denial(DenyCode.EMERGENCY_ORDER_INVALID, _("긴급 청산 주문은 시장가 매도만 가능합니다."))
    return sellable(ctx)


def quantity_limit(ctx: Context) -> Denial | None:
    cap = ctx.limits.max_order_quantity
    if cap is not None and ctx.request.quantity > cap:
        return Denial(DenyCode.QUANTITY_LIMIT, _("주문 수량 %(qty)s주가 한도 %(cap)s주를 넘습니다.") % {"qty": won(ctx.request.quantity), "cap": won(cap)})
    return None


def order_amount(ctx: Context) -> Denial | None:
    cap = ctx.limits.max_order_amount
    amount = ctx.reference_price * ctx.request.quantity
    if cap is not None and amount > cap:
        return Denial(DenyCode.ORDER_AMOUNT_LIMIT, _("주문 금액 %(amount)s원이 주문당 한도 %(cap)s원을 넘습니다.") % {"amount": won(amount), "cap": won(cap)})
    return None


def fat_finger(ctx: Context) -> Denial | None:
    """A limit price on the aggressive side too far from the last trade is probably a typo; a passive one only rests."""
    pct = ctx.limits.fat_finger_pct
    price = ctx.request.price
    if pct is None or ctx.request.order_type != "limit" or not price:
        return None
    last = ctx.last_price
    too_far = price * 100 > last * (100 + pct) if ctx.buy else price * 100 < last * (100 - pct)
    if too_far:
        return Denial(
            DenyCode.FAT_FINGER,
            _("주문 가격 %(price)s원이 현재가 %(last)s원과 %(pct)s%% 넘게 차이 납니다. 가격을 확인하세요.")
            % {"price": won(price), "last": won(last), "pct": pct},
        )
    return None


def duplicate(ctx: Context) -> Denial | None:
    window = ctx.limits.duplicate_window_s
    if not window:
        return None
    req = ctx.request
    same = Order.objects.filter(
        account=ctx.account,
        symbol=req.symbol,
        side=req.side,
        quantity=req.quantity,
        order_type=req.order_type,
        price=req.price if req.order_type == "limit" else None,
        created_at__gt=ctx.now - dt.timedelta(seconds=window),
    ).exclude(status=OrderStatus.DENIED)
    if same.exists():
        return Denial(
            DenyCode.DUPLICATE_ORDER,
            _("%(window)s초 안에 같은 주문(종목·방향·수량·가격)이 이미 접수되었습니다. 의도한 주문이면 잠시 후 다시 내세요.") % {"window": window},
        )
    return None


def order_rate(ctx: Context) -> Denial | None:
    cap = ctx.limits.max_orders_per_minute
    if cap is None:
        return None
    recent = (
        Order.objects.filter(user_id=ctx.account.owner_id, created_at__gt=ctx.now - dt.timedelta(minutes=1))
        .exclude(status=OrderStatus.DENIED)
        .exclude(origin=Origin.EMERGENCY)
        .count()
    )
    if recent >= cap:
        return Denial(DenyCode.RATE_LIMIT, _("1분에 %(cap)s건까지 주문할 수 있습니다. 잠시 후 다시 시도하세요.") % {"cap": cap})
    return None


@dataclass(frozen=True, slots=True)
class Exposure:
    held: dict[str, int]  # symbol -> shares held
    cost: dict[str, int]  # symbol -> cost basis of the shares held
    buying: dict[str, int]  # symbol -> value of working buy orders (limit price, or the last price for market orders)

    def invested(self, symbol: str | None = None) -> int:
        if symbol is not None:
            return self.cost.get(symbol, 0) + self.buying.get(symbol, 0)
        return sum(self.cost.values()) + sum(self.buying.values())


def exposure(ctx: Context) -> Exposure:
    positions = Position.objects.filter(account=ctx.account).exclude(quantity=0).values_list("symbol", "quantity", "cost_basis")
    held = {s: q for s, q, _c in positions}
    cost = {s: c for s, _q, c in positions}
    buying: dict[str, int] = {}
    for order in ctx.working_buys:
        unit = order.price or _market_reference(order.symbol, ctx.now)
        buying[order.symbol] = buying.get(order.symbol, 0) + unit * order.remaining_quantity
    return Exposure(held, cost, buying)


def _working_buys(account: BrokerAccount) -> list[Order]:
    return list(
        Order.objects.filter(account=account, side="buy", status__in=WORKING).only(
            "symbol", "quantity", "filled_quantity", "canceled_quantity", "price", "accepted_at"
        )
    )


def _market_reference(symbol: str, now: dt.datetime) -> int:
    start = current_session(now).start
    price = LatestPrice.objects.filter(symbol_id=symbol, timestamp__gte=start).values_list("current_price", flat=True).first()
    return price or Symbol.objects.filter(pk=symbol).values_list("previous_close", flat=True).first() or 0


def position_count(ctx: Context) -> Denial | None:
    cap = ctx.limits.max_position_count
    if cap is None:
        return None
    open_symbols = set(Position.objects.filter(account=ctx.account).exclude(quantity=0).values_list("symbol", flat=True))
    open_symbols |= {o.symbol for o in ctx.working_buys}
    if ctx.request.symbol not in open_symbols and len(open_symbols) + 1 > cap:
        return Denial(
            DenyCode.POSITION_COUNT_LIMIT,
            _("보유(매수 주문 포함) 종목이 이미 %(count)s개로 한도 %(cap)s개에 도달했습니다.") % {"count": len(open_symbols), "cap": cap},
        )
    return None


def position_size(ctx: Context) -> Denial | None:
    cap = ctx.limits.max_position_amount
    if cap is None:
        return None
    after = ctx.exposure.invested(ctx.request.symbol) + ctx.reference_price * ctx.request.quantity
    if after > cap:
        return Denial(
            DenyCode.POSITION_SIZE_LIMIT,
            _("%(symbol)s 투자금액이 %(after)s원이 되어 종목당 한도 %(cap)s원을 넘습니다.")
            % {"symbol": ctx.request.symbol, "after": won(after), "cap": won(cap)},
        )
    return None


def capital(ctx: Context) -> Denial | None:
    cap = ctx.limits.capital
    if cap is None:
        return None
    after = ctx.exposure.invested() + ctx.reference_price * ctx.request.quantity
    if after > cap:
        return Denial(DenyCode.CAPITAL_LIMIT, _("총 투자금액이 %(after)s원이 되어 운용 한도 %(cap)s원을 넘습니다.") % {"after": won(after), "cap": won(cap)})
    return None


def cash(ctx: Context) -> Denial | None:
    """Buys reserve cash: the order plus every working buy the broker had not yet counted must fit the orderable cash.

    The broker's orderable cash (주문가능금액) is already D+2-aware: sale proceeds settle two days later
    but KRX lets them be reused at once, and today's buys are already deducted. A market buy reserves
    at the upper price limit, as the broker does.
    """
    account = ctx.account
    if account.balance_reported_at is None:
        return None  # no figure from the broker yet: the order waits for a worker, and the broker checks it
    need = _cash_for(ctx.request.symbol, ctx.request.price, ctx.request.quantity, ctx)
    reserved = 0
    for order in ctx.working_buys:
        if order.accepted_at is not None and order.accepted_at <= account.balance_reported_at:
            continue  # the broker's figure already holds this order's reservation
        reserved += _cash_for(order.symbol, order.price, order.remaining_quantity, ctx)
    available = account.orderable_cash - reserved
    if need > available:
        return Denial(
            DenyCode.INSUFFICIENT_CASH,
            _("주문가능금액이 부족합니다: 필요 %(need)s원, 가능 %(available)s원.") % {"need": won(need), "available": won(max(available, 0))},
        )
    return None


def _cash_for(symbol: str, price: int | None, quantity: int, ctx: Context) -> int:
    if price:
        value = price * quantity
    else:
        row = Symbol.objects.filter(pk=symbol).values_list("previous_close", "kind").first()
        value = (market_rules.price_band(row[0], row[1]).upper if row else 0) * quantity
    return value + commission(value, ctx.account.mode)


def sellable(ctx: Context) -> Denial | None:
    if ctx.request.quantity > ctx.sellable:
        return Denial(DenyCode.INSUFFICIENT_SELLABLE, _("매도 가능 수량은 %(sellable)s주입니다 (미체결 매도 제외).") % {"sellable": won(ctx.sellable)})
    return None


def daily_loss(ctx: Context) -> Denial | None:
    cap = ctx.limits.daily_loss_limit
    if cap is None:
        return None
    loss = day_pnl(ctx.account, ctx.now).loss
    if loss > cap:
        return Denial(
            DenyCode.DAILY_LOSS_LIMIT,
            _("오늘 손실 %(loss)s원이 일일 손실 한도 %(cap)s원을 넘어 신규 매수가 막혔습니다.") % {"loss": won(loss), "cap": won(cap)},
        )
    return None
