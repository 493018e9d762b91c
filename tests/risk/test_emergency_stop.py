"""The emergency stop in one process against the real order service and worker-event service: what the broker
receives (cancels, then market sells), what traders see (denials, HALTED), what admins get (mail, webhook)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from apps.accounts import services as account_services
from apps.orders import services
from apps.orders.models import Order, OrderStatus, Origin, Position
from apps.risk import emergency, states, tasks
from apps.risk.models import AlertDelivery, EmergencyStop, EmergencyStopTarget, State
from apps.risk.states import NotAllowed, Scope
from tests.risk.support import Broker

pytestmark = pytest.mark.django_db(transaction=True)
KST = ZoneInfo("Asia/Seoul")


@pytest.fixture
def webhook(settings):
    """A real HTTP endpoint that records what the platform posts to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/hook"
    settings.RISK_ALERT_EMAILS = ["risk-desk@example.com"]
    yield received
    server.shutdown()


def order(persona, **kwargs) -> Order:
    params = {"symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 60_000}
    params.update(kwargs)
    return services.submit_order(user=persona.user, account_id=persona.paper.pk, **params).order


def commands(broker: Broker, name: str) -> list[dict]:
    return [f["args"] for f in broker.frames() if f["command"] == name]


def emergency_sells() -> list[tuple[int, str, int]]:
    return sorted(Order.objects.filter(origin=Origin.EMERGENCY).values_list("account_id", "symbol", "quantity"))


def held() -> dict[tuple[int, str], int]:
    return {(p.account_id, p.symbol): p.quantity for p in Position.objects.exclude(quantity=0)}


def fill_sells(broker: Broker) -> None:
    for args in commands(broker, "place_order"):
        sell = Order.objects.select_related("account").get(pk=args["order_id"])
        assert (sell.side, sell.order_type, sell.origin) == ("sell", "market", Origin.EMERGENCY)
        broker.accept(sell)
        broker.fill(sell.account, sell.symbol, "sell", sell.quantity, 69_000, order=Order.objects.get(pk=sell.pk))


def test_it_cancels_waits_liquidates_halts_and_alerts(paper_trader, outsider, admin_persona, symbols, market_always, webhook) -> None:
    queued = order(paper_trader, quantity=3)  # no worker yet: it stays on the server
    broker = Broker([paper_trader.paper, outsider.paper])
    broker.fill(paper_trader.paper, "005930", "buy", 10, 70_000)
    broker.fill(paper_trader.paper, "000660", "buy", 3, 180_000)
    broker.fill(outsider.paper, "005930", "buy", 4, 70_000)
    resting = [order(paper_trader, quantity=2), order(outsider, quantity=5), order(outsider, symbol="000660", price=150_000)]
    for o in resting:
        broker.accept(o)
    unanswered = order(outsider, quantity=7)  # sent, no order number yet
    broker.frames()

    run = emergency.trigger_stop(scope=Scope.everything(), reason="broker outage drill", trigger=EmergencyStop.Trigger.ADMIN, requested_by=admin_persona.user)
    assert order(paper_trader, quantity=4).reason_code == "TRADING_EMERGENCY"
    assert emergency.trigger_stop(scope=Scope.everything(), reason="pressed again", trigger="admin", requested_by=admin_persona.user).pk == run.pk

    assert emergency.run_pass(run.pk) is False  # cancels sent; waiting for the broker to confirm
    assert Order.objects.get(pk=queued.pk).status == OrderStatus.CANCELED
    assert {a["order_id"] for a in commands(broker, "cancel_order")} == {o.pk for o in resting}
    assert Order.objects.get(pk=unanswered.pk).status == OrderStatus.PENDING_CANCEL
    for o in resting:
        broker.cancel_confirmed(o)
    broker.accept(unanswered)  # the acceptance releases the cancel that was waiting for its number
    assert [a["order_id"] for a in commands(broker, "cancel_order")] == [unanswered.pk]
    broker.cancel_confirmed(unanswered)

    assert emergency.run_pass(run.pk) is False  # market sells sent; waiting for fills
    accounts = {paper_trader.paper.pk, outsider.paper.pk}
    assert emergency_sells() == sorted([(paper_trader.paper.pk, "000660", 3), (paper_trader.paper.pk, "005930", 10), (outsider.paper.pk, "005930", 4)])
    fill_sells(broker)
    assert emergency.run_pass(run.pk) is True

    run.refresh_from_db()
    assert run.step == EmergencyStop.Step.DONE and run.finished_at is not None
    assert held() == {}
    assert states.state_of(Scope.everything()) == State.HALTED
    assert order(outsider, quantity=8).reason_code == "TRADING_HALTED"
    assert {t.account_id for t in EmergencyStopTarget.objects.filter(run=run, kind="liquidate", status="done")} == accounts
    assert [m.subject for m in mail.outbox] == [f"[긴급/critical] {s}" for s in ("긴급 정지 시작: 전체", "긴급 정지 완료: 전체")]
    assert [w["kind"] for w in webhook] == ["emergency_stop_started", "emergency_stop_done"]
    assert webhook[1]["data"]["positions_left"] == []
    assert AlertDelivery.objects.filter(channel="webhook", ok=True).count() == 2
    steps = [s for s in run.logs.values_list("step", flat=True)]
    assert steps[0] == "CANCELLING" and steps[-1] == "DONE" and "LIQUIDATING" in steps

    # Pressing again after it finished starts a new run that finds nothing left to cancel or sell.
    again = emergency.trigger_stop(scope=Scope.everything(), reason="pressed again", trigger="admin", requested_by=admin_persona.user)
    assert again.pk != run.pk
    assert emergency.run_pass(again.pk) is True
    assert len(emergency_sells()) == 3
    assert [f for f in broker.frames() if f["command"] in ("place_order", "cancel_order")] == []


def test_a_runner_that_dies_mid_way_is_resumed_without_selling_twice(paper_trader, symbols, market_always, monkeypatch) -> None:
    broker = Broker([paper_trader.paper])
    for symbol, price in (("005930", 70_000), ("000660", 180_000), ("005935", 58_000)):
        broker.fill(paper_trader.paper, symbol, "buy", 5, price)
    run = emergency.trigger_stop(scope=Scope.of_user(paper_trader.user.pk), reason="drill", trigger="command")
    real_submit = services.submit_order
    calls = []

    def dies_on_the_second_sell(**kwargs):
        calls.append(kwargs["symbol"])
        if len(calls) == 2:
            raise SystemExit("the server was killed here")
        return real_submit(**kwargs)

    monkeypatch.setattr(services, "submit_order", dies_on_the_second_sell)
    with pytest.raises(SystemExit):
        emergency.run_pass(run.pk)
    monkeypatch.setattr(services, "submit_order", real_submit)
    # A killed process releases nothing: its lease is still there.
    EmergencyStop.objects.filter(pk=run.pk).update(lease_owner="dead-runner", lease_until=timezone.now() + dt.timedelta(seconds=15))
    assert len(emergency_sells()) == 1

    assert tasks.resume_emergency_stops_task() == 1  # the lease has not expired: left alone
    assert len(emergency_sells()) == 1
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=16)):
        tasks.resume_emergency_stops_task()
        tasks.resume_emergency_stops_task()
    assert emergency_sells() == sorted((paper_trader.paper.pk, s, 5) for s in ("000660", "005930", "005935"))
    fill_sells(broker)
    assert emergency.run_pass(run.pk) is True
    assert held() == {}
    assert len(emergency_sells()) == 3


def test_a_worker_disconnect_leaves_the_sells_queued_until_it_returns(paper_trader, symbols, market_always, settings) -> None:
    settings.RISK_LIQUIDATION_WAIT_S = 0
    broker = Broker([paper_trader.paper])
    broker.fill(paper_trader.paper, "005930", "buy", 6, 70_000)
    broker.disconnect()
    run = emergency.trigger_stop(scope=Scope.of_account(paper_trader.paper.pk), reason="drill", trigger="command")
    assert emergency.run_pass(run.pk) is True
    sell = Order.objects.get(origin=Origin.EMERGENCY)
    assert sell.status == OrderStatus.QUEUED
    assert states.state_of(Scope.of_account(paper_trader.paper.pk)) == State.HALTED
    run.refresh_from_db()
    assert run.summary["positions_left"] == [{"account_id": paper_trader.paper.pk, "symbol": "005930", "quantity": 6}]

    # The worker's hello dispatches queued orders; an emergency sell goes even though the scope is HALTED.
    account_services.register_hello(
        worker_id=broker.worker.pk,
        channel_name=broker.channel,
        hello={"server": "paper", "accounts": [], "stream_id": broker.stream, "worker_version": "t", "backend": "sim"},
    )
    services.resend_unanswered(broker.worker)
    fill_sells(broker)
    assert held() == {}


def test_outside_market_hours_the_sells_wait_for_the_next_session_and_it_says_so(paper_trader, symbols, settings) -> None:
    settings.MARKET_HOURS = "krx"
    settings.OUTSIDE_HOURS_POLICY = "deny"
    friday = dt.datetime(2026, 11, 20, 10, 0, tzinfo=KST)
    with time_machine.travel(friday, tick=False):
        broker = Broker([paper_trader.paper])
        broker.fill(paper_trader.paper, "005930", "buy", 6, 70_000)
    with time_machine.travel(friday + dt.timedelta(days=1), tick=False):
        run = emergency.trigger_stop(scope=Scope.of_user(paper_trader.user.pk), reason="weekend drill", trigger="command")
        assert emergency.run_pass(run.pk) is True
        assert commands(broker, "place_order") == []
    target = EmergencyStopTarget.objects.get(run=run, kind="liquidate")
    assert target.status == "queued" and "2026-11-23 08:30" in target.note
    run.refresh_from_db()
    assert "2026-11-23 08:30" in run.logs.get(message__contains="다음 정규장").message
    with time_machine.travel(dt.datetime(2026, 11, 23, 8, 30, 1, tzinfo=KST), tick=False):
        services.dispatch_queued()
        # Read inside the travel: the channel layer expires messages by the clock.
        assert [(a["side"], a["quantity"], a["hoga"]) for a in commands(broker, "place_order")] == [("sell", 6, "03")]


def test_who_may_press_it(paper_trader, outsider, viewer, admin_persona) -> None:
    mine = Scope.of_user(paper_trader.user.pk)
    assert emergency.trigger_stop(scope=mine, reason="mine", trigger="trader", requested_by=paper_trader.user).scope_key == mine.key
    assert emergency.trigger_stop(scope=Scope.of_account(paper_trader.paper.pk), reason="one account", trigger="trader", requested_by=paper_trader.user)
    for scope in (Scope.of_user(outsider.user.pk), Scope.of_account(outsider.paper.pk), Scope.everything()):
        with pytest.raises(NotAllowed):
            emergency.trigger_stop(scope=scope, reason="not mine", trigger="trader", requested_by=paper_trader.user)
    with pytest.raises(NotAllowed):
        emergency.trigger_stop(scope=Scope.of_user(viewer.user.pk), reason="viewer", trigger="trader", requested_by=viewer.user)
    assert emergency.trigger_stop(scope=Scope.of_user(outsider.user.pk), reason="admin", trigger="admin", requested_by=admin_persona.user)
    with pytest.raises(NotAllowed):
        states.resume_trading(scope=mine, by=admin_persona.user, by_name="alice", reason="too early")  # the stop is still running
