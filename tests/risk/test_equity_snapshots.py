"""End-of-day equity per account and session: cash plus holdings at the last price, one row per session."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.risk import monitors
from apps.risk.models import EquitySnapshot
from tests.risk.support import Broker, last_price

pytestmark = pytest.mark.django_db
KST = ZoneInfo("Asia/Seoul")


def test_it_writes_one_snapshot_per_account_and_session(paper_trader, symbols, settings) -> None:
    settings.MARKET_HOURS = "krx"
    day = dt.datetime(2026, 11, 20, 10, 0, tzinfo=KST)
    with time_machine.travel(day, tick=False):
        broker = Broker([paper_trader.paper])
        broker.balance(paper_trader.paper, cash=5_000_000)
        broker.fill(paper_trader.paper, "005930", "buy", 10, 70_000, fee=2_450)
        last_price("005930", 71_000)
    with time_machine.travel(day.replace(hour=18, minute=10), tick=False):
        assert monitors.take_equity_snapshots() == 2
        assert monitors.take_equity_snapshots() == 2  # the same session again replaces, never duplicates
    snapshot = EquitySnapshot.objects.get(account=paper_trader.paper)
    cash = 5_000_000 - 700_000 - 2_450
    assert (snapshot.session_date, snapshot.cash, snapshot.positions_value) == (dt.date(2026, 11, 20), cash, 710_000)
    assert snapshot.equity == cash + 710_000
    assert snapshot.day_pnl == 10_000 - 2_450
    assert snapshot.positions == [{"symbol": "005930", "quantity": 10, "mark": 71_000}]
    assert EquitySnapshot.objects.count() == 2
    with time_machine.travel(dt.datetime(2026, 11, 21, 18, 10, tzinfo=KST), tick=False):
        assert monitors.take_equity_snapshots() == 0  # Saturday: no session, no snapshot
