"""The bulk cancel the emergency stop uses: the same outcomes as one-by-one cancels, one command per order."""

from __future__ import annotations

import pytest

from apps.orders import services
from apps.orders.models import OrderStatus
from kiwoom_worker import protocol
from tests.risk.support import Broker

pytestmark = pytest.mark.django_db


def place(persona, quantity: int):
    order = {"symbol": "005930", "side": "buy", "quantity": quantity, "order_type": "limit", "price": 69_000}
    return services.submit_order(user=persona.user, account_id=persona.paper.pk, **order).order


def test_queued_orders_cancel_here_working_ones_at_the_broker_finished_ones_stay(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    queued, working, filled = place(paper_trader, 1), place(paper_trader, 2), place(paper_trader, 3)
    broker.accept(working)
    broker.accept(filled)
    filled.refresh_from_db()
    broker.fill(paper_trader.paper, "005930", "buy", 3, 69_000, order=filled)
    broker.frames()

    batch = services.cancel_orders([queued.pk, working.pk, filled.pk], note="drill")

    assert (batch.local, batch.sent, batch.finished) == ([queued.pk], [working.pk], [filled.pk])
    queued.refresh_from_db()
    working.refresh_from_db()
    filled.refresh_from_db()
    assert (queued.status, queued.canceled_quantity) == (OrderStatus.CANCELED, 1)
    assert working.status == OrderStatus.PENDING_CANCEL and working.cancel_command_id
    assert filled.status == OrderStatus.FILLED
    [command] = broker.frames()
    assert command["command"] == protocol.CANCEL_ORDER
    assert command["id"] == working.cancel_command_id
    assert command["args"]["broker_order_no"] == working.broker_order_no
    last = working.events.order_by("id").last()
    assert (last.from_status, last.to_status, last.note) == (OrderStatus.ACCEPTED, OrderStatus.PENDING_CANCEL, "drill")


def test_cancelling_again_sends_and_records_nothing_new(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    working = place(paper_trader, 4)
    broker.accept(working)
    services.cancel_orders([working.pk], note="first")
    broker.frames()
    events = working.events.count()

    again = services.cancel_orders([working.pk], note="second")

    assert again.sent == [working.pk]
    assert broker.frames() == []
    assert working.events.count() == events


def test_command_ids_differ_between_orders_and_batches(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    orders = [place(paper_trader, q) for q in (5, 6, 7)]
    for order in orders:
        broker.accept(order)
    broker.frames()  # the place commands
    services.cancel_orders([orders[0].pk, orders[1].pk], note="a")
    services.cancel_orders([orders[2].pk], note="b")
    ids = [f["id"] for f in broker.frames()]
    assert len(ids) == 3 and len(set(ids)) == 3
