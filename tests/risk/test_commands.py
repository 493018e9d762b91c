"""The operator's commands: emergency_stop, resume_trading and risk_limits, as run from the server's shell."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.risk import emergency, states
from apps.risk.models import EmergencyStop, State, TradingStateChange
from apps.risk.states import Scope

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_emergency_stop_then_resume_trading(paper_trader, market_always) -> None:
    assert "emergency stop #" in run("emergency_stop", "--user", paper_trader.user.username, "--reason", "suspicious strategy")
    stop = EmergencyStop.objects.get()
    assert (stop.scope_key, stop.trigger) == (f"user:{paper_trader.user.pk}", "command")
    assert stop.requested_by_name.startswith("manage.py")
    run("emergency_stop", "--user", paper_trader.user.username, "--reason", "again")
    assert EmergencyStop.objects.count() == 1
    with pytest.raises(CommandError, match="진행 중"):
        run("resume_trading", "--user", paper_trader.user.username, "--reason", "too early")
    assert emergency.run_pass(stop.pk) is True
    assert states.state_of(Scope.of_user(paper_trader.user.pk)) == State.HALTED
    assert "ACTIVE" in run("resume_trading", "--user", paper_trader.user.username, "--reason", "checked the positions")
    change = TradingStateChange.objects.filter(new_state="ACTIVE").get()
    assert change.reason == "checked the positions" and change.source.startswith("admin:manage.py")


def test_scopes_and_bad_input(paper_trader, market_always) -> None:
    run("emergency_stop", "--account", str(paper_trader.paper.pk), "--reason", "one account")
    run("emergency_stop", "--all", "--reason", "everything")
    assert set(EmergencyStop.objects.values_list("scope_key", flat=True)) == {f"account:{paper_trader.paper.pk}", "global"}
    with pytest.raises(CommandError, match="no user"):
        run("emergency_stop", "--user", "nobody", "--reason", "x")
    with pytest.raises(CommandError, match="no broker account"):
        run("resume_trading", "--account", "999999", "--reason", "x")


def test_risk_limits_shows_and_sets(paper_trader) -> None:
    assert json.loads(run("risk_limits", "--mode", "paper"))["max_order_amount"] == 10_000_000
    shown = json.loads(run("risk_limits", "--mode", "paper", "--user", paper_trader.user.username, "max_order_amount=2,000,000", "max_orders_per_minute=none"))
    assert (shown["max_order_amount"], shown["max_orders_per_minute"], shown["daily_loss_limit"]) == (2_000_000, None, 500_000)
    assert json.loads(run("risk_limits", "--mode", "paper"))["max_order_amount"] == 10_000_000
    with pytest.raises(CommandError, match="FIELD=VALUE"):
        run("risk_limits", "--mode", "paper", "max_everything=1")
