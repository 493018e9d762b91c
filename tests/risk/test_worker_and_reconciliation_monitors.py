"""The worker-connection monitor halts a mode whose workers are gone during the session; reconciliation halts an
account whose positions disagree with the broker's balance. Both need consecutive readings."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from apps.accounts import services as account_services
from apps.accounts.models import Worker
from apps.orders import services
from apps.risk import monitors, states
from apps.risk.models import RiskAlert, State
from apps.risk.states import Scope
from tests.risk.support import Broker

pytestmark = pytest.mark.django_db
KST = ZoneInfo("Asia/Seoul")


def place(persona):
    return services.submit_order(
        user=persona.user, account_id=persona.paper.pk, symbol="005930", side="buy", quantity=1, order_type="limit", price=60_000
    ).order


def reconnect(broker: Broker) -> None:
    hello = {"server": "paper", "accounts": [], "stream_id": broker.stream, "worker_version": "t", "backend": "sim"}
    account_services.register_hello(worker_id=broker.worker.pk, channel_name=broker.channel, hello=hello)


def test_a_mode_without_a_live_worker_is_halted_and_released_on_reconnect(paper_trader, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper])
    assert monitors.check_workers() == 0
    broker.disconnect()
    assert [monitors.check_workers() for _ in range(3)] == [0, 0, 1]
    assert states.state_of(Scope.of_mode("paper")) == State.HALTED
    assert states.state_of(Scope.of_mode("real")) == State.ACTIVE  # no real worker is configured at all
    assert place(paper_trader).reason_code == "TRADING_HALTED"
    assert RiskAlert.objects.filter(kind="worker_disconnected").count() == 1
    reconnect(broker)
    monitors.check_workers()
    assert states.state_of(Scope.of_mode("paper")) == State.ACTIVE
    assert place(paper_trader).status == "QUEUED"


def test_the_alert_says_why_the_worker_is_gone_and_a_good_hello_clears_it(paper_trader, market_always) -> None:
    broker = Broker([paper_trader.paper])
    broker.disconnect()
    problem = "broker login failed: login failed -101: 서버접속실패 — worker exit code 5, ocx 0.1.0"
    account_services.record_worker_problem(worker_id=broker.worker.pk, problem=problem)
    assert [monitors.check_workers() for _ in range(3)] == [0, 0, 1]
    [alert] = RiskAlert.objects.filter(kind="worker_disconnected")
    assert f"{broker.worker.name}: {problem}" in alert.message
    reconnect(broker)
    broker.worker.refresh_from_db()
    assert (broker.worker.problem, broker.worker.problem_at) == ("", None)


def test_a_stale_heartbeat_counts_as_gone(paper_trader, market_always) -> None:
    broker = Broker([paper_trader.paper])
    # A killed server never clears the worker's route; only the heartbeat tells.
    Worker.objects.filter(pk=broker.worker.pk).update(last_heartbeat_at=timezone.now() - dt.timedelta(seconds=31))
    assert [monitors.check_workers() for _ in range(3)] == [0, 0, 1]


def test_a_brief_drop_does_not_halt(paper_trader, market_always) -> None:
    broker = Broker([paper_trader.paper])
    broker.disconnect()
    monitors.check_workers()
    monitors.check_workers()
    reconnect(broker)
    monitors.check_workers()
    broker.disconnect()
    assert [monitors.check_workers() for _ in range(2)] == [0, 0]
    assert states.state_of(Scope.of_mode("paper")) == State.ACTIVE


def test_outside_the_session_a_missing_worker_is_no_trip(paper_trader, settings) -> None:
    settings.MARKET_HOURS = "krx"
    with time_machine.travel(dt.datetime(2026, 11, 21, 11, 0, tzinfo=KST), tick=False):
        Broker([paper_trader.paper]).disconnect()
        assert [monitors.check_workers() for _ in range(5)] == [0] * 5


def test_reconnecting_does_not_lift_an_admins_halt(paper_trader, market_always) -> None:
    broker = Broker([paper_trader.paper])
    states.set_state(scope=Scope.of_mode("paper"), state=State.HALTED, reason="maintenance", source="admin:alice")
    reconnect(broker)
    monitors.check_workers()
    assert states.state_of(Scope.of_mode("paper")) == State.HALTED


def test_balance_mismatches_halt_the_account(paper_trader, outsider, symbols, market_always) -> None:
    broker = Broker([paper_trader.paper, outsider.paper])
    broker.fill(paper_trader.paper, "005930", "buy", 10, 70_000)
    broker.balance(paper_trader.paper, cash=1_000_000, positions={"005930": 10})
    broker.balance(paper_trader.paper, cash=1_000_000, positions={"005930": 9})
    broker.balance(paper_trader.paper, cash=1_000_000, positions={"005930": 10})  # a crossing, not a mismatch
    for _ in range(2):
        broker.balance(paper_trader.paper, cash=1_000_000, positions={"005930": 9})
    assert states.state_of(Scope.of_account(paper_trader.paper.pk)) == State.ACTIVE
    broker.balance(paper_trader.paper, cash=1_000_000, positions={"005930": 9, "000660": 1})
    assert states.state_of(Scope.of_account(paper_trader.paper.pk)) == State.HALTED
    assert states.state_of(Scope.of_account(outsider.paper.pk)) == State.ACTIVE
    alert = RiskAlert.objects.get(kind="reconciliation_mismatch")
    assert "005930" in alert.message and "000660" in alert.message
    # Matching again does not lift it: an admin resolves the difference first.
    broker.balance(paper_trader.paper, cash=1_000_000, positions={"005930": 10})
    assert states.state_of(Scope.of_account(paper_trader.paper.pk)) == State.HALTED


def test_it_asks_every_connected_worker_for_balances(paper_trader, outsider, market_always) -> None:
    broker = Broker([paper_trader.paper, outsider.paper])
    assert monitors.request_balances() == 2
    asked = sorted(f["args"]["account"] for f in broker.frames() if f["command"] == "query_balance")
    assert asked == sorted([paper_trader.paper.account_number, outsider.paper.account_number])
