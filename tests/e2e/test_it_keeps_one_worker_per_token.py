"""A second worker process started with the same token (a forgotten one, a second PC) takes over; the first ends.

Without that, each would reconnect and take the route back from the other, and orders would go to
whichever held it at that moment.
"""

from __future__ import annotations

import pytest

from bench.harness import Stack, eventually
from kiwoom_worker.link import EXIT_REPLACED

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_the_older_worker_ends_and_orders_go_to_the_newer_one(stack: Stack) -> None:
    token = stack.demo["tokens"]["paper"]
    account = next(a["id"] for a in stack.demo["users"]["paper"]["accounts"] if a["mode"] == "paper")
    eventually(lambda: stack.api("GET", "/api/accounts", token)[1][0]["balance_reported_at"], timeout_s=60, message=f"first worker ({stack.tail('worker')})")
    first = stack.procs["worker"]

    stack.start_worker(name="second")
    assert first.wait(timeout=30) == EXIT_REPLACED, stack.tail("worker")
    assert "another worker connected with this token and took over" in stack.tail("worker")

    status, order = stack.api("POST", "/api/orders", token, {"account": account, "symbol": "005930", "side": "buy", "quantity": 2, "order_type": "market"})
    assert status == 201, order
    filled = eventually(lambda: (o := stack.api("GET", f"/api/orders/{order['id']}", token)[1])["status"] == "FILLED" and o, message=stack.tail("second"))
    assert filled["filled_quantity"] == 2  # the first worker has exited: only the second can have filled it
    assert stack.procs["second"].poll() is None, "the newer worker stays connected"
