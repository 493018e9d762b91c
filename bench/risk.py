"""Risk engine speed on Postgres (+ Redis for the worker channel): pre-trade checks and the emergency stop.

    python -m bench.risk [--checks 2000] [--open-orders 1000]

Needs DATABASE_URL (postgres) and REDIS_URL; creates a throwaway database and drops it afterwards.
Runs in one process against the real database and channel layer, the way a Celery worker runs a stop:

* check_p50_ms / check_p99_ms: ``apps.risk.pretrade.check_order`` (every check, the order passing,
  so none is skipped) with 10,000 orders and 1,000 positions in the database, for buys and sells;
  check_queries: SQL statements per check.
* stop_to_last_cancel_ms: ``manage.py emergency_stop --all`` to the moment the last of N cancel
  commands is handed to the channel layer (leaves the server); stop_to_last_cancel_received_ms: to
  the moment a stand-in worker reading that channel from Redis has them all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from io import StringIO
from pathlib import Path
from typing import Any

from bench.harness import drop_database, postgres_env

ACCOUNTS = 20
POSITIONS_PER_ACCOUNT = 50  # 1,000 positions in all
ORDERS_PER_ACCOUNT = 500  # 10,000 orders in all
WORKER_CHANNEL = "bench-kiwoom-worker"


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "platform.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _build_book() -> list[Any]:
    """Twenty paper traders, 50 positions each, 500 orders each (a tenth of them still working)."""
    from django.utils import timezone

    from apps.accounts import services as accounts
    from apps.accounts.models import BrokerAccount, User
    from apps.marketdata import services as market
    from apps.orders.models import Order, OrderStatus, Position
    from apps.risk import limits

    symbols = [f"Z{i:05d}" for i in range(POSITIONS_PER_ACCOUNT * 2)]
    market.upsert_symbol_master(
        [{"code": s, "name": f"벤치{s}", "market": "KOSPI", "kind": "stock", "previous_close": 10_000, "kospi200": False} for s in symbols]
    )
    now = timezone.now()
    worker = accounts.create_worker(name="bench", mode="paper", accounts=[]).worker
    accounts_made = []
    for a in range(ACCOUNTS):
        user = User.objects.create_user(username=f"bench{a}", password=None)
        accounts.set_permission_level(user=user, level="paper_trader", changed_by=None, reason="benchmark")
        account = BrokerAccount.objects.create(owner=user, mode="paper", account_number=f"77{a:07d}11", orderable_cash=10_000_000_000, balance_reported_at=now)
        # Room for the benchmark's own orders: the checks still run, they just pass.
        limits.set_limits(mode="paper", user_id=user.pk, max_position_count=None, max_orders_per_minute=None, duplicate_window_s=0)
        accounts_made.append(account)
        Position.objects.bulk_create(Position(account=account, symbol=s, quantity=100, cost_basis=1_000_000) for s in symbols[:POSITIONS_PER_ACCOUNT])
        orders = []
        for i in range(ORDERS_PER_ACCOUNT):
            working = i % 10 == 0
            orders.append(
                Order(
                    user=user,
                    account=account,
                    mode="paper",
                    symbol=symbols[i % len(symbols)],
                    side="buy" if i % 2 == 0 else "sell",
                    quantity=1,
                    order_type="limit",
                    hoga_code="00",
                    price=9_000 if i % 2 == 0 else 11_000,
                    status=OrderStatus.ACCEPTED if working else OrderStatus.FILLED,
                    filled_quantity=0 if working else 1,
                    broker_order_no=f"{a:02d}{i:05d}",
                    worker=worker,
                    accepted_at=now,
                )
            )
        Order.objects.bulk_create(orders)
    worker.accounts.set(accounts_made)
    from apps.accounts.models import Worker

    Worker.objects.filter(pk=worker.pk).update(channel_name=WORKER_CHANNEL, reported_server="paper", last_heartbeat_at=now, connected_at=now)
    return accounts_made


def bench_checks(accounts: list[Any], checks: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.orders.models import Origin
    from apps.risk import pretrade

    timings: dict[str, list[float]] = {"buy": [], "sell": []}
    queries: dict[str, int] = {}
    for i in range(checks):
        account = accounts[i % len(accounts)]
        side = "buy" if i % 2 == 0 else "sell"
        symbol = f"Z{(i // 2) % POSITIONS_PER_ACCOUNT:05d}"
        args = {"symbol": symbol, "side": side, "quantity": 1, "order_type": "limit", "price": 10_000, "origin": Origin.MANUAL}
        start = time.perf_counter()
        if side not in queries:
            with CaptureQueriesContext(connection) as ctx:
                denial = pretrade.check_order(account=account, user=account.owner, **args)
            queries[side] = len(ctx.captured_queries)
        else:
            denial = pretrade.check_order(account=account, user=account.owner, **args)
        timings[side].append((time.perf_counter() - start) * 1000)
        if denial is not None:
            raise RuntimeError(f"the benchmark's order was denied, so not every check ran: {denial}")
    both = timings["buy"] + timings["sell"]
    return {
        "checks": checks,
        "check_p50_ms": round(statistics.median(both), 3),
        "check_p99_ms": round(_percentile(both, 99), 3),
        "check_buy_p50_ms": round(statistics.median(timings["buy"]), 3),
        "check_sell_p50_ms": round(statistics.median(timings["sell"]), 3),
        "check_queries": queries,
    }


def bench_stop(accounts: list[Any], open_orders: int) -> dict[str, Any]:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.core.management import call_command

    from apps.orders import notify
    from apps.orders.models import Order, OrderStatus
    from apps.risk import emergency
    from apps.risk.models import EmergencyStop
    from kiwoom_worker import protocol

    working = list(Order.objects.filter(status=OrderStatus.ACCEPTED).order_by("id").values_list("pk", flat=True))
    if len(working) < open_orders:
        raise RuntimeError(f"only {len(working)} working orders in the book")
    # Exactly N open orders: the rest are finished first.
    Order.objects.filter(pk__in=working[open_orders:]).update(status=OrderStatus.FILLED, filled_quantity=1)

    # Every command leaves through notify (one by one, or many at once); note when each call returns.
    sent_at: list[float] = []
    one, many = notify.send_to_worker, notify.send_many_to_workers

    def timed_one(channel: str, frame: dict[str, Any]) -> bool:
        ok = one(channel, frame)
        if frame.get("command") == protocol.CANCEL_ORDER:
            sent_at.append(time.perf_counter())
        return ok

    def timed_many(frames: list[tuple[str, dict[str, Any]]]) -> int:
        delivered = many(frames)
        sent_at.extend([time.perf_counter()] * sum(f.get("command") == protocol.CANCEL_ORDER for _c, f in frames))
        return delivered

    notify.send_to_worker = timed_one  # type: ignore[assignment]
    notify.send_many_to_workers = timed_many  # type: ignore[assignment]

    received: list[float] = []
    done = threading.Event()

    def stand_in_worker() -> None:
        layer = get_channel_layer()

        async def drain() -> None:
            while len(received) < open_orders:
                message = await layer.receive(WORKER_CHANNEL)
                if message["frame"].get("command") == protocol.CANCEL_ORDER:
                    received.append(time.perf_counter())

        async_to_sync(drain)()
        done.set()

    reader = threading.Thread(target=stand_in_worker, daemon=True)
    reader.start()
    start = time.perf_counter()
    call_command("emergency_stop", "--all", "--reason", "benchmark", stdout=StringIO())
    run = EmergencyStop.objects.get(finished_at__isnull=True)
    emergency.run_pass(run.pk)  # what the Celery task does first; the cancel step runs to its end here
    cancelled_at = sent_at[-1] if sent_at else float("nan")
    done.wait(timeout=120)
    return {
        "open_orders": open_orders,
        "cancel_commands_sent": len(sent_at),
        "stop_to_last_cancel_ms": round((cancelled_at - start) * 1000, 1),
        "stop_to_last_cancel_received_ms": round((received[-1] - start) * 1000, 1) if len(received) == open_orders else None,
        "cancels_per_s": round(len(sent_at) / (cancelled_at - start), 1) if sent_at else 0,
        "pending_cancel_after_pass": Order.objects.filter(status=OrderStatus.PENDING_CANCEL).count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--open-orders", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = postgres_env(Path(tmp))
        if env is None:
            sys.exit("bench.risk needs DATABASE_URL (postgres) and REDIS_URL")
        # The stop runs here, in this process, as the Celery task would: nothing goes to a queue.
        env.update({"MARKET_HOURS": "always", "RISK_RUN_STOPS_IN_CELERY": "0"})
        try:
            _setup_django(env)
            accounts = _build_book()
            result: dict[str, Any] = {
                "database": "postgres",
                "orders_in_db": ACCOUNTS * ORDERS_PER_ACCOUNT,
                "positions_in_db": ACCOUNTS * POSITIONS_PER_ACCOUNT,
            }
            result.update(bench_checks(accounts, args.checks))
            result.update(bench_stop(accounts, args.open_orders))
            print(json.dumps(result, indent=2))
        finally:
            from django.db import connections

            connections.close_all()
            drop_database(env)


if __name__ == "__main__":
    main()
