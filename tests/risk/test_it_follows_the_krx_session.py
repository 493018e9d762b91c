"""Orders outside KRX hours are denied or queued for the next session, per OUTSIDE_HOURS_POLICY, on the real calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.orders import services
from apps.orders.models import OrderEvent, OrderStatus

pytestmark = pytest.mark.django_db
KST = ZoneInfo("Asia/Seoul")


@pytest.fixture
def krx(settings):
    settings.MARKET_HOURS = "krx"
    return settings


def place(persona):
    return services.submit_order(
        user=persona.user, account_id=persona.paper.pk, symbol="005930", side="buy", quantity=1, order_type="limit", price=70_000
    ).order


@pytest.mark.parametrize(
    ("moment", "next_open"),
    [
        (dt.datetime(2026, 12, 31, 10, 0, tzinfo=KST), "2027-01-04 09:30"),  # year-end closing; the first day of 2027 opens an hour late
        (dt.datetime(2026, 1, 2, 9, 15, tzinfo=KST), "2026-01-02 09:30"),  # first trading day: the opening auction starts at 09:30
        (dt.datetime(2026, 11, 19, 9, 15, tzinfo=KST), "2026-11-19 09:30"),  # CSAT day: everything an hour later
        (dt.datetime(2026, 11, 18, 16, 25, tzinfo=KST), "2026-11-19 09:30"),  # after the close on the eve of the CSAT, which opens late
        (dt.datetime(2026, 11, 21, 11, 0, tzinfo=KST), "2026-11-23 08:30"),  # Saturday
        (dt.datetime(2026, 9, 25, 11, 0, tzinfo=KST), "2026-09-28 08:30"),  # Chuseok
    ],
)
def test_closed_market_denies_with_the_next_open(paper_trader, symbols, krx, moment, next_open) -> None:
    krx.OUTSIDE_HOURS_POLICY = "deny"
    with time_machine.travel(moment, tick=False):
        order = place(paper_trader)
    assert (order.status, order.reason_code) == (OrderStatus.DENIED, "MARKET_CLOSED")
    assert next_open in order.reason_message


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 1, 2, 9, 30, tzinfo=KST),  # first trading day, opening auction
        dt.datetime(2026, 11, 19, 16, 25, tzinfo=KST),  # CSAT day closing auction (an ordinary day has closed by then)
        dt.datetime(2026, 11, 18, 8, 30, tzinfo=KST),  # an ordinary opening auction
        dt.datetime(2026, 11, 18, 15, 29, 59, tzinfo=KST),  # the last second of the closing auction
    ],
)
def test_open_market_accepts(paper_trader, symbols, krx, moment) -> None:
    krx.OUTSIDE_HOURS_POLICY = "deny"
    with time_machine.travel(moment, tick=False):
        assert place(paper_trader).status == OrderStatus.QUEUED


def test_queue_policy_keeps_the_order_for_the_next_session_and_says_so(paper_trader, symbols, krx) -> None:
    krx.OUTSIDE_HOURS_POLICY = "queue"
    with time_machine.travel(dt.datetime(2026, 12, 31, 10, 0, tzinfo=KST), tick=False):
        order = place(paper_trader)
    assert order.status == OrderStatus.QUEUED
    note = OrderEvent.objects.get(order=order, to_status=OrderStatus.QUEUED).note
    assert "2027-01-04 09:30" in note


def test_a_date_outside_the_calendar_denies_rather_than_guesses(paper_trader, symbols, krx) -> None:
    with time_machine.travel(dt.datetime(2031, 3, 3, 10, 0, tzinfo=KST), tick=False):
        order = place(paper_trader)
    assert (order.status, order.reason_code) == (OrderStatus.DENIED, "RISK_CHECK_FAILED")
