"""Messages that leave the process: dashboard pushes and worker commands, always after the commit."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

if TYPE_CHECKING:
    from apps.accounts.models import BrokerAccount
    from apps.orders.models import Order

log = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # A dashboard push is best effort: the page takes a full snapshot on (re)connect.
        log.exception("dashboard push to %s failed", group)


def order_changed(order: Order) -> None:
    user_id, order_id = order.user_id, order.pk
    transaction.on_commit(lambda: _group_send(user_group(user_id), {"type": "dash.order", "order_id": order_id}))


def account_changed(account: BrokerAccount) -> None:
    user_id, account_id = account.owner_id, account.pk
    transaction.on_commit(lambda: _group_send(user_group(user_id), {"type": "dash.account", "account_id": account_id}))


def send_to_worker(channel_name: str, frame: dict[str, Any]) -> bool:
    """Hand a command frame to the consumer holding the worker's socket; False if it could not be delivered."""
    layer = get_channel_layer()
    if layer is None or not channel_name:
        return False
    try:
        async_to_sync(layer.send)(channel_name, {"type": "worker.command", "frame": frame})
    except Exception:
        # The order stays SUBMITTED and is resent after the next hello or by the stale-submission sweep.
        log.exception("could not hand command %s to worker channel %s", frame.get("id"), channel_name)
        return False
    return True


def user_group_send(user_id: int, message: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _group_send(user_group(user_id), message))
