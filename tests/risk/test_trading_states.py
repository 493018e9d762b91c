"""Trading states per scope: the strictest wins, each state lets through only what it should, every change is recorded and pushed."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from apps.accounts.models import Worker
from apps.orders import services
from apps.orders.models import Order, OrderStatus, Origin
from apps.orders.notify import ALL_DASHBOARDS
from apps.risk import states
from apps.risk.models import State, TradingLock, TradingStateChange
from apps.risk.states import NotAllowed, Scope
from tests.risk.support import Broker

pytestmark = pytest.mark.django_db


def submit(persona, *, account=None, origin=Origin.MANUAL, **kwargs):
    # A verified second factor: real orders need one (tests/accounts/test_two_factor.py covers its absence).
    params = {"symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 70_000, "second_factor": True}
    params.update(kwargs)
    order = services.submit_order(user=persona.user, account_id=(account or persona.paper).pk, origin=origin, **params).order
    return order.status, order.reason_code


def halt(scope: Scope, state: str = State.HALTED, reason: str = "test") -> None:
    states.set_state(scope=scope, state=state, reason=reason, source="test")


def test_the_strictest_scope_wins(paper_trader, outsider, symbols, market_always) -> None:
    halt(Scope.everything(), State.REDUCING, "market wide caution")
    halt(Scope.of_account(paper_trader.paper.pk), State.HALTED, "account review")
    assert submit(paper_trader) == (OrderStatus.DENIED, "TRADING_HALTED")
    assert submit(outsider) == (OrderStatus.DENIED, "TRADING_REDUCING")
    halt(Scope.of_user(outsider.user.pk), State.EMERGENCY)
    assert submit(outsider) == (OrderStatus.DENIED, "TRADING_EMERGENCY")
    # A mode scope covers only that mode's accounts.
    states.set_state(scope=Scope.everything(), state=State.ACTIVE, reason="calm", source="test")
    halt(Scope.of_mode("real"))
    assert submit(paper_trader, account=paper_trader.real) == (OrderStatus.DENIED, "PERMISSION_DENIED")
    assert submit(outsider, quantity=2) == (OrderStatus.DENIED, "TRADING_EMERGENCY")


def test_reducing_allows_only_sells_of_shares_held(paper_trader, symbols, market_always) -> None:
    Broker([paper_trader.paper]).fill(paper_trader.paper, "005930", "buy", 5, 70_000)
    halt(Scope.of_account(paper_trader.paper.pk), State.REDUCING, "daily loss")
    assert submit(paper_trader) == (OrderStatus.DENIED, "TRADING_REDUCING")
    assert submit(paper_trader, side="sell", quantity=6) == (OrderStatus.DENIED, "TRADING_REDUCING")
    assert submit(paper_trader, side="sell", quantity=5) == (OrderStatus.QUEUED, "")


def test_halted_allows_cancels_only(paper_trader, symbols, market_always) -> None:
    queued = services.submit_order(
        user=paper_trader.user, account_id=paper_trader.paper.pk, symbol="005930", side="buy", quantity=1, order_type="limit", price=70_000
    )
    halt(Scope.of_user(paper_trader.user.pk))
    assert submit(paper_trader, side="sell") == (OrderStatus.DENIED, "TRADING_HALTED")
    assert services.cancel_order(user=paper_trader.user, order_id=queued.order.pk).status == OrderStatus.CANCELED


def test_emergency_allows_only_emergency_market_sells(paper_trader, symbols, market_always) -> None:
    Broker([paper_trader.paper]).fill(paper_trader.paper, "005930", "buy", 5, 70_000)
    emergency_sell = {"origin": Origin.EMERGENCY, "side": "sell", "order_type": "market", "price": None}
    # Outside an emergency, an "emergency" order is refused: the origin is not a way around the limits.
    assert submit(paper_trader, **emergency_sell, quantity=5) == (OrderStatus.DENIED, "EMERGENCY_ORDER_INVALID")
    halt(Scope.everything(), State.EMERGENCY)
    assert submit(paper_trader, side="sell", quantity=5) == (OrderStatus.DENIED, "TRADING_EMERGENCY")
    assert submit(paper_trader, **{**emergency_sell, "side": "buy"}, quantity=1) == (OrderStatus.DENIED, "EMERGENCY_ORDER_INVALID")
    assert submit(paper_trader, **emergency_sell, quantity=6) == (OrderStatus.DENIED, "INSUFFICIENT_SELLABLE")
    assert submit(paper_trader, **emergency_sell, quantity=5) == (OrderStatus.QUEUED, "")


def test_every_change_records_who_why_and_when(paper_trader, admin_persona) -> None:
    scope = Scope.of_user(paper_trader.user.pk)
    assert states.set_state(scope=scope, state=State.HALTED, reason="suspicious fills", source="admin:alice", changed_by=admin_persona.user)
    assert not states.set_state(scope=scope, state=State.HALTED, reason="again", source="admin:alice")
    assert states.resume_trading(scope=scope, by=admin_persona.user, by_name="alice_admin", reason="checked with the broker")
    history = list(
        TradingStateChange.objects.filter(scope_key=scope.key).order_by("id").values_list("old_state", "new_state", "reason", "source", "changed_by")
    )
    assert history == [
        ("ACTIVE", "HALTED", "suspicious fills", "admin:alice", admin_persona.user.pk),
        ("HALTED", "ACTIVE", "checked with the broker", "admin:alice_admin", admin_persona.user.pk),
    ]
    with pytest.raises(Exception, match="append-only"):
        TradingStateChange.objects.first().delete()


def test_only_an_admin_returns_a_scope_to_active(paper_trader, admin_persona) -> None:
    scope = Scope.of_user(paper_trader.user.pk)
    halt(scope)
    with pytest.raises(NotAllowed):
        states.resume_trading(scope=scope, by=paper_trader.user, by_name=paper_trader.user.username, reason="I feel fine")
    assert states.state_of(scope) == State.HALTED
    states.resume_trading(scope=scope, by=admin_persona.user, by_name="alice", reason="ok")
    assert states.state_of(scope) == State.ACTIVE


def test_a_monitor_never_makes_a_scope_laxer(paper_trader) -> None:
    scope = Scope.of_account(paper_trader.paper.pk)
    halt(scope, State.HALTED, "admin halt")
    assert not states.raise_state(scope=scope, state=State.REDUCING, reason="daily loss", source="monitor:daily_loss")
    assert not states.set_state(scope=scope, state=State.ACTIVE, reason="new day", source="session_reset", only_from_source="monitor:daily_loss")
    assert states.state_of(scope) == State.HALTED


def test_changes_are_pushed_to_every_dashboard(paper_trader, django_capture_on_commit_callbacks) -> None:
    layer = get_channel_layer()
    channel = f"test.dashboard.{uuid.uuid4().hex}"
    async_to_sync(layer.group_add)(ALL_DASHBOARDS, channel)
    with django_capture_on_commit_callbacks(execute=True):
        halt(Scope.everything(), State.HALTED, "broker outage")

    async def receive() -> dict:
        return await asyncio.wait_for(layer.receive(channel), 2)

    assert async_to_sync(receive)() == {"type": "dash.risk"}


def test_a_queued_order_is_held_while_its_scope_is_halted(paper_trader, symbols, market_always) -> None:
    order = services.submit_order(
        user=paper_trader.user, account_id=paper_trader.paper.pk, symbol="005930", side="buy", quantity=1, order_type="limit", price=70_000
    ).order
    broker = Broker([paper_trader.paper])
    halt(Scope.of_mode("paper"), State.HALTED, "worker trouble")
    services.dispatch_order(order.pk)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.QUEUED
    assert broker.frames() == []
    states.set_state(scope=Scope.of_mode("paper"), state=State.ACTIVE, reason="back", source="test")
    services.dispatch_order(order.pk)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SUBMITTED
    assert [f["command"] for f in broker.frames()] == ["place_order"]


def test_locks_block_until_their_time(paper_trader, symbols, market_always) -> None:
    until = timezone.now() + dt.timedelta(minutes=5)
    TradingLock.objects.create(user=paper_trader.user, symbol="005930", side="buy", until=until, reason="cooldown after a stop-out")
    assert submit(paper_trader) == (OrderStatus.DENIED, "TRADING_LOCKED")
    assert submit(paper_trader, symbol="000660", price=180_000) == (OrderStatus.QUEUED, "")
    TradingLock.objects.update(until=timezone.now())
    assert submit(paper_trader) == (OrderStatus.QUEUED, "")


def test_a_worker_on_the_other_server_blocks_the_account(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    # The link closes such a connection at hello; this is the second line of defence if a row says otherwise.
    Worker.objects.filter(pk=broker.worker.pk).update(reported_server="real")
    assert submit(paper_trader) == (OrderStatus.DENIED, "MODE_MISMATCH")
