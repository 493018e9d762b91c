"""The order service: checks, idempotency, denial codes, and what is stored."""

from __future__ import annotations

import pytest

from apps.orders import services
from apps.orders.models import Order, OrderEvent, OrderStatus

pytestmark = pytest.mark.django_db


def submit(persona, *, account=None, **kwargs):
    # A verified second factor: real orders need one (tests/accounts/test_two_factor.py covers its absence).
    params = {"symbol": "005930", "side": "buy", "quantity": 10, "order_type": "limit", "price": 70_000, "second_factor": True}
    params.update(kwargs)
    return services.submit_order(user=persona.user, account_id=(account or persona.paper).pk, **params)


def test_it_queues_a_valid_order_and_logs_each_transition(paper_trader, symbols, market_always) -> None:
    result = submit(paper_trader)
    order = Order.objects.get(pk=result.order.pk)
    assert result.created
    assert order.status == OrderStatus.QUEUED  # no worker connected in this test
    assert order.hoga_code == "00"
    assert list(order.events.values_list("to_status", flat=True)) == ["CREATED", "QUEUED"]


def test_it_returns_the_same_order_for_a_repeated_client_order_id(paper_trader, symbols, market_always) -> None:
    first = submit(paper_trader, client_order_id="abc-1")
    second = submit(paper_trader, client_order_id="abc-1", quantity=99)
    assert not second.created
    assert second.order.pk == first.order.pk
    assert Order.objects.filter(user=paper_trader.user).count() == 1


def test_client_order_ids_are_per_user(paper_trader, outsider, symbols, market_always) -> None:
    mine = submit(paper_trader, client_order_id="same")
    theirs = submit(outsider, client_order_id="same")
    assert mine.order.pk != theirs.order.pk


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"symbol": "05930"}, "INVALID_SYMBOL"),
        ({"symbol": "005930.KS"}, "INVALID_SYMBOL"),
        ({"symbol": "999999"}, "UNKNOWN_SYMBOL"),
        ({"quantity": 0}, "INVALID_QUANTITY"),
        ({"price": None}, "PRICE_REQUIRED"),
        ({"order_type": "market", "price": 70_000}, "PRICE_NOT_ALLOWED"),
        ({"price": 70_050}, "PRICE_OFF_TICK"),
        ({"price": 91_100}, "PRICE_OUTSIDE_BAND"),
        ({"price": 48_900}, "PRICE_OUTSIDE_BAND"),
    ],
)
def test_it_stores_denied_orders_with_their_code(paper_trader, symbols, market_always, kwargs, code) -> None:
    result = submit(paper_trader, **kwargs)
    order = Order.objects.get(pk=result.order.pk)
    assert order.status == OrderStatus.DENIED
    assert order.reason_code == code
    assert order.reason_message
    assert list(order.events.values_list("to_status", flat=True)) == ["CREATED", "DENIED"]


def test_limits_of_the_band_are_accepted(paper_trader, symbols, market_always) -> None:
    assert submit(paper_trader, price=91_000).order.status == OrderStatus.QUEUED
    assert submit(paper_trader, price=49_000).order.status == OrderStatus.QUEUED


def test_alphanumeric_codes_are_valid_symbols(paper_trader, symbols, market_always) -> None:
    assert submit(paper_trader, symbol="0126Z0", price=9_980).order.status == OrderStatus.QUEUED


def test_a_viewer_cannot_order(viewer, symbols, market_always) -> None:
    order = submit(viewer).order
    assert (order.status, order.reason_code) == (OrderStatus.DENIED, "PERMISSION_DENIED")


def test_a_paper_trader_cannot_order_in_real_mode(paper_trader, symbols, market_always) -> None:
    order = submit(paper_trader, account=paper_trader.real).order
    assert (order.status, order.reason_code, order.mode) == (OrderStatus.DENIED, "PERMISSION_DENIED", "real")


def test_a_real_trader_may_order_in_both_modes(real_trader, symbols, market_always) -> None:
    assert submit(real_trader).order.status == OrderStatus.QUEUED
    # Small-real defaults: 100,000 KRW per position, so one share here.
    assert submit(real_trader, account=real_trader.real, quantity=1).order.status == OrderStatus.QUEUED


def test_another_users_account_is_not_found(paper_trader, outsider, symbols, market_always) -> None:
    with pytest.raises(services.OrderNotFound):
        submit(paper_trader, account=outsider.paper)
    assert not Order.objects.exists()


def test_a_queued_order_is_canceled_locally(paper_trader, symbols, market_always) -> None:
    order = submit(paper_trader).order
    canceled = services.cancel_order(user=paper_trader.user, order_id=order.pk)
    assert canceled.status == OrderStatus.CANCELED
    assert canceled.canceled_quantity == 10


def test_a_finished_order_cannot_be_canceled(paper_trader, symbols, market_always) -> None:
    order = submit(paper_trader, price=1).order
    with pytest.raises(services.OrderNotCancelable):
        services.cancel_order(user=paper_trader.user, order_id=order.pk)


def test_an_unresolved_order_blocks_new_orders_on_that_symbol(paper_trader, symbols, market_always) -> None:
    order = submit(paper_trader).order
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.UNKNOWN)
    assert submit(paper_trader).order.reason_code == "ORDER_UNRESOLVED"
    assert submit(paper_trader, symbol="000660", price=180_000).order.status == OrderStatus.QUEUED


def test_order_events_are_append_only(paper_trader, symbols, market_always) -> None:
    event = submit(paper_trader).order.events.first()
    event.note = "rewritten"
    with pytest.raises(Exception, match="append-only"):
        event.save()
    with pytest.raises(Exception, match="append-only"):
        event.delete()
    assert OrderEvent.objects.filter(note="rewritten").count() == 0
