"""Apply the worker's durable events exactly once: order states, fills, positions, balances.

Each event is applied in one transaction together with the stream's sequence number, so a replayed
event is recognised and ignored, and a crash between the two cannot happen.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import BrokerAccount, Worker, WorkerStream
from apps.marketdata import services as market_services
from apps.marketdata import subscriptions
from apps.orders import notify
from apps.orders.models import Execution, Order, OrderEvent, OrderStatus, Position
from apps.orders.services import cancel_command, transition
from apps.orders.state import WORKING, IllegalTransition
from apps.risk import monitors as risk_monitors
from kiwoom_worker import protocol

log = logging.getLogger(__name__)
WORKER = OrderEvent.Source.WORKER
RECONCILER = OrderEvent.Source.RECONCILER


class EventRejected(Exception):
    """A well-formed event that cannot be applied; it is recorded as rejected and nothing of it is kept."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # "applied", "duplicate", "gap", "rejected"
    expected: int = 0
    reason: str = ""


def apply_worker_event(*, worker_id: int, stream_id: str, seq: int, name: str, data: dict[str, Any], at: str) -> Outcome:
    after_commit: list[tuple[str, dict[str, Any]]] = []
    with transaction.atomic():
        stream, _ = WorkerStream.objects.select_for_update().get_or_create(worker_id=worker_id, stream_id=stream_id)
        if seq <= stream.last_seq:
            return Outcome("duplicate")
        if seq != stream.last_seq + 1:
            return Outcome("gap", expected=stream.last_seq + 1)
        worker = Worker.objects.get(pk=worker_id)
        outcome = Outcome("applied")
        try:
            with transaction.atomic():  # a savepoint: a rejected event leaves nothing behind
                _HANDLERS[name](worker, data, after_commit)
        except (EventRejected, IllegalTransition, KeyError, TypeError, ValueError) as exc:
            log.warning("worker %s event %s seq %s rejected: %s; data=%s", worker.name, name, seq, exc, data)
            outcome = Outcome("rejected", reason=str(exc))
        # The seq advances even for a rejected event, or one bad event would block the stream forever.
        stream.last_seq = seq
        stream.save(update_fields=["last_seq", "updated_at"])
    for channel, frame in after_commit:
        notify.send_to_worker(channel, frame)
    return outcome


def _account(worker: Worker, number: Any) -> BrokerAccount:
    account = worker.accounts.with_number(number).first()
    if account is None:
        raise EventRejected(f"account {number!r} is not in this worker's scope")
    return account


def _order(worker: Worker, data: dict[str, Any], *, lock: bool = True) -> Order | None:
    qs = Order.objects.select_related("account", "worker")
    if lock:
        qs = qs.select_for_update(of=("self",))
    order_id = data.get("order_id")
    if order_id is not None:
        order = qs.filter(pk=int(order_id), account__workers=worker).first()
        if order is None:
            raise EventRejected(f"order {order_id!r} is unknown to this worker")
        return order
    number = data.get("broker_order_no")
    if number and data.get("account"):
        return qs.filter(account=_account(worker, data["account"]), broker_order_no=str(number)).order_by("-id").first()
    return None


def _moment(value: Any) -> dt.datetime:
    moment = parse_datetime(str(value)) if value else None
    if moment is None or timezone.is_naive(moment):
        raise EventRejected(f"time {value!r} must be ISO 8601 with an offset")
    return moment


def _submitted(worker: Worker, data: dict[str, Any], _after: list) -> None:
    _order(worker, data, lock=False)  # only validates; the order is already SUBMITTED


def _accepted(worker: Worker, data: dict[str, Any], after: list) -> None:
    order = _order(worker, data)
    if order is None:
        raise EventRejected("acceptance for an unknown order")
    if not order.broker_order_no:
        order.broker_order_no = str(data["broker_order_no"])
        order.save(update_fields=["broker_order_no", "updated_at"])
    if order.status in (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN):
        transition(order, OrderStatus.ACCEPTED, source=WORKER, payload=data, fields=("broker_order_no",))
    elif order.status == OrderStatus.PENDING_CANCEL and order.worker:
        # The trader cancelled before the order number existed; now the cancel can go out.
        after.append((order.worker.channel_name, cancel_command(order)))


def _rejected(worker: Worker, data: dict[str, Any], _after: list) -> None:
    order = _order(worker, data)
    if order is None:
        raise EventRejected("reject for an unknown order")
    order.reason_code = str(data.get("code", ""))[:40]
    order.reason_message = str(data.get("message", ""))
    transition(order, OrderStatus.REJECTED, source=WORKER, note=order.reason_message, payload=data, fields=("reason_code", "reason_message"))


def _filled(worker: Worker, data: dict[str, Any], _after: list) -> None:
    account = _account(worker, data["account"])
    order = _order(worker, data)
    quantity, price = int(data["quantity"]), int(data["price"])
    fee, tax = int(data.get("fee", 0)), int(data.get("tax", 0))
    if quantity <= 0 or price <= 0 or fee < 0 or tax < 0:
        raise EventRejected("fill quantity and price must be positive, fee and tax non-negative")
    executed_at = _moment(data["executed_at"])
    side = str(data["side"])
    if order is not None and (order.account_id != account.pk or order.symbol != data["symbol"] or order.side != side):
        raise EventRejected(f"fill does not match order {order.pk}")
    if order is not None and not str(data["fill_no"]).startswith(RECONCILED_FILL) and _already_reconciled(order, data):
        log.info("fill %s/%s was already recorded from the broker's totals; ignored", data["broker_order_no"], data["fill_no"])
        return
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                order=order,
                account=account,
                trade_date=timezone.localtime(executed_at).date(),
                broker_order_no=str(data["broker_order_no"]),
                fill_no=str(data["fill_no"]),
                symbol=str(data["symbol"]),
                side=side,
                price=price,
                quantity=quantity,
                fee=fee,
                tax=tax,
                executed_at=executed_at,
            )
    except IntegrityError:
        log.info("duplicate fill %s/%s ignored", data["broker_order_no"], data["fill_no"])
        return
    if order is not None:
        _add_fill_to_order(order, quantity=quantity, price=price, fee=fee, tax=tax, data=data)
    else:
        log.warning("fill %s/%s on account %s matches no platform order; kept for reconciliation", data["broker_order_no"], data["fill_no"], account.pk)
    realized = _add_fill_to_position(account, symbol=str(data["symbol"]), side=side, quantity=quantity, price=price, fee=fee, tax=tax)
    Execution.objects.filter(pk=execution.pk).update(realized_pnl=realized)


def _add_fill_to_order(order: Order, *, quantity: int, price: int, fee: int, tax: int, data: dict[str, Any]) -> None:
    filled = order.filled_quantity + quantity
    if filled > order.quantity:
        raise EventRejected(f"fill would take order {order.pk} past its quantity ({filled} > {order.quantity})")
    order.filled_quantity = filled
    order.filled_amount += price * quantity
    order.fees += fee
    order.taxes += tax
    if not order.broker_order_no:
        order.broker_order_no = str(data["broker_order_no"])
    if order.status == OrderStatus.CANCELED:
        # A late fill: the exchange filled these shares before the cancel took effect.
        order.canceled_quantity = max(order.quantity - filled, 0) if order.canceled_quantity else 0
    if filled == order.quantity:
        target = OrderStatus.FILLED
        order.canceled_quantity = 0
    elif order.status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE, OrderStatus.CANCELED, OrderStatus.REPLACED):
        target = order.status
    else:
        target = OrderStatus.PARTIALLY_FILLED
    transition(
        order,
        target,
        source=WORKER,
        payload=data,
        fields=("filled_quantity", "filled_amount", "fees", "taxes", "broker_order_no", "canceled_quantity"),
    )


def _add_fill_to_position(account: BrokerAccount, *, symbol: str, side: str, quantity: int, price: int, fee: int, tax: int) -> int:
    """Apply a fill to the position and the cash estimate; returns the P&L this fill realised."""
    position, _ = Position.objects.select_for_update().get_or_create(account=account, symbol=symbol)
    held_before = position.quantity
    value = price * quantity
    if side == protocol.BUY:
        realized = -fee
        position.quantity += quantity
        position.cost_basis += value
        account.cash -= value + fee
        account.orderable_cash -= value + fee
    else:
        held = position.quantity
        cost_out = position.cost_basis * quantity // held if held > 0 else 0
        realized = value - cost_out - fee - tax
        position.cost_basis -= cost_out
        position.quantity -= quantity
        account.cash += value - fee - tax
        account.orderable_cash += value - fee - tax
    position.realized_pnl += realized
    position.save()
    # An open position keeps its symbol's prices streaming.
    if held_before == 0 and position.quantity != 0:
        subscriptions.position_opened(symbol=symbol, mode=account.mode)
    elif held_before != 0 and position.quantity == 0:
        subscriptions.position_closed(symbol=symbol, mode=account.mode)
    # An estimate until the broker's next balance report, which overwrites it.
    account.save(update_fields=["cash", "orderable_cash"])
    notify.account_changed(account)
    return realized


def _canceled(worker: Worker, data: dict[str, Any], _after: list) -> None:
    order = _order(worker, data)
    if order is None:
        raise EventRejected("cancel confirmation for an unknown order")
    remaining = order.quantity - order.filled_quantity
    order.canceled_quantity = min(int(data.get("canceled_quantity", remaining)), remaining)
    transition(order, OrderStatus.CANCELED, source=WORKER, payload=data, fields=("canceled_quantity",))


def _cancel_rejected(worker: Worker, data: dict[str, Any], _after: list) -> None:
    order = _order(worker, data)
    if order is None or order.status != OrderStatus.PENDING_CANCEL:
        return  # the order already finished; a refused cancel changes nothing
    back = OrderStatus.PARTIALLY_FILLED if order.filled_quantity else OrderStatus.ACCEPTED
    transition(order, back, source=WORKER, note=str(data.get("message", "")), payload=data)


def _replaced(worker: Worker, data: dict[str, Any], _after: list) -> None:
    old = _order(worker, data)
    if old is None:
        raise EventRejected("modify confirmation for an unknown order")
    remaining = int(data.get("quantity", old.quantity - old.filled_quantity))
    transition(old, OrderStatus.REPLACED, source=WORKER, payload=data)
    new = Order.objects.create(
        user=old.user,
        account=old.account,
        mode=old.mode,
        symbol=old.symbol,
        side=old.side,
        quantity=remaining,
        order_type=old.order_type,
        hoga_code=old.hoga_code,
        price=int(data["price"]),
        # Born accepted: the broker already gave the replacement its own order number.
        status=OrderStatus.ACCEPTED,
        accepted_at=timezone.now(),
        origin=old.origin,
        worker=old.worker,
        broker_order_no=str(data["new_broker_order_no"]),
        original_order=old,
        client_order_id=f"{old.client_order_id}:r{old.replacements.count() + 1}"[:64],
    )
    OrderEvent.objects.create(order=new, to_status=OrderStatus.ACCEPTED, source=WORKER, note=f"replaces #{old.pk}", payload=data)
    notify.order_changed(new)


def _outcome_unknown(worker: Worker, data: dict[str, Any], _after: list) -> None:
    order = _order(worker, data)
    if order is not None and order.status == OrderStatus.SUBMITTED:
        transition(order, OrderStatus.UNKNOWN, source=WORKER, note="the worker may have sent this order before it stopped", payload=data)


def _unmatched(worker: Worker, data: dict[str, Any], _after: list) -> None:
    log.warning("worker %s reported a broker event it could not match: %s", worker.name, data)


def _balance(worker: Worker, data: dict[str, Any], _after: list) -> None:
    account = _account(worker, data["account"])
    account.cash = int(data["cash"])
    account.orderable_cash = int(data.get("orderable_cash", account.cash))
    account.d2_cash = int(data.get("d2_cash", account.cash))
    account.balance_reported_at = timezone.now()
    account.save(update_fields=["cash", "orderable_cash", "d2_cash", "balance_reported_at"])
    reported = {str(p["symbol"]): int(p["quantity"]) for p in data.get("positions", [])}
    for symbol, quantity in reported.items():
        position, _ = Position.objects.get_or_create(account=account, symbol=symbol)
        _set_broker_quantity(position, quantity)
    for position in Position.objects.filter(account=account).exclude(symbol__in=reported):
        _set_broker_quantity(position, 0)
    notify.account_changed(account)
    risk_monitors.record_balance_reading(account)


def _set_broker_quantity(position: Position, quantity: int) -> None:
    if position.quantity != quantity:
        log.warning("position mismatch on account %s %s: platform %s, broker %s", position.account_id, position.symbol, position.quantity, quantity)
    position.broker_quantity = quantity
    position.broker_reported_at = timezone.now()
    position.save(update_fields=["broker_quantity", "broker_reported_at", "updated_at"])


def _open_orders(worker: Worker, data: dict[str, Any], _after: list) -> None:
    """Reconcile: every earlier event is applied by now (events are in order), so the broker's list is the truth."""
    account = _account(worker, data["account"])
    _fills_missed(worker, data, data.get("today") or [])
    open_numbers = {str(o.get("broker_order_no")) for o in data.get("orders", [])}
    open_ids = {int(o["order_id"]) for o in data.get("orders", []) if o.get("order_id") is not None}
    candidates = Order.objects.select_for_update().filter(account=account, status__in=WORKING).exclude(status__in=[OrderStatus.QUEUED, OrderStatus.SUBMITTED])
    for order in candidates:
        if order.pk in open_ids or (order.broker_order_no and order.broker_order_no in open_numbers):
            if order.status == OrderStatus.UNKNOWN:
                transition(order, OrderStatus.PARTIALLY_FILLED if order.filled_quantity else OrderStatus.ACCEPTED, source=RECONCILER, payload=data)
            continue
        if not order.broker_order_no:
            continue  # never reached the broker as far as we know: stays UNKNOWN for an admin to resolve
        target = OrderStatus.FILLED if order.filled_quantity == order.quantity else OrderStatus.CANCELED
        order.canceled_quantity = order.quantity - order.filled_quantity
        transition(order, target, source=RECONCILER, note="not open at the broker", payload=data, fields=("canceled_quantity",))


RECONCILED_FILL = "R"  # fill_no prefix of a fill the reconciler recorded from the broker's totals


def _fills_missed(worker: Worker, data: dict[str, Any], today: list[dict[str, Any]]) -> None:
    """Fills the broker counts but no event brought (made while the worker was disconnected: Kiwoom's
    control never replays them), recorded from each order's running totals before open orders are
    reconciled, so a filled order is not taken for a cancelled one.

    Each becomes one fill numbered R<total quantity> at the average price of the missing shares, without
    fee or tax (the totals carry none; the next balance brings the cash as the broker has it). A
    later event for shares within that total is recognised in ``_already_reconciled`` and not counted twice.
    """
    for row in today:
        number, total = str(row.get("broker_order_no") or ""), int(row.get("filled_quantity") or 0)
        if not number or total <= 0:
            continue
        order = _order(worker, {"account": data["account"], "broker_order_no": number})
        if order is None or total <= order.filled_quantity:
            continue
        missing = min(total, order.quantity) - order.filled_quantity
        amount = int(row.get("filled_amount") or 0) - order.filled_amount
        if missing <= 0 or amount <= 0:
            log.error("broker totals for order %s (%s shares, %s KRW) do not add up; left for an admin", order.pk, total, row.get("filled_amount"))
            continue
        log.warning("order %s: %s shares filled while no event came; recorded from the broker's totals", order.pk, missing)
        _filled(
            worker,
            {
                "account": data["account"],
                "order_id": order.pk,
                "broker_order_no": number,
                "fill_no": f"{RECONCILED_FILL}{total}",
                "symbol": order.symbol,
                "side": order.side,
                "price": round(amount / missing),
                "quantity": missing,
                "executed_at": timezone.now().isoformat(),
            },
            [],
        )


def _already_reconciled(order: Order, data: dict[str, Any]) -> bool:
    """A fill event for shares a reconciled fill already counted (a fill moves an order's total in one
    step, so its shares lie either wholly within a total the broker reported or wholly beyond it)."""
    if "remaining_quantity" not in data or not order.filled_quantity:
        return False
    numbers = Execution.objects.filter(order=order, fill_no__startswith=RECONCILED_FILL).values_list("fill_no", flat=True)
    covered = max((int(n[len(RECONCILED_FILL) :]) for n in numbers if n[len(RECONCILED_FILL) :].isdigit()), default=0)
    return order.quantity - int(data["remaining_quantity"]) <= covered


def _symbol_master(_worker: Worker, data: dict[str, Any], _after: list) -> None:
    market_services.upsert_symbol_master(data["symbols"])


def _symbol_info(_worker: Worker, data: dict[str, Any], _after: list) -> None:
    market_services.apply_symbol_info(data["symbols"])


def _market_status(worker: Worker, data: dict[str, Any], _after: list) -> None:
    market_services.record_market_status(market=str(data.get("market", "")), phase=str(data.get("phase", "")), at=str(data.get("at", "")))


_HANDLERS = {
    protocol.ORDER_SUBMITTED: _submitted,
    protocol.ORDER_ACCEPTED: _accepted,
    protocol.ORDER_REJECTED: _rejected,
    protocol.ORDER_FILLED: _filled,
    protocol.ORDER_CANCELED: _canceled,
    protocol.CANCEL_REJECTED: _cancel_rejected,
    protocol.ORDER_REPLACED: _replaced,
    protocol.COMMAND_OUTCOME_UNKNOWN: _outcome_unknown,
    protocol.ORDER_EVENT_UNMATCHED: _unmatched,
    protocol.BALANCE: _balance,
    protocol.OPEN_ORDERS: _open_orders,
    protocol.SYMBOL_MASTER: _symbol_master,
    protocol.MARKET_STATUS: _market_status,
    protocol.SYMBOL_INFO: _symbol_info,
}
