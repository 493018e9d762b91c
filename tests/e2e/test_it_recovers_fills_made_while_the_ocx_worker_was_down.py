"""Kiwoom drops the connection in the middle of fills (or the worker's process is killed); it is restarted.

Real processes: Daphne and the worker with its ocx backend hosting the control emulator, whose
exchange (orders, fills, holdings, cash) outlives the worker's process as Kiwoom's does. Fills made
while the worker was down never come as Chejan events; after the restart every fill must reach the
server exactly once and the positions must match the broker's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PyQt5.QtWidgets")

from bench.harness import Stack, eventually
from kiwoom_worker.link import EXIT_LOGIN_FAILED

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


class Exchange:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def command(self, **command: Any) -> None:
        with open(self.directory / "commands.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(command) + "\n")

    def state(self) -> dict[str, Any]:
        return json.loads((self.directory / "state.json").read_text(encoding="utf-8"))["exchange"]


@pytest.mark.parametrize("gone", ["connection_lost", "process_killed"])
def test_fills_made_while_disconnected_reach_the_server_once_after_the_restart(server_stack: Stack, gone: str) -> None:
    stack = server_stack
    token = stack.demo["tokens"]["paper"]
    paper = next(a for a in stack.demo["users"]["paper"]["accounts"] if a["mode"] == "paper")
    exchange = Exchange(stack.var_dir / "exchange")
    accounts, exchange_dir = [str(paper["number"])], ("--exchange-dir", str(exchange.directory))
    # As on the Windows PC, a supervisor restarts the worker after a lost connection; a killed process is
    # started again by hand here, so the fills made while nothing runs are certain to miss Chejan.
    stack.start_ocx_worker(accounts, *exchange_dir, supervised=gone == "connection_lost")
    eventually(
        lambda: stack.api("GET", "/api/accounts", token)[1][0]["balance_reported_at"], timeout_s=60, message=f"worker connected ({stack.tail('worker')})"
    )

    def place(symbol: str, quantity: int, price: int) -> dict[str, Any]:
        body = {"account": paper["id"], "symbol": symbol, "side": "buy", "quantity": quantity, "order_type": "limit", "price": price}
        status, order = stack.api("POST", "/api/orders", token, body)
        assert status == 201, order
        return eventually(lambda: (o := get(order["id"]))["broker_order_no"] and o, message="order number from the control")

    def get(order_id: int) -> dict[str, Any]:
        return stack.api("GET", f"/api/orders/{order_id}", token)[1]

    # Two limit orders rest on the emulated exchange (it fills limit orders only when told).
    samsung = place("005930", 10, 70_000)
    kodex = place("069500", 4, 35_000)

    # Part of the first fills while connected: those arrive as Chejan events.
    exchange.command(op="fill", order=samsung["broker_order_no"], quantity=3, price=70_000)
    eventually(lambda: get(samsung["id"])["filled_quantity"] == 3, message="the first fill over Chejan")

    if gone == "connection_lost":
        # The connection drops; the exchange goes on filling. The worker notices and exits for its supervisor.
        exchange.command(op="disconnect")
        exchange.command(op="fill", order=samsung["broker_order_no"], quantity=7, price=70_100, pieces=2)
        exchange.command(op="fill", order=kodex["broker_order_no"], quantity=4, price=34_950)
        eventually(lambda: f"worker exited {EXIT_LOGIN_FAILED}:" in stack.tail("worker"), message=f"the worker exits 5 ({stack.tail('worker')})")
        exchange.command(op="base_price", code="005930", price=68_600)  # the next session's 기준가 (ex-dividend)
        # The supervisor starts it again: login, reconciliation (opw00018, opw00001, opt10075 with each
        # order's totals, then opt10001 for what is held).
    else:
        # SIGKILL in the middle of seven one-share fills: some may have come as Chejan (and sit in the
        # outbox or reached the server), the rest only in the totals the restarted worker reads.
        exchange.command(op="fill", order=samsung["broker_order_no"], quantity=7, price=70_100, pieces=7)
        stack.stop("worker", kill=True)
        exchange.command(op="fill", order=kodex["broker_order_no"], quantity=4, price=34_950)  # while no worker runs
        exchange.command(op="base_price", code="005930", price=68_600)
        stack.start_ocx_worker(accounts, *exchange_dir)
    samsung_done = eventually(
        lambda: (o := get(samsung["id"]))["status"] == "FILLED" and o, timeout_s=60, message=f"filled after the restart ({stack.tail('worker')})"
    )
    kodex_done = eventually(lambda: (o := get(kodex["id"]))["status"] == "FILLED" and o, timeout_s=30, message="the order filled while down")

    # The band follows the broker's 기준가 for a held symbol (68,600 → 48,100–89,100), not yesterday's close.
    band = lambda: (q := stack.api("GET", "/api/symbols?q=005930", token)[1][0]) and (q["lower_limit"], q["upper_limit"])  # noqa: E731
    eventually(lambda: band() == (48_100, 89_100), timeout_s=30, message=f"band from opt10001 ({band()})")

    executions = stack.api("GET", "/api/executions", token)[1]
    assert sum(e["quantity"] for e in executions if e["order"] == samsung["id"]) == 10 == samsung_done["filled_quantity"]
    assert sum(e["quantity"] for e in executions if e["order"] == kodex["id"]) == 4 == kodex_done["filled_quantity"]
    # The shares filled while down are recorded from the order's totals (opt10075), at their average price.
    recovered = {(e["order"], e["quantity"], e["price"]) for e in executions if e["fill_no"].startswith("R")}
    assert (kodex["id"], 4, 34_950) in recovered
    if gone == "connection_lost":
        assert recovered == {(samsung["id"], 7, 70_100), (kodex["id"], 4, 34_950)}
    assert sum(e["quantity"] * e["price"] for e in executions if e["order"] == samsung["id"]) == 3 * 70_000 + 7 * 70_100

    # After the restart the connection is live again: a new order's fill arrives over Chejan, once.
    again = place("005930", 2, 70_000)
    exchange.command(op="fill", order=again["broker_order_no"], quantity=2, price=70_000)
    eventually(lambda: get(again["id"])["status"] == "FILLED", message="a fill after the restart")

    broker = exchange.state()["accounts"][str(paper["number"])]
    expected = {code: quantity for code, (quantity, _average) in broker["holdings"].items() if quantity}
    assert expected == {"005930": 12, "069500": 4}

    def positions() -> dict[str, int]:
        return {p["symbol"]: p["quantity"] for p in stack.api("GET", "/api/positions", token)[1] if p["quantity"]}

    eventually(lambda: positions() == expected, timeout_s=30, message=f"positions match the broker's ({positions()})")
    executions = stack.api("GET", "/api/executions", token)[1]
    assert sum(e["quantity"] for e in executions if e["order"] == again["id"]) == 2
    assert sum(e["quantity"] for e in executions) == 16, "every share filled exactly once"
