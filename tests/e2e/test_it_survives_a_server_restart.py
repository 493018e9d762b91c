"""Kill the server while the sim worker is sending fills: every fill arrives exactly once."""

from __future__ import annotations

import time

import pytest

from bench.harness import Stack, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
QUANTITY = 10_000  # large against the sim's per-step liquidity (50–400 shares), so it fills in pieces over seconds


def test_every_fill_arrives_exactly_once_across_a_server_crash(stack: Stack) -> None:
    token = stack.demo["tokens"]["paper"]
    account = next(a["id"] for a in stack.demo["users"]["paper"]["accounts"] if a["mode"] == "paper")
    eventually(lambda: stack.api("GET", "/api/accounts", token)[1][0]["balance_reported_at"], timeout_s=60, message="worker connected")
    # An order far larger than the paper default's 10,000,000 KRW per order, so it fills in many pieces.
    stack.set_risk_limits("paper", "paper", max_order_amount=None)

    # A limit buy far above the market (inside the band) is marketable at once and fills step by step.
    quote = stack.api("GET", "/api/symbols?q=117580", token)[1][0]
    status, order = stack.api(
        "POST",
        "/api/orders",
        token,
        {"account": account, "symbol": "117580", "side": "buy", "quantity": QUANTITY, "order_type": "limit", "price": quote["upper_limit"]},
    )
    assert status == 201, order
    eventually(lambda: stack.api("GET", f"/api/orders/{order['id']}", token)[1]["filled_quantity"] > 0, message="first fill")

    stack.stop("daphne", kill=True)  # SIGKILL: no graceful shutdown, in-flight frames are lost
    time.sleep(2)  # the sim keeps filling; its events wait in the worker's outbox
    stack.start_server()

    final = eventually(
        lambda: (o := stack.api("GET", f"/api/orders/{order['id']}", token)[1])["status"] == "FILLED" and o,
        timeout_s=120,
        message=f"order filled after the restart ({stack.tail('worker', 20)})",
    )
    fills = [e for e in stack.api("GET", "/api/executions", token)[1] if e["order"] == order["id"]]
    numbers = sorted(int(f["fill_no"]) for f in fills)
    # No duplicate, no gap: the sim numbers each order's fills 1..N.
    assert numbers == list(range(1, len(numbers) + 1))
    assert sum(f["quantity"] for f in fills) == QUANTITY == final["filled_quantity"]
    positions = {p["symbol"]: p["quantity"] for p in stack.api("GET", "/api/positions", token)[1]}
    assert positions["117580"] == QUANTITY
    assert len(fills) > 2, "the order should have filled in several pieces for this test to mean anything"
