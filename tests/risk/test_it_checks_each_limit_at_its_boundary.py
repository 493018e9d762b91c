"""Each limit passes an order exactly at the limit and denies one won (or one share, or one tick) beyond it, with its code."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from apps.orders import services
from apps.orders.models import Order, OrderStatus
from tests.risk.support import Broker, last_price, limits

pytestmark = pytest.mark.django_db
NO_GUARDS = {"duplicate_window_s": 0, "max_orders_per_minute": None}


def submit(persona, *, account=None, **kwargs):
    # A verified second factor: real orders need one (tests/accounts/test_two_factor.py covers its absence).
    params = {"symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 70_000, "second_factor": True}
    params.update(kwargs)
    order = services.submit_order(user=persona.user, account_id=(account or persona.paper).pk, **params).order
    return order.status, order.reason_code


def test_quantity(paper_trader, symbols, market_always) -> None:
    limits(paper_trader.user, max_order_quantity=100, **NO_GUARDS)
    assert submit(paper_trader, symbol="0126Z0", price=9_980, quantity=100) == (OrderStatus.QUEUED, "")
    assert submit(paper_trader, symbol="0126Z0", price=9_980, quantity=101) == (OrderStatus.DENIED, "QUANTITY_LIMIT")


def test_order_amount_of_a_limit_order(paper_trader, symbols, market_always) -> None:
    # 200 × 50,000 = 10,000,000: the user's paper limit exactly.
    assert submit(paper_trader, price=50_000, quantity=200) == (OrderStatus.QUEUED, "")
    limits(paper_trader.user, max_order_amount=9_999_999, **NO_GUARDS)
    assert submit(paper_trader, price=50_000, quantity=200) == (OrderStatus.DENIED, "ORDER_AMOUNT_LIMIT")


def test_order_amount_of_a_market_order_uses_the_last_price(paper_trader, symbols, market_always) -> None:
    last_price("005930", 72_000)
    limits(paper_trader.user, max_order_amount=720_000, **NO_GUARDS)
    assert submit(paper_trader, order_type="market", price=None, quantity=10) == (OrderStatus.QUEUED, "")
    assert submit(paper_trader, order_type="market", price=None, quantity=11) == (OrderStatus.DENIED, "ORDER_AMOUNT_LIMIT")


def test_position_count(paper_trader, symbols, market_always) -> None:
    limits(paper_trader.user, max_position_count=2, **NO_GUARDS)
    broker = Broker([paper_trader.paper])
    broker.fill(paper_trader.paper, "005930", "buy", 1, 70_000)
    # A working buy in a second symbol takes the second slot.
    assert submit(paper_trader, symbol="000660", price=180_000) == (OrderStatus.QUEUED, "")
    assert submit(paper_trader, symbol="005935", price=58_000) == (OrderStatus.DENIED, "POSITION_COUNT_LIMIT")
    # More of a symbol already held (or being bought) is not a new position.
    assert submit(paper_trader, symbol="005930", price=70_000, quantity=2) == (OrderStatus.QUEUED, "")
    assert submit(paper_trader, symbol="000660", price=180_000, quantity=2) == (OrderStatus.QUEUED, "")


def test_position_size_counts_cost_and_working_buys(real_trader, symbols, market_always) -> None:
    broker = Broker([real_trader.real], mode="real")
    broker.fill(real_trader.real, "0126Z0", "buy", 5, 10_000)  # cost 50,000
    assert submit(real_trader, account=real_trader.real, symbol="0126Z0", price=9_980, quantity=1) == (OrderStatus.QUEUED, "")  # 59,980
    # 59,980 + 4 × 9,980 = 99,900
    limits(real_trader.user, "real", max_position_amount=99_900, **NO_GUARDS)
    assert submit(real_trader, account=real_trader.real, symbol="0126Z0", price=9_980, quantity=4) == (OrderStatus.QUEUED, "")
    limits(real_trader.user, "real", max_position_amount=99_900 + 9_979)
    assert submit(real_trader, account=real_trader.real, symbol="0126Z0", price=9_980, quantity=1) == (OrderStatus.DENIED, "POSITION_SIZE_LIMIT")


def test_the_real_defaults_are_the_users_numbers(real_trader, symbols, market_always) -> None:
    # Small real: 100,000 KRW per position. 10 × 10,000 fills it; one more share of any price does not fit.
    assert submit(real_trader, account=real_trader.real, symbol="0126Z0", price=10_000, quantity=10) == (OrderStatus.QUEUED, "")
    assert submit(real_trader, account=real_trader.real, symbol="0126Z0", price=6_990, quantity=1) == (OrderStatus.DENIED, "POSITION_SIZE_LIMIT")


def test_capital(real_trader, symbols, market_always) -> None:
    limits(real_trader.user, "real", capital=150_000, max_position_amount=None, **NO_GUARDS)
    broker = Broker([real_trader.real], mode="real")
    broker.fill(real_trader.real, "0126Z0", "buy", 5, 10_000)  # 50,000 invested
    assert submit(real_trader, account=real_trader.real, symbol="005930", price=50_000, quantity=2) == (OrderStatus.QUEUED, "")  # 150,000
    # 150,000 + 7,000 = 157,000
    limits(real_trader.user, "real", capital=157_000)
    assert submit(real_trader, account=real_trader.real, symbol="0126Z0", price=7_000, quantity=1) == (OrderStatus.QUEUED, "")
    limits(real_trader.user, "real", capital=157_000 + 6_999)
    assert submit(real_trader, account=real_trader.real, symbol="0126Z0", price=7_000, quantity=1) == (OrderStatus.DENIED, "CAPITAL_LIMIT")


def test_cash_reserves_working_buys_and_the_commission(paper_trader, symbols, market_always) -> None:
    limits(paper_trader.user, **NO_GUARDS)
    broker = Broker([paper_trader.paper])
    # 99 × 10,000 = 990,000 plus the paper server's 0.35% commission (3,465) = 993,465.
    broker.balance(paper_trader.paper, cash=993_465 + 70_245)
    # A queued buy the broker has not seen yet reserves 70,000 + 245.
    assert submit(paper_trader, price=70_000) == (OrderStatus.QUEUED, "")
    assert submit(paper_trader, symbol="0126Z0", price=10_000, quantity=99) == (OrderStatus.QUEUED, "")
    broker.balance(paper_trader.paper, cash=993_465 + 70_245 - 1)
    for order in Order.objects.filter(symbol="0126Z0"):
        services.cancel_order(user=paper_trader.user, order_id=order.pk)
    assert submit(paper_trader, symbol="0126Z0", price=10_000, quantity=99) == (OrderStatus.DENIED, "INSUFFICIENT_CASH")


def test_cash_already_reserved_by_the_broker_is_not_counted_twice(paper_trader, symbols, market_always) -> None:
    limits(paper_trader.user, **NO_GUARDS)
    broker = Broker([paper_trader.paper])
    with time_machine.travel(timezone.now() - dt.timedelta(seconds=5), tick=False):
        working = services.submit_order(
            user=paper_trader.user, account_id=paper_trader.paper.pk, symbol="005930", side="buy", quantity=1, order_type="limit", price=70_000
        )
        broker.accept(working.order)
    # The broker's orderable cash already excludes that accepted order.
    broker.balance(paper_trader.paper, cash=100_350)
    assert submit(paper_trader, symbol="0126Z0", price=10_000, quantity=10) == (OrderStatus.QUEUED, "")  # 100,000 + 350


def test_sellable_quantity(paper_trader, symbols, market_always) -> None:
    limits(paper_trader.user, **NO_GUARDS)
    broker = Broker([paper_trader.paper])
    broker.fill(paper_trader.paper, "005930", "buy", 10, 70_000)
    assert submit(paper_trader, side="sell", quantity=11) == (OrderStatus.DENIED, "INSUFFICIENT_SELLABLE")
    assert submit(paper_trader, side="sell", quantity=6) == (OrderStatus.QUEUED, "")
    # The working sell holds six shares; four are left to sell.
    assert submit(paper_trader, side="sell", quantity=5) == (OrderStatus.DENIED, "INSUFFICIENT_SELLABLE")
    assert submit(paper_trader, side="sell", quantity=4) == (OrderStatus.QUEUED, "")


def test_daily_loss_counts_realized_and_unrealized_since_the_session_start(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    broker.fill(paper_trader.paper, "005930", "buy", 10, 70_000)
    broker.fill(paper_trader.paper, "000660", "buy", 2, 180_000)
    broker.fill(paper_trader.paper, "000660", "sell", 2, 178_000)  # realized −4,000
    last_price("005930", 69_400)  # unrealized −6,000
    limits(paper_trader.user, daily_loss_limit=10_000, **NO_GUARDS)
    assert submit(paper_trader, symbol="005935", price=58_000) == (OrderStatus.QUEUED, "")
    limits(paper_trader.user, daily_loss_limit=9_999)
    assert submit(paper_trader, symbol="005935", price=58_000, quantity=2) == (OrderStatus.DENIED, "DAILY_LOSS_LIMIT")
    # Exits stay open.
    assert submit(paper_trader, side="sell", quantity=10, price=69_400) == (OrderStatus.QUEUED, "")


def test_yesterdays_holdings_are_marked_from_the_base_price(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    broker.fill(paper_trader.paper, "005930", "buy", 10, 60_000, at=timezone.now() - dt.timedelta(days=2))
    last_price("005930", 69_000)  # 1,000 below today's base (70,000), though 9,000 above cost
    limits(paper_trader.user, daily_loss_limit=9_999, **NO_GUARDS)
    assert submit(paper_trader, symbol="005935", price=58_000) == (OrderStatus.DENIED, "DAILY_LOSS_LIMIT")
    limits(paper_trader.user, daily_loss_limit=10_000)
    assert submit(paper_trader, symbol="005935", price=58_000) == (OrderStatus.QUEUED, "")


def test_duplicate_within_the_window(paper_trader, symbols, market_always) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert submit(paper_trader) == (OrderStatus.QUEUED, "")
        clock.shift(dt.timedelta(seconds=2.999))
        assert submit(paper_trader) == (OrderStatus.DENIED, "DUPLICATE_ORDER")
        assert submit(paper_trader, quantity=2) == (OrderStatus.QUEUED, "")
        assert submit(paper_trader, price=69_900) == (OrderStatus.QUEUED, "")
        clock.shift(dt.timedelta(seconds=0.001))
        assert submit(paper_trader) == (OrderStatus.QUEUED, "")


def test_order_rate_per_user(paper_trader, symbols, market_always) -> None:
    limits(paper_trader.user, max_orders_per_minute=3, duplicate_window_s=0)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for quantity in (1, 2, 3):
            assert submit(paper_trader, quantity=quantity) == (OrderStatus.QUEUED, "")
        assert submit(paper_trader, quantity=4) == (OrderStatus.DENIED, "RATE_LIMIT")
        clock.shift(dt.timedelta(seconds=60))
        assert submit(paper_trader, quantity=5) == (OrderStatus.QUEUED, "")


def test_fat_finger_on_the_aggressive_side(real_trader, symbols, market_always) -> None:
    limits(real_trader.user, "real", max_position_amount=None, capital=None, **NO_GUARDS)
    broker = Broker([real_trader.real], mode="real")
    broker.fill(real_trader.real, "005930", "buy", 2, 70_000)
    last_price("005930", 70_000)
    account = real_trader.real
    assert submit(real_trader, account=account, price=73_500) == (OrderStatus.QUEUED, "")  # +5%: the real default
    assert submit(real_trader, account=account, price=73_600) == (OrderStatus.DENIED, "FAT_FINGER")
    assert submit(real_trader, account=account, side="sell", price=66_500) == (OrderStatus.QUEUED, "")
    assert submit(real_trader, account=account, side="sell", price=66_400) == (OrderStatus.DENIED, "FAT_FINGER")
    # A passive price far from the market only rests in the book.
    assert submit(real_trader, account=account, price=49_000) == (OrderStatus.QUEUED, "")


def test_every_denial_is_stored_with_its_code_and_message(paper_trader, symbols, market_always) -> None:
    limits(paper_trader.user, max_order_quantity=1, **NO_GUARDS)
    submit(paper_trader, quantity=2)
    order = Order.objects.get()
    assert (order.status, order.reason_code) == (OrderStatus.DENIED, "QUANTITY_LIMIT")
    assert "2" in order.reason_message and "1" in order.reason_message
    assert list(order.events.values_list("to_status", flat=True)) == ["CREATED", "DENIED"]
