"""Risk test helpers: a broker that speaks through the real worker-event service, prices, limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from apps.accounts import services as account_services
from apps.accounts.models import BrokerAccount
from apps.marketdata.models import LatestPrice
from apps.orders import broker_sync, services
from apps.orders.models import Order, OrderStatus
from apps.risk.limits import set_limits
from kiwoom_worker import protocol

_names = itertools.count(1)
_order_numbers = itertools.count(1)


class Broker:
    """A connected worker for some accounts. Its events go through broker_sync, exactly as the link applies them."""

    def __init__(self, accounts: list[BrokerAccount], mode: str = "paper") -> None:
        new = account_services.create_worker(name=f"w-{mode}-{next(_names)}", mode=mode, accounts=accounts)
        self.worker = new.worker
        self.layer = get_channel_layer()
        # A plain channel name, not a process-specific one: each async_to_sync call runs its own event loop,
        # and the Redis layer binds process-specific channels to the loop that first read them.
        self.channel = f"test.worker.{uuid.uuid4().hex}"
        self.seq = 0
        self.stream = f"stream-{self.worker.pk}"
        account_services.register_hello(
            worker_id=self.worker.pk,
            channel_name=self.channel,
            hello={"server": mode, "accounts": [a.account_number for a in accounts], "stream_id": self.stream, "worker_version": "t", "backend": "sim"},
        )

    def event(self, name: str, data: dict[str, Any]) -> None:
        self.seq += 1
        outcome = broker_sync.apply_worker_event(
            worker_id=self.worker.pk, stream_id=self.stream, seq=self.seq, name=name, data=data, at=timezone.now().isoformat()
        )
        assert outcome.status == "applied", (name, outcome)

    def accept(self, order: Order) -> str:
        number = f"{next(_order_numbers):07d}"
        order.refresh_from_db()
        if order.status == OrderStatus.QUEUED:
            # What the submit's commit hook does; the test's transaction never commits, so do it here.
            services.dispatch_order(order.pk)
            order.refresh_from_db()
        data = {"order_id": order.pk, "account": order.account.account_number, "broker_order_no": number}
        self.event(protocol.ORDER_ACCEPTED, {**data, "symbol": order.symbol, "side": order.side, "quantity": order.quantity, "price": order.price or 0})
        return number

    def fill(
        self,
        account: BrokerAccount,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        *,
        order: Order | None = None,
        fee: int = 0,
        at: dt.datetime | None = None,
    ) -> None:
        number = order.broker_order_no if order is not None and order.broker_order_no else f"{next(_order_numbers):07d}"
        self.event(
            protocol.ORDER_FILLED,
            {
                "order_id": order.pk if order is not None else None,
                "account": account.account_number,
                "broker_order_no": number,
                "fill_no": str(next(_order_numbers)),
                "symbol": symbol,
                "side": side,
                "price": price,
                "quantity": quantity,
                "fee": fee,
                "tax": 0,
                "executed_at": (at or timezone.now()).isoformat(),
                "remaining_quantity": 0,
            },
        )

    def cancel_confirmed(self, order: Order) -> None:
        order.refresh_from_db()
        data = {"order_id": order.pk, "account": order.account.account_number, "broker_order_no": order.broker_order_no}
        self.event(protocol.ORDER_CANCELED, {**data, "canceled_quantity": order.quantity - order.filled_quantity})

    def balance(self, account: BrokerAccount, *, cash: int, positions: dict[str, int] | None = None) -> None:
        rows = [{"symbol": s, "quantity": q, "sellable_quantity": q, "avg_price": 0} for s, q in (positions or {}).items()]
        self.event(protocol.BALANCE, {"account": account.account_number, "cash": cash, "orderable_cash": cash, "d2_cash": cash, "positions": rows})

    def frames(self) -> list[dict[str, Any]]:
        """Every command frame handed to this worker's channel since the last call."""

        async def drain() -> list[dict[str, Any]]:
            out = []
            while True:
                try:
                    out.append((await asyncio.wait_for(self.layer.receive(self.channel), 0.05))["frame"])
                except TimeoutError:
                    return out

        return async_to_sync(drain)()

    def disconnect(self) -> None:
        account_services.register_disconnect(worker_id=self.worker.pk, channel_name=self.channel)


def last_price(symbol: str, price: int, at: dt.datetime | None = None) -> None:
    LatestPrice.objects.update_or_create(symbol_id=symbol, defaults={"current_price": price, "timestamp": at or timezone.now()})


def limits(persona_user, mode: str = "paper", **values: Any) -> None:
    set_limits(mode=mode, user_id=persona_user.pk, **values)
