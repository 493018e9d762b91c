"""The daily-loss monitor: a warning at 70%, a trip after consecutive readings past the limit, fail closed, reset at the next session."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.marketdata.models import Symbol
from apps.orders import services
from apps.orders.models import Order, OrderStatus
from apps.risk import monitors, states, tasks
from apps.risk.models import EmergencyStop, RiskAlert, SessionMark, State, TradingStateChange
from apps.risk.states import Scope
from tests.risk.support import Broker, last_price, limits

pytestmark = pytest.mark.django_db
KST = ZoneInfo("Asia/Seoul")


def place(persona, **kwargs) -> Order:
    params = {"symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 60_000}
    params.update(kwargs)
    return services.submit_order(user=persona.user, account_id=persona.paper.pk, **params).order


@pytest.fixture
def holding(paper_trader, symbols):
    """Ten shares of 005930 bought at the base price (70,000), a resting buy and a resting sell."""
    broker = Broker([paper_trader.paper])
    broker.fill(paper_trader.paper, "005930", "buy", 10, 70_000)
    entry, exit_ = place(paper_trader, symbol="005935", price=50_000), place(paper_trader, side="sell", quantity=2, price=75_000)
    broker.accept(entry)
    broker.accept(exit_)
    broker.frames()
    limits(paper_trader.user, daily_loss_limit=10_000)
    return broker, entry, exit_


def account_state(persona) -> str:
    return states.effective_state(persona.paper).state


def test_it_warns_once_at_70_percent_and_trips_after_three_readings(paper_trader, market_always, holding) -> None:
    broker, entry, exit_ = holding
    last_price("005930", 69_300)  # −7,000: 70% of 10,000
    assert monitors.check_daily_loss() == 0
    assert monitors.check_daily_loss() == 0
    assert list(RiskAlert.objects.values_list("kind", flat=True)) == ["daily_loss_warning"]

    last_price("005930", 68_900)  # −11,000
    assert monitors.check_daily_loss() == 0
    last_price("005930", 69_500)  # one good reading: the count starts again
    assert monitors.check_daily_loss() == 0
    last_price("005930", 68_900)
    assert [monitors.check_daily_loss() for _ in range(3)] == [0, 0, 1]

    assert account_state(paper_trader) == State.REDUCING
    assert Order.objects.get(pk=entry.pk).status == OrderStatus.PENDING_CANCEL
    assert Order.objects.get(pk=exit_.pk).status == OrderStatus.ACCEPTED  # exits are kept
    assert [f["args"]["order_id"] for f in broker.frames() if f["command"] == "cancel_order"] == [entry.pk]
    assert place(paper_trader, symbol="000660", price=150_000).reason_code == "TRADING_REDUCING"
    assert place(paper_trader, side="sell", quantity=8, price=68_900).status == OrderStatus.QUEUED
    assert RiskAlert.objects.filter(kind="daily_loss_trip").count() == 1
    assert monitors.check_daily_loss() == 0  # tripped once per session


def test_a_figure_it_cannot_compute_trips_it(paper_trader, market_always, holding) -> None:
    Symbol.objects.filter(pk="005930").delete()  # a held symbol without a base price: no figure
    assert [monitors.check_daily_loss() for _ in range(3)] == [0, 0, 1]
    assert account_state(paper_trader) == State.REDUCING
    assert "계산할 수 없어" in states.effective_state(paper_trader.paper).reason


def test_it_can_be_set_to_a_full_emergency_stop(paper_trader, market_always, holding) -> None:
    limits(paper_trader.user, daily_loss_action="emergency")
    last_price("005930", 68_000)
    for _ in range(3):
        monitors.check_daily_loss()
    run = EmergencyStop.objects.get()
    assert (run.scope_key, run.trigger) == (f"account:{paper_trader.paper.pk}", "monitor")
    assert account_state(paper_trader) == State.EMERGENCY


def test_it_resets_at_the_next_session_boundary(paper_trader, symbols, settings) -> None:
    settings.MARKET_HOURS = "krx"
    friday = dt.datetime(2026, 11, 20, 10, 0, tzinfo=KST)
    with time_machine.travel(friday, tick=False) as clock:
        broker = Broker([paper_trader.paper])
        broker.fill(paper_trader.paper, "005930", "buy", 10, 70_000)
        limits(paper_trader.user, daily_loss_limit=10_000)
        last_price("005930", 68_000)
        for _ in range(3):
            clock.shift(dt.timedelta(seconds=5))
            monitors.check_daily_loss()
        assert account_state(paper_trader) == State.REDUCING
    with time_machine.travel(friday.replace(hour=16), tick=False):
        assert monitors.check_daily_loss() == 0  # no readings outside the session
        assert account_state(paper_trader) == State.REDUCING
    with time_machine.travel(dt.datetime(2026, 11, 23, 7, 59, 59, tzinfo=KST), tick=False):
        assert tasks.reset_daily_counters_task() is False
        assert account_state(paper_trader) == State.REDUCING
    with time_machine.travel(dt.datetime(2026, 11, 23, 8, 0, tzinfo=KST), tick=False):
        assert tasks.reset_daily_counters_task() is True
        assert tasks.reset_daily_counters_task() is False
    assert account_state(paper_trader) == State.ACTIVE
    change = TradingStateChange.objects.filter(scope_key=f"account:{paper_trader.paper.pk}").first()
    assert (change.new_state, change.source) == ("ACTIVE", "session_reset")
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 0, tzinfo=KST), tick=False):
        # Friday's close is Monday's base: the new session starts from zero.
        assert [monitors.check_daily_loss() for _ in range(3)] == [0, 0, 0]
        assert place(paper_trader, symbol="000660", price=150_000).status == OrderStatus.QUEUED


def test_it_does_not_lift_a_halt_someone_else_set(paper_trader, market_always, holding) -> None:
    last_price("005930", 68_000)
    for _ in range(3):
        monitors.check_daily_loss()
    states.set_state(scope=Scope.of_account(paper_trader.paper.pk), state=State.HALTED, reason="admin review", source="admin:alice")
    monitors.reset_daily_if_due()
    SessionMark.objects.update(session_date=dt.date(2020, 1, 1))
    assert monitors.reset_daily_if_due() is True
    assert account_state(paper_trader) == State.HALTED
