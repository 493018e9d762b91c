"""거래정지 from the broker's master file blocks orders; it never overwrites an admin's own switch."""

from __future__ import annotations

import pytest

from apps.marketdata.models import Symbol
from apps.marketdata.services import upsert_symbol_master
from apps.orders import services
from apps.orders.models import OrderStatus

pytestmark = pytest.mark.django_db
HYNIX = {"code": "000660", "name": "SK하이닉스", "market": "KOSPI", "kind": "stock", "previous_close": 180_000}


def buy(persona) -> tuple[str, str]:
    order = services.submit_order(
        user=persona.user, account_id=persona.paper.pk, symbol="000660", side="buy", quantity=1, order_type="limit", price=180_000, second_factor=True
    ).order
    return order.status, order.reason_code


def test_a_suspended_symbol_is_denied_with_its_own_code_until_the_broker_lifts_it(paper_trader, market_always) -> None:
    upsert_symbol_master([{**HYNIX, "suspended": True}])
    status, code = buy(paper_trader)
    assert (status, code) == (OrderStatus.DENIED, "SYMBOL_SUSPENDED")

    upsert_symbol_master([{**HYNIX, "suspended": False}])  # the next login's master file
    assert buy(paper_trader) == (OrderStatus.QUEUED, "")


def test_the_broker_master_leaves_an_admins_switch_alone(paper_trader, market_always) -> None:
    upsert_symbol_master([HYNIX])
    Symbol.objects.filter(pk="000660").update(is_tradable=False)  # an admin took it off the list
    upsert_symbol_master([{**HYNIX, "suspended": False}])
    assert Symbol.objects.values_list("is_tradable", "suspended").get(pk="000660") == (False, False)
    assert buy(paper_trader) == (OrderStatus.DENIED, "SYMBOL_NOT_TRADABLE")


def test_only_a_true_flag_suspends(paper_trader, market_always) -> None:
    # A worker whose master has no such flag (the sim) or sends junk never suspends anything.
    upsert_symbol_master([HYNIX, {**HYNIX, "code": "005930", "previous_close": 70_000, "suspended": "yes"}])
    assert set(Symbol.objects.filter(suspended=True).values_list("code", flat=True)) == set()
