"""Through the REST API of a real Daphne, filled by the real sim worker over a real WebSocket."""

from __future__ import annotations

import time

import pytest

from bench.harness import Stack, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def paper_account(stack: Stack, user: str = "paper") -> int:
    return next(a["id"] for a in stack.demo["users"][user]["accounts"] if a["mode"] == "paper")


def wait_until_connected(stack: Stack, token: str) -> None:
    # The worker's reconciliation reports the balance; before that the account shows no cash.
    eventually(
        lambda: stack.api("GET", "/api/accounts", token)[1][0]["balance_reported_at"], timeout_s=60, message=f"sim worker connected ({stack.tail('worker')})"
    )


def order_status(stack: Stack, token: str, order_id: int) -> dict:
    return stack.api("GET", f"/api/orders/{order_id}", token)[1]


def test_it_fills_cancels_and_deduplicates(stack: Stack) -> None:
    token = stack.demo["tokens"]["paper"]
    account = paper_account(stack)
    wait_until_connected(stack, token)
    cash_before = stack.api("GET", "/api/accounts", token)[1][0]["cash"]

    status, order = stack.api(
        "POST",
        "/api/orders",
        token,
        {"account": account, "symbol": "005930", "side": "buy", "quantity": 10, "order_type": "market", "client_order_id": "e2e-buy-1"},
    )
    assert status == 201, order
    filled = eventually(lambda: (o := order_status(stack, token, order["id"]))["status"] == "FILLED" and o, message=f"order filled ({stack.tail('daphne')})")
    assert filled["filled_quantity"] == 10 and filled["broker_order_no"]

    positions = stack.api("GET", "/api/positions", token)[1]
    assert [(p["symbol"], p["quantity"]) for p in positions] == [("005930", 10)]
    executions = stack.api("GET", "/api/executions", token)[1]
    assert sum(e["quantity"] for e in executions if e["order"] == order["id"]) == 10
    cash_after = eventually(lambda: (c := stack.api("GET", "/api/accounts", token)[1][0]["cash"]) < cash_before and c, message="cash reduced")
    assert cash_before - cash_after >= filled["average_fill_price"] * 10

    # The same client_order_id again is the same order, never a second one.
    status, again = stack.api(
        "POST",
        "/api/orders",
        token,
        {"account": account, "symbol": "005930", "side": "buy", "quantity": 10, "order_type": "market", "client_order_id": "e2e-buy-1"},
    )
    assert (status, again["id"]) == (200, order["id"])

    # A resting limit order at the lower price limit, then cancelled.
    quote = stack.api("GET", "/api/symbols?q=005930", token)[1][0]
    status, resting = stack.api(
        "POST",
        "/api/orders",
        token,
        {"account": account, "symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": quote["lower_limit"]},
    )
    assert status == 201, resting
    eventually(lambda: order_status(stack, token, resting["id"])["status"] == "ACCEPTED", message="limit order accepted")
    status, _ = stack.api("DELETE", f"/api/orders/{resting['id']}", token)
    assert status == 202
    canceled = eventually(lambda: (o := order_status(stack, token, resting["id"]))["status"] == "CANCELED" and o, message="limit order canceled")
    assert (canceled["canceled_quantity"], canceled["filled_quantity"]) == (1, 0)
    orders = stack.api("GET", "/api/orders", token)[1]
    assert len(orders) == 2


def test_a_real_order_never_reaches_the_paper_worker(stack: Stack) -> None:
    token = stack.demo["tokens"]["trader"]
    wait_until_connected(stack, token)
    real = next(a["id"] for a in stack.demo["users"]["trader"]["accounts"] if a["mode"] == "real")
    status, order = stack.api("POST", "/api/orders", token, {"account": real, "symbol": "005930", "side": "buy", "quantity": 1, "order_type": "market"})
    assert status == 201
    # Only a paper worker is connected: the real order waits for a real worker instead of being routed.
    eventually(lambda: stack.api("GET", "/healthz", token)[1]["workers_connected"]["paper"] == 1, message="paper worker connected")
    deadline = time.monotonic() + 6  # longer than one embedded-beat / Celery-beat dispatch round
    while time.monotonic() < deadline:
        assert order_status(stack, token, order["id"])["status"] == "QUEUED"
        time.sleep(0.5)
