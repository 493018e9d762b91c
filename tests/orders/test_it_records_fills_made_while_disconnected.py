"""Fills the broker made while no event could reach us come back from its order totals, once.

Kiwoom's control never replays Chejan events missed while disconnected; after the reconnect the
worker reports each order's running totals (opt10075) with the open orders. Without them a filled
order that is no longer open would be taken for a cancelled one.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.orders import services
from apps.orders.models import Execution, OrderStatus, Position
from kiwoom_worker import protocol
from tests.risk.support import Broker

pytestmark = pytest.mark.django_db


def place(persona, quantity: int):
    order = {"symbol": "005930", "side": "buy", "quantity": quantity, "order_type": "limit", "price": 69_000}
    return services.submit_order(user=persona.user, account_id=persona.paper.pk, **order).order


def reconnect_report(broker: Broker, persona, *, totals: list[tuple[str, int, int]], still_open: list[dict] | None = None) -> None:
    today = [{"broker_order_no": n, "symbol": "005930", "side": "buy", "filled_quantity": q, "filled_amount": a} for n, q, a in totals]
    broker.event(protocol.OPEN_ORDERS, {"account": persona.paper.account_number, "orders": still_open or [], "today": today})


def chejan_fill(broker: Broker, persona, order, *, fill_no: str, quantity: int, price: int, remaining: int) -> None:
    data = {"order_id": order.pk, "account": persona.paper.account_number, "broker_order_no": order.broker_order_no, "fill_no": fill_no}
    data |= {"symbol": "005930", "side": "buy", "price": price, "quantity": quantity, "fee": 0, "tax": 0}
    broker.event(protocol.ORDER_FILLED, {**data, "executed_at": timezone.now().isoformat(), "remaining_quantity": remaining})


def test_an_order_filled_while_disconnected_is_filled_not_cancelled(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    order = place(paper_trader, 10)
    number = broker.accept(order)
    chejan_fill(broker, paper_trader, order, fill_no="1", quantity=4, price=69_000, remaining=6)
    # Disconnected: the other 6 shares filled at 68,900 and 69,000 (3 each); no event came.
    reconnect_report(broker, paper_trader, totals=[(number, 10, 4 * 69_000 + 3 * 68_900 + 3 * 69_000)])
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.canceled_quantity) == (OrderStatus.FILLED, 10, 0)
    assert order.filled_amount == 4 * 69_000 + 3 * 68_900 + 3 * 69_000
    missed = Execution.objects.get(order=order, fill_no="R10")
    assert (missed.quantity, missed.price) == (6, 68_950)
    assert Position.objects.get(account=paper_trader.paper, symbol="005930").quantity == 10

    # The same report again (a second reconnect) and late events for those shares change nothing.
    reconnect_report(broker, paper_trader, totals=[(number, 10, 4 * 69_000 + 3 * 68_900 + 3 * 69_000)])
    chejan_fill(broker, paper_trader, order, fill_no="2", quantity=3, price=68_900, remaining=3)
    chejan_fill(broker, paper_trader, order, fill_no="3", quantity=3, price=69_000, remaining=0)
    order.refresh_from_db()
    assert order.filled_quantity == 10 and Execution.objects.filter(order=order).count() == 2
    assert Position.objects.get(account=paper_trader.paper, symbol="005930").quantity == 10


def test_a_partly_filled_order_still_open_keeps_working_and_later_fills_count(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    order = place(paper_trader, 10)
    number = broker.accept(order)
    still_open = [{"broker_order_no": number, "symbol": "005930", "side": "buy", "quantity": 10, "remaining_quantity": 8, "price": 69_000}]
    reconnect_report(broker, paper_trader, totals=[(number, 2, 2 * 69_000)], still_open=still_open)
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 2)
    chejan_fill(broker, paper_trader, order, fill_no="7", quantity=8, price=69_000, remaining=0)  # beyond the reported total
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, 10)


def test_totals_that_do_not_add_up_are_left_for_an_admin(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    order = place(paper_trader, 5)
    number = broker.accept(order)
    still_open = [{"broker_order_no": number, "symbol": "005930", "side": "buy", "quantity": 5, "remaining_quantity": 2, "price": 69_000}]
    reconnect_report(broker, paper_trader, totals=[(number, 3, 0)], still_open=still_open)  # shares but no money
    order.refresh_from_db()
    assert order.filled_quantity == 0 and not Execution.objects.filter(order=order).exists()
