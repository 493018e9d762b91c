"""Order writes: submit, cancel, dispatch to a worker, and the transition helper every writer uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import BrokerAccount, User, Worker
from apps.marketdata import selectors as market
from apps.orders import notify
from apps.orders.models import Order, OrderEvent, OrderStatus, OrderType, Origin
from apps.orders.state import CANCELABLE, check_transition
from apps.risk import pretrade
from kiwoom_worker import protocol

log = logging.getLogger(__name__)


class OrderNotFound(Exception):
    """The order or account does not exist for this user (callers answer 404, never 403)."""


class OrderNotCancelable(Exception):
    def __init__(self, order: Order) -> None:
        super().__init__(_("%(status)s 상태의 주문은 취소할 수 없습니다.") % {"status": order.get_status_display()})
        self.order = order


@dataclass(frozen=True, slots=True)
class SubmitResult:
    order: Order
    created: bool


def transition(order: Order, target: str, *, source: str, note: str = "", payload: dict[str, Any] | None = None, fields: tuple[str, ...] = ()) -> None:
    """Move ``order`` to ``target`` and append the event; raises IllegalTransition without writing anything."""
    check_transition(order.status, target)
    previous = order.status
    order.status = target
    now = timezone.now()
    if target == OrderStatus.SUBMITTED:
        order.submitted_at = order.submitted_at or now
    elif target == OrderStatus.ACCEPTED:
        order.accepted_at = order.accepted_at or now
    if target in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.DENIED, OrderStatus.EXPIRED, OrderStatus.REPLACED):
        order.done_at = now
    order.save(update_fields=["status", "submitted_at", "accepted_at", "done_at", "updated_at", *fields])
    OrderEvent.objects.create(order=order, from_status=previous, to_status=target, source=source, note=note, payload=payload or {})
    notify.order_changed(order)


def submit_order(
    *,
    user: User,
    account_id: int,
    symbol: str,
    side: str,
    quantity: int,
    order_type: str,
    price: int | None = None,
    client_order_id: str | None = None,
    origin: str = Origin.MANUAL,
    second_factor: bool = False,
) -> SubmitResult:
    """Store the order and run the pre-trade checks; a repeated client_order_id returns the first order, never a second one."""
    if client_order_id:
        existing = Order.objects.filter(user=user, client_order_id=client_order_id).first()
        if existing is not None:
            return SubmitResult(existing, created=False)
    account = BrokerAccount.objects.filter(pk=account_id, owner=user).first()
    if account is None:
        raise OrderNotFound(_("계좌를 찾을 수 없습니다."))
    symbol = symbol.strip().upper()
    try:
        with transaction.atomic():
            denial = pretrade.check_order(
                account=account,
                user=user,
                symbol=symbol,
                side=side,
                quantity=quantity,
                order_type=order_type,
                price=price,
                origin=origin,
                second_factor=second_factor,
            )
            order = Order.objects.create(
                user=user,
                account=account,
                mode=account.mode,
                symbol=symbol[:12],
                side=side,
                quantity=max(quantity, 0),
                order_type=order_type,
                hoga_code=protocol.HOGA_CODES[order_type],
                price=price if order_type == OrderType.LIMIT else None,
                origin=origin,
                # A denied order is stored denied from its first row, so nothing is dropped and no
                # constraint has to admit a half-valid working order.
                status=OrderStatus.DENIED if denial else OrderStatus.CREATED,
                reason_code=denial.code if denial else "",
                reason_message=denial.message if denial else "",
                done_at=timezone.now() if denial else None,
                **({"client_order_id": client_order_id} if client_order_id else {}),
            )
            OrderEvent.objects.create(order=order, to_status=OrderStatus.CREATED, source=OrderEvent.Source.USER, payload={"origin": origin})
            if denial is not None:
                OrderEvent.objects.create(
                    order=order,
                    from_status=OrderStatus.CREATED,
                    to_status=OrderStatus.DENIED,
                    source=OrderEvent.Source.SERVER,
                    note=denial.message,
                    payload={"code": denial.code},
                )
                notify.order_changed(order)
                return SubmitResult(order, created=True)
            transition(order, OrderStatus.QUEUED, source=OrderEvent.Source.SERVER, note=_queued_note(order))
            transaction.on_commit(lambda: _dispatch_after_commit(order.pk))
    except IntegrityError:
        # Two requests with the same client_order_id raced; the loser returns the winner's order.
        if client_order_id:
            existing = Order.objects.filter(user=user, client_order_id=client_order_id).first()
            if existing is not None:
                return SubmitResult(existing, created=False)
        raise
    return SubmitResult(order, created=True)


def _queued_note(order: Order) -> str:
    clock = market.market_clock()
    now = timezone.now()
    if not clock.accepts_regular_orders(now):
        at = timezone.localtime(clock.next_regular_open(now))
        return _("장 운영시간이 아니어서 다음 정규장(%(at)s KST)에 전송됩니다.") % {"at": f"{at:%Y-%m-%d %H:%M}"}
    return ""


def _dispatch_after_commit(order_id: int) -> None:
    # Dispatched straight from the committing thread: the fastest path to the worker. If anything goes
    # wrong the order is still safely QUEUED, and the beat sweep (dispatch_queued) sends it later.
    try:
        dispatch_order(order_id)
    except Exception:
        log.exception("dispatch of order %s failed; it stays QUEUED for the next sweep", order_id)


def route_for(account: BrokerAccount) -> Worker | None:
    """The connected worker that may carry this account's orders: same mode, and it *reported* that server."""
    return (
        Worker.objects.filter(accounts=account, mode=account.mode, reported_server=account.mode, revoked_at__isnull=True)
        .exclude(channel_name="")
        .order_by("-connected_at")
        .first()
    )


def dispatch_order(order_id: int) -> Order | None:
    """Send a QUEUED order to its worker when the session accepts orders; otherwise leave it queued."""
    now = timezone.now()
    if not market.market_clock().accepts_regular_orders(now):
        return None
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("account").filter(pk=order_id, status=OrderStatus.QUEUED).first()
        if order is None:
            return None
        worker = route_for(order.account)
        if worker is None:
            return order  # waits for a worker of this mode; the worker's hello dispatches it
        if pretrade.held_at_dispatch(order):
            return order  # its scope was halted after it was queued; it waits until trading resumes
        # Re-check prices at dispatch: a queued order may have been placed against yesterday's band.
        denial = pretrade.check_symbol_and_price(_request_of(order), market.symbol_facts(order.symbol))
        if denial is not None:
            order.reason_code, order.reason_message = denial.code, denial.message
            transition(order, OrderStatus.DENIED, source=OrderEvent.Source.SERVER, note=denial.message, fields=("reason_code", "reason_message"))
            return order
        order.worker = worker
        order.command_id = order.command_id or protocol.new_id()
        transition(order, OrderStatus.SUBMITTED, source=OrderEvent.Source.SERVER, note=worker.name, fields=("worker", "command_id"))
        channel = worker.channel_name
        frame = place_command(order)
    # Sent only after the commit, so a worker never acts on an order the database does not have.
    notify.send_to_worker(channel, frame)
    return order


def _request_of(order: Order) -> pretrade.OrderRequest:
    return pretrade.OrderRequest(True, order.mode, order.symbol, order.side, order.quantity, order.order_type, order.price, second_factor=True)


def place_command(order: Order) -> dict[str, Any]:
    return protocol.command(
        command_id=order.command_id,
        name=protocol.PLACE_ORDER,
        args={
            "order_id": order.pk,
            "account": order.account.account_number,
            "symbol": order.symbol,
            "side": order.side,
            "quantity": order.quantity,
            "order_type": order.order_type,
            "hoga": order.hoga_code,
            "price": order.price or 0,
            # The worker sends the emergency stop's sells ahead of ordinary orders.
            "origin": order.origin,
        },
    )


def cancel_command(order: Order) -> dict[str, Any]:
    return protocol.command(
        command_id=order.cancel_command_id,
        name=protocol.CANCEL_ORDER,
        args={
            "order_id": order.pk,
            "account": order.account.account_number,
            "symbol": order.symbol,
            "side": order.side,
            "broker_order_no": order.broker_order_no,
            "quantity": 0,
        },
    )


def cancel_order(*, user: User, order_id: int) -> Order:
    """Cancel a working order: locally if it never left the server, otherwise through its worker."""
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("account", "worker").filter(pk=order_id, user=user).first()
        if order is None:
            raise OrderNotFound(_("주문을 찾을 수 없습니다."))
        if order.status == OrderStatus.PENDING_CANCEL:
            return order
        if order.status not in CANCELABLE:
            raise OrderNotCancelable(order)
        if order.status == OrderStatus.QUEUED:
            order.canceled_quantity = order.quantity
            transition(order, OrderStatus.CANCELED, source=OrderEvent.Source.USER, note=_("전송 전 취소"), fields=("canceled_quantity",))
            return order
        order.cancel_command_id = order.cancel_command_id or protocol.new_id()
        transition(order, OrderStatus.PENDING_CANCEL, source=OrderEvent.Source.USER, fields=("cancel_command_id",))
        frame = cancel_command(order) if order.broker_order_no else None
        channel = order.worker.channel_name if order.worker else ""
    if frame is not None and channel:
        notify.send_to_worker(channel, frame)
    # Without a broker order number yet, the cancel is sent when the acceptance arrives (broker_sync).
    return order


@dataclass
class CancelBatch:
    local: list[int]  # canceled before they left the server
    sent: list[int]  # PENDING_CANCEL: the broker answers (a cancel without an order number follows the acceptance)
    finished: list[int]  # nothing left to cancel (filled, rejected, canceled meanwhile)


def cancel_orders(order_ids: list[int], *, note: str, chunk: int = 200) -> CancelBatch:
    """Cancel many working orders of any users at once, by the same rules as cancel_order (the emergency stop).

    One transaction, a few set-based UPDATEs and one trip to the channel layer per chunk instead of
    a round per order: bench/risk.py measures a thousand cancels.
    """
    batch = CancelBatch([], [], [])
    for start in range(0, len(order_ids), chunk):
        frames: list[tuple[str, dict[str, Any]]] = []
        with transaction.atomic():
            rows = list(
                Order.objects.select_for_update(of=("self",)).select_related("account", "worker").filter(pk__in=order_ids[start : start + chunk]).order_by("pk")
            )
            now = timezone.now()
            # Cancel command ids are a fresh random prefix plus the order id: unique, and computable in SQL.
            prefix = protocol.new_id()[:16]
            local: list[Order] = []
            fresh: list[Order] = []  # to the broker, first cancel
            again: list[Order] = []  # to the broker, cancel id kept from an earlier refused cancel
            for order in rows:
                if order.status == OrderStatus.PENDING_CANCEL:
                    batch.sent.append(order.pk)
                elif order.status not in CANCELABLE:
                    batch.finished.append(order.pk)
                elif order.status == OrderStatus.QUEUED:
                    check_transition(order.status, OrderStatus.CANCELED)
                    local.append(order)
                else:
                    check_transition(order.status, OrderStatus.PENDING_CANCEL)
                    (again if order.cancel_command_id else fresh).append(order)
            Order.objects.filter(pk__in=[o.pk for o in local]).update(status=OrderStatus.CANCELED, canceled_quantity=F("quantity"), done_at=now, updated_at=now)
            Order.objects.filter(pk__in=[o.pk for o in fresh]).update(
                status=OrderStatus.PENDING_CANCEL, cancel_command_id=Concat(Value(prefix), Cast("id", CharField())), updated_at=now
            )
            Order.objects.filter(pk__in=[o.pk for o in again]).update(status=OrderStatus.PENDING_CANCEL, updated_at=now)
            events = [OrderEvent(order=o, from_status=o.status, to_status=OrderStatus.CANCELED, source=OrderEvent.Source.SERVER, note=note) for o in local]
            for order in fresh + again:
                events.append(
                    OrderEvent(order=order, from_status=order.status, to_status=OrderStatus.PENDING_CANCEL, source=OrderEvent.Source.SERVER, note=note)
                )
                order.status = OrderStatus.PENDING_CANCEL
                order.cancel_command_id = order.cancel_command_id or f"{prefix}{order.pk}"
                if order.broker_order_no and order.worker and order.worker.channel_name:
                    frames.append((order.worker.channel_name, cancel_command(order)))
                batch.sent.append(order.pk)
            batch.local += [o.pk for o in local]
            OrderEvent.objects.bulk_create(events)
            notify.orders_changed(local + fresh + again)
        notify.send_many_to_workers(frames)
    return batch


def resend_unanswered(worker: Worker) -> int:
    """After a (re)connect: resend commands the worker may not have seen, and dispatch queued orders.

    Safe to repeat because the worker executes each command id at most once.
    """
    sent = 0
    # A cancel requested before the order number arrived leaves the order PENDING_CANCEL without a number;
    # its place command is resent too, so the cancel can follow the acceptance instead of hanging forever.
    unanswered = Order.objects.select_related("account").filter(
        worker=worker, status__in=[OrderStatus.SUBMITTED, OrderStatus.PENDING_CANCEL], broker_order_no=""
    )
    for order in unanswered:
        notify.send_to_worker(worker.channel_name, place_command(order))
        sent += 1
    pending_cancels = Order.objects.select_related("account").filter(worker=worker, status=OrderStatus.PENDING_CANCEL).exclude(broker_order_no="")
    for order in pending_cancels:
        notify.send_to_worker(worker.channel_name, cancel_command(order))
        sent += 1
    for order_id in Order.objects.filter(account__in=worker.accounts.all(), status=OrderStatus.QUEUED).values_list("pk", flat=True):
        dispatch_order(order_id)
    return sent


def resend_stale_submissions(*, older_than_s: int) -> int:
    """Resend place commands that got no answer (lost in a layer hiccup); the worker dedupes them."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_s)
    count = 0
    stale = Order.objects.select_related("account", "worker").filter(
        status__in=[OrderStatus.SUBMITTED, OrderStatus.PENDING_CANCEL], broker_order_no="", submitted_at__lt=cutoff
    )
    for order in stale:
        if order.worker and order.worker.channel_name:
            notify.send_to_worker(order.worker.channel_name, place_command(order))
            count += 1
    return count


def dispatch_queued() -> int:
    """Dispatch every queued order whose session is open (run by beat and at session open)."""
    count = 0
    for order_id in Order.objects.filter(status=OrderStatus.QUEUED).order_by("created_at").values_list("pk", flat=True):
        if dispatch_order(order_id) is not None:
            count += 1
    return count
