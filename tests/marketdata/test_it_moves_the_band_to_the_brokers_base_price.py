"""The broker's 기준가 (opt10001, sent as symbol_info after a reconnect) moves today's ±30% band."""

from __future__ import annotations

import pytest

from apps.marketdata.models import Symbol
from apps.marketdata.services import upsert_symbol_master
from apps.orders import services
from apps.orders.models import OrderStatus
from kiwoom_worker import protocol
from tests.risk.support import Broker

pytestmark = pytest.mark.django_db
SAMSUNG = {"code": "005930", "name": "삼성전자", "market": "KOSPI", "kind": "stock", "previous_close": 70_000}


def buy_at(persona, price: int) -> tuple[str, str]:
    order = services.submit_order(
        user=persona.user, account_id=persona.paper.pk, symbol="005930", side="buy", quantity=1, order_type="limit", price=price, second_factor=True
    ).order
    return order.status, order.reason_code


def test_an_ex_dividend_base_moves_the_band(paper_trader, market_always) -> None:
    upsert_symbol_master([SAMSUNG])
    assert buy_at(paper_trader, 49_000) == (OrderStatus.QUEUED, "")  # yesterday's lower limit

    broker = Broker([paper_trader.paper])
    row = {"code": "005930", "name": "삼성전자", "base_price": 68_600, "upper_limit": 89_100, "lower_limit": 48_100, "last_price": 68_700}
    broker.event(protocol.SYMBOL_INFO, {"symbols": [row]})

    assert Symbol.objects.get(pk="005930").previous_close == 68_600
    assert buy_at(paper_trader, 48_100) == (OrderStatus.QUEUED, "")
    assert buy_at(paper_trader, 48_000) == (OrderStatus.DENIED, "PRICE_OUTSIDE_BAND")
    assert buy_at(paper_trader, 89_200) == (OrderStatus.DENIED, "PRICE_OUTSIDE_BAND")


def test_rows_that_cannot_be_right_change_nothing(paper_trader) -> None:
    upsert_symbol_master([SAMSUNG])
    broker = Broker([paper_trader.paper])
    junk = [
        {"code": "005930", "base_price": 68_650},  # off the 100-won tick of that price range
        {"code": "005930", "base_price": "68600"},  # not an integer
        {"code": "999990", "base_price": 10_000},  # not listed
        {"code": "bad", "base_price": 10_000},
        "not a row",
    ]
    for row in junk:
        broker.event(protocol.SYMBOL_INFO, {"symbols": [row]})
    assert Symbol.objects.get(pk="005930").previous_close == 70_000
    assert not Symbol.objects.filter(pk__in=["999990", "bad"]).exists()
