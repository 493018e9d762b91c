"""The browser order on the ocx stack: Chromium → Daphne → the worker's ocx backend → the control emulator.

The same dashboard as on the sim stack, but every order, fill, cancel and price goes through the
backend that drives Kiwoom's control (SendOrder, OnReceiveTrData, Chejan 접수/체결/확인, SetRealReg
and 주식체결), with the emulated exchange told from the test when to trade.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PyQt5.QtWidgets")

from bench.harness import Stack, build_stack, eventually
from tests.browser.chromium import CHROMIUM, buy_at_market, log_in_as_paper, rest_a_limit_order_then_cancel_it
from tests.support import skip_or_fail

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Stack]:
    if not Path(CHROMIUM).exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    stack = build_stack("embedded", tmp_path)
    try:
        stack.start_server()
        paper = [str(a["number"]) for a in stack.demo["users"]["paper"]["accounts"] if a["mode"] == "paper"]
        stack.start_ocx_worker(paper, "--exchange-dir", str(stack.var_dir / "exchange"))
        token = stack.demo["tokens"]["paper"]
        eventually(lambda: stack.api("GET", "/api/accounts", token)[1][0]["balance_reported_at"], timeout_s=60, message="ocx worker connected")
        yield stack
    finally:
        stack.stop_all()


def trade_on_the_exchange(stack: Stack, code: str, price: int, cumulative: int) -> None:
    with open(stack.var_dir / "exchange" / "commands.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"op": "trade", "code": code, "price": price, "volume": 10, "cumulative": cumulative}) + "\n")


def test_a_browser_order_fills_and_cancels_through_the_control(running: Stack, page) -> None:
    log_in_as_paper(running, page)
    page.evaluate("window.__no_reload = true")

    # A market order: the emulated control answers the order number, then 접수 and 체결 as Chejan.
    buy_at_market(page, "005930", 10)
    page.wait_for_selector("#orders tr[data-status=FILLED]", timeout=15_000)
    assert page.locator("#position-005930 td").nth(1).inner_text().replace(",", "") == "10"

    # A trade on the exchange reaches the page as 주식체결 real-time data for the registered code.
    cumulative = iter(range(1_000, 1_000_000, 10))

    def price_shown() -> bool:
        trade_on_the_exchange(running, "005930", 70_500, next(cumulative))  # again until the code is registered
        return "70,500" in page.locator("#position-005930 td").nth(3).inner_text()

    eventually(price_shown, timeout_s=30, interval_s=0.5, message="the exchange's price on the page")

    # A limit order at the lower price limit rests on the exchange; cancelled from the open-orders table (확인).
    rest_a_limit_order_then_cancel_it(running, page, "005930")
    assert page.evaluate("window.__no_reload") is True

    orders = running.api("GET", "/api/orders", running.demo["tokens"]["paper"])[1]
    assert all(o["broker_order_no"] for o in orders), "every order got its number from the control"
