"""Matching the control's order events to the platform's orders, whatever order they arrive in.

SendOrder returns at once; the order number arrives later in OnReceiveTrData (matched by the request
name we chose, never by timing), and Chejan events (접수/체결/확인) can arrive before it. Events for a
number not yet known wait here; when the number arrives they are replayed in order. Whatever is still
unmatched after a bounded wait goes to the server anyway: a fill as ``order_filled`` without an
order id (fills are never dropped: the position must move), anything else as ``order_event_unmatched``
for reconciliation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kiwoom_worker import protocol
from kiwoom_worker.ocx.fields import KST, STATUS_CONFIRMED, STATUS_FILLED, OrderEvent

Event = tuple[str, dict[str, Any]]
UNMATCHED_AFTER_S = 10.0


@dataclass
class Sent:
    """A SendOrder call that returned 0 and waits for its order number."""

    order_id: int | None
    kind: str  # "new", "cancel", "modify"
    account: str
    symbol: str
    side: str
    quantity: int
    price: int
    original_no: str = ""  # cancel / modify: the order they act on


@dataclass
class Working:
    order_id: int | None
    account: str
    symbol: str
    side: str
    quantity: int
    filled: int = 0
    fees_seen: int = 0
    taxes_seen: int = 0
    fill_numbers: set[str] = field(default_factory=set)


class Correlator:
    def __init__(self, *, unmatched_after_s: float = UNMATCHED_AFTER_S) -> None:
        self.unmatched_after_s = unmatched_after_s
        self._sent: dict[str, Sent] = {}  # request name -> call waiting for its number
        self._orders: dict[str, Working] = {}  # broker order number -> order
        self._waiting: dict[str, list[tuple[float, OrderEvent]]] = {}  # number -> events that came first

    def sent(self, rqname: str, call: Sent) -> None:
        self._sent[rqname] = call

    def forget(self, rqname: str) -> None:
        """The SendOrder call itself failed: no number will come for it."""
        self._sent.pop(rqname, None)

    def adopt(self, order_no: str, working: Working) -> None:
        """An order known from before (the open-order list after a reconnect)."""
        self._orders[order_no] = working

    def order_number(self, rqname: str, order_no: str, message: str, *, now: float) -> list[Event]:
        """OnReceiveTrData for an order request: a number means accepted; a blank one is a reject."""
        call = self._sent.pop(rqname, None)
        if call is None:
            return []
        order_no = order_no.strip()
        if not order_no:
            name = protocol.ORDER_REJECTED if call.kind == "new" else protocol.CANCEL_REJECTED
            return [(name, {"order_id": call.order_id, "code": "REJECTED", "message": message or "order number missing"})]
        events: list[Event] = []
        if call.kind == "new":
            self._orders[order_no] = Working(call.order_id, call.account, call.symbol, call.side, call.quantity)
            events.append(
                (
                    protocol.ORDER_ACCEPTED,
                    {
                        "order_id": call.order_id,
                        "account": call.account,
                        "broker_order_no": order_no,
                        "symbol": call.symbol,
                        "side": call.side,
                        "quantity": call.quantity,
                        "price": call.price,
                    },
                )
            )
        for _at, waiting in self._waiting.pop(order_no, []):
            events += self.chejan(waiting, now=now)
        return events

    def chejan(self, event: OrderEvent, *, now: float) -> list[Event]:
        if event.status == STATUS_CONFIRMED and event.original_no in self._orders and (event.is_cancel or event.is_modify):
            return self._confirmed(event)
        working = self._orders.get(event.order_no)
        if working is None:
            self._waiting.setdefault(event.order_no, []).append((now, event))
            return []
        if event.status == STATUS_FILLED:
            return self._filled(event.order_no, working, event)
        return []  # 접수 repeats what the order number already said

    def _filled(self, order_no: str, working: Working, event: OrderEvent) -> list[Event]:
        quantity = event.unit_fill_quantity if event.unit_fill_quantity is not None else event.cumulative_filled - working.filled
        if quantity <= 0 or (event.fill_no and event.fill_no in working.fill_numbers):
            return []  # a repeat of a fill already reported
        working.fill_numbers.add(event.fill_no)
        working.filled += quantity
        # 938/939 are the totals so far; the fill's own fee and tax are the increase.
        fee, tax = max(event.fees - working.fees_seen, 0), max(event.taxes - working.taxes_seen, 0)
        working.fees_seen, working.taxes_seen = max(event.fees, working.fees_seen), max(event.taxes, working.taxes_seen)
        return [(protocol.ORDER_FILLED, _fill_data(working.order_id, working.account or event.account, order_no, event, quantity, fee, tax))]

    def _confirmed(self, event: OrderEvent) -> list[Event]:
        original = self._orders[event.original_no]
        if event.is_cancel:
            canceled = max(original.quantity - original.filled, 0) if event.quantity == 0 else event.quantity
            # Kept: a fill the exchange made before the cancel took effect can still arrive, and must find its order.
            data = {"order_id": original.order_id, "account": original.account, "broker_order_no": event.original_no, "canceled_quantity": canceled}
            return [(protocol.ORDER_CANCELED, data)]
        remaining = original.quantity - original.filled
        self._orders[event.order_no] = Working(original.order_id, original.account, original.symbol, original.side, remaining)
        del self._orders[event.original_no]
        data = {
            "order_id": original.order_id,
            "account": original.account,
            "broker_order_no": event.original_no,
            "new_broker_order_no": event.order_no,
            "price": event.price,
            "quantity": remaining,
        }
        return [(protocol.ORDER_REPLACED, data)]

    def expire(self, *, now: float) -> list[Event]:
        """Events that waited too long for their number: sent anyway, for the server to reconcile."""
        events: list[Event] = []
        for order_no, waiting in list(self._waiting.items()):
            if now - waiting[0][0] < self.unmatched_after_s:
                continue
            del self._waiting[order_no]
            for _at, event in waiting:
                if event.status == STATUS_FILLED:
                    quantity = event.unit_fill_quantity if event.unit_fill_quantity is not None else event.cumulative_filled
                    events.append((protocol.ORDER_FILLED, _fill_data(None, event.account, order_no, event, quantity, event.fees, event.taxes)))
                else:
                    raw = {
                        "status": event.status,
                        "division": event.division,
                        "symbol": event.symbol,
                        "quantity": event.quantity,
                        "original": event.original_no,
                    }
                    events.append((protocol.ORDER_EVENT_UNMATCHED, {"account": event.account, "broker_order_no": order_no, "raw": raw}))
        return events


def _fill_data(order_id: int | None, account: str, order_no: str, event: OrderEvent, quantity: int, fee: int, tax: int) -> dict[str, Any]:
    today = dt.datetime.now(KST).date()
    executed = (
        dt.datetime.combine(today, dt.time(int(event.time[:2]), int(event.time[2:4]), int(event.time[4:6])), tzinfo=KST) if len(event.time) == 6 else None
    )
    return {
        "order_id": order_id,
        "account": account,
        "broker_order_no": order_no,
        "fill_no": event.fill_no,
        "symbol": event.symbol,
        "side": event.side,
        "price": event.fill_price,
        "quantity": quantity,
        "fee": fee,
        "tax": tax,
        "executed_at": (executed or dt.datetime.now(KST)).isoformat(),
        "remaining_quantity": event.unfilled,
    }
