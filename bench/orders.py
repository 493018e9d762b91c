"""Order round trip through the real processes: REST POST → ACCEPTED → FILLED, and POST throughput.

    python -m bench.orders [--orders 200] [--stack embedded|postgres_redis]

Prints one JSON object. `server_*` latencies come from the order's own timestamps (created → accepted
by the broker → filled), so they exclude HTTP polling; `client_*` is what an API client polling
every 5 ms observes, POST included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import Stack, build_stack, drop_database, eventually


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def run(stack: Stack, orders: int) -> dict[str, object]:
    token = stack.demo["tokens"]["paper"]
    account = next(a["id"] for a in stack.demo["users"]["paper"]["accounts"] if a["mode"] == "paper")
    eventually(lambda: stack.api("GET", "/api/accounts", token)[1][0]["balance_reported_at"], timeout_s=60)

    filled_ms: list[float] = []
    server_accepted_ms: list[float] = []
    server_filled_ms: list[float] = []
    for i in range(orders):
        start = time.perf_counter()
        status, order = stack.api(
            "POST",
            "/api/orders",
            token,
            {"account": account, "symbol": "005930", "side": "buy" if i % 2 == 0 else "sell", "quantity": 1, "order_type": "market"},
        )
        if status != 201:
            raise RuntimeError(f"order {i} answered {status}: {order}")
        while True:
            body = stack.api("GET", f"/api/orders/{order['id']}", token)[1]
            current = body["status"]
            elapsed = (time.perf_counter() - start) * 1000
            if current == "FILLED":
                filled_ms.append(elapsed)
                created = dt.datetime.fromisoformat(body["created_at"])
                server_accepted_ms.append((dt.datetime.fromisoformat(body["accepted_at"]) - created).total_seconds() * 1000)
                server_filled_ms.append((dt.datetime.fromisoformat(body["done_at"]) - created).total_seconds() * 1000)
                break
            if current in ("DENIED", "REJECTED"):
                raise RuntimeError(f"order {i} ended {current}")
            if elapsed > 30_000:
                raise RuntimeError(f"order {i} stuck in {current}")
            time.sleep(0.005)

    # Throughput: four client threads posting limit orders far from the market (they rest, no fills).
    quote = stack.api("GET", "/api/symbols?q=005930", token)[1][0]
    posted = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + 10

    def poster() -> None:
        nonlocal posted
        while time.perf_counter() < stop_at:
            status, _ = stack.api(
                "POST",
                "/api/orders",
                token,
                {"account": account, "symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": quote["lower_limit"]},
            )
            if status == 201:
                with lock:
                    posted += 1

    threads = [threading.Thread(target=poster) for _ in range(4)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed_s = time.perf_counter() - began
    return {
        "stack": stack.name,
        "orders": orders,
        "server_created_to_accepted_ms_p50": round(statistics.median(server_accepted_ms), 2),
        "server_created_to_accepted_ms_p99": round(_percentile(server_accepted_ms, 99), 2),
        "server_created_to_filled_ms_p50": round(statistics.median(server_filled_ms), 2),
        "server_created_to_filled_ms_p99": round(_percentile(server_filled_ms, 99), 2),
        "client_post_to_filled_ms_p50": round(statistics.median(filled_ms), 2),
        "client_post_to_filled_ms_p99": round(_percentile(filled_ms, 99), 2),
        "order_posts_per_s": round(posted / elapsed_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--stack", choices=["embedded", "postgres_redis"], default="embedded")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = build_stack(args.stack, Path(tmp))
        try:
            stack.start_server()
            if stack.name == "postgres_redis":
                stack.start_celery()
            stack.start_worker()
            print(json.dumps(run(stack, args.orders)))
        finally:
            stack.stop_all()
            if stack.name == "postgres_redis":
                drop_database(stack.env)


if __name__ == "__main__":
    main()
