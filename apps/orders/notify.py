"""Messages that leave the process: dashboard pushes and worker commands, always after the commit."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

if TYPE_CHECKING:
    from apps.accounts.models import BrokerAccount
    from apps.orders.models import Order

log = logging.getLogger(__name__)


# Every dashboard joins this group too: trading states and emergency stops concern everyone watching.
ALL_DASHBOARDS = "dashboard.all"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


SEND_TIMEOUT_S = 10.0
PARALLEL_SENDS = 50
_loop_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None


def _sender_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, on its own thread, for sends from synchronous code.

    async_to_sync would start a fresh loop for every call from a plain thread (a Celery task, a
    management command), and the Redis channel layer opens its connections per loop: about 8 ms per
    message instead of about 1. Keyed by pid, so a forked Celery child starts its own.
    """
    global _loop
    with _loop_lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-sender", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


async def _awaited(call: Callable[[], Awaitable[None]]) -> None:
    await call()


def _run(layer: Any, call: Callable[[], Awaitable[None]]) -> None:
    # The in-memory layer (embedded default) only reaches consumers on Daphne's own loop: go through it.
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(_awaited)(call)
        return
    asyncio.run_coroutine_threadsafe(call(), _sender_loop()).result(timeout=SEND_TIMEOUT_S)  # type: ignore[arg-type]


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        _run(layer, lambda: layer.group_send(group, message))
    except Exception:
        # A dashboard push is best effort: the page takes a full snapshot on (re)connect.
        log.exception("dashboard push to %s failed", group)


def order_changed(order: Order) -> None:
    user_id, order_id = order.user_id, order.pk
    transaction.on_commit(lambda: _group_send(user_group(user_id), {"type": "dash.order", "order_id": order_id}))


def orders_changed(orders: list[Order]) -> None:
    """Many orders changed in one transaction: one push per user (dashboards re-render whole panels anyway)."""
    for user_id in {order.user_id for order in orders}:
        transaction.on_commit(lambda user_id=user_id: _group_send(user_group(user_id), {"type": "dash.order"}))


def account_changed(account: BrokerAccount) -> None:
    user_id, account_id = account.owner_id, account.pk
    transaction.on_commit(lambda: _group_send(user_group(user_id), {"type": "dash.account", "account_id": account_id}))


def send_to_worker(channel_name: str, frame: dict[str, Any]) -> bool:
    """Hand a command frame to the consumer holding the worker's socket; False if it could not be delivered."""
    layer = get_channel_layer()
    if layer is None or not channel_name:
        return False
    try:
        _run(layer, lambda: layer.send(channel_name, {"type": "worker.command", "frame": frame}))
    except Exception:
        # The order stays SUBMITTED and is resent after the next hello or by the stale-submission sweep.
        log.exception("could not hand command %s to worker channel %s", frame.get("id"), channel_name)
        return False
    return True


def send_many_to_workers(frames: list[tuple[str, dict[str, Any]]]) -> int:
    """Hand many command frames to their workers in one trip; returns how many were handed over.

    A frame that cannot be delivered is left to the sweeps that resend unanswered commands.
    """
    layer = get_channel_layer()
    if layer is None or not frames:
        return 0
    delivered = 0

    async def send_one(channel_name: str, frame: dict[str, Any]) -> None:
        nonlocal delivered
        try:
            await layer.send(channel_name, {"type": "worker.command", "frame": frame})
            delivered += 1
        except Exception:
            log.exception("could not hand command %s to worker channel %s", frame.get("id"), channel_name)

    async def send_all() -> None:
        # Concurrent sends share the layer's connection pool; commands for different orders carry no order between them.
        for start in range(0, len(frames), PARALLEL_SENDS):
            await asyncio.gather(*(send_one(c, f) for c, f in frames[start : start + PARALLEL_SENDS]))

    try:
        _run(layer, send_all)
    except Exception:
        log.exception("could not hand %s commands to the workers", len(frames) - delivered)
    return delivered


def user_group_send(user_id: int, message: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _group_send(user_group(user_id), message))


def risk_changed() -> None:
    """Tell every dashboard to re-render its trading-state banner (a state, a stop's step or an alert changed)."""
    transaction.on_commit(lambda: _group_send(ALL_DASHBOARDS, {"type": "dash.risk"}))
