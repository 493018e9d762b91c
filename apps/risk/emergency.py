"""The emergency stop (긴급 정지): a persisted run that any process can resume, step by step.

1. The scope goes to EMERGENCY at once (only emergency orders pass from then on), and admins are alerted.
2. CANCELLING: every working platform order in scope is cancelled (queued ones locally, the rest at the broker).
3. WAITING: orders still in flight get a bounded time to finish; lost cancel commands are resent.
4. LIQUIDATING: each position in scope is sold with a market order through the order service (origin
   "emergency"); outside market hours the order is queued for the next session and the run says so.
5. HALTING: the scope goes to HALTED; only an admin can return it to ACTIVE.
6. ALERTING: admins get the outcome, with anything that needs a human.

Each pass claims the run with a conditional UPDATE (a lease), so two processes never work on it at
once, and a runner that dies leaves a lease that expires. Every action is keyed per run (cancel per
order, liquidation per account and symbol with a client_order_id derived from the run), and sell
quantities are what is held minus what is already being sold, so a resumed or repeated stop never
sells twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.marketdata import selectors as market
from apps.orders import notify
from apps.orders import services as orders
from apps.orders.models import Order, OrderStatus, Origin, Position
from apps.orders.state import CANCELABLE, TERMINAL, WORKING
from apps.risk import alerts, states
from apps.risk.models import EmergencyStop, EmergencyStopLog, EmergencyStopTarget, ScopeKind, State
from apps.risk.states import NotAllowed, Scope

log = logging.getLogger(__name__)
Step = EmergencyStop.Step
Target = EmergencyStopTarget
LEASE_S = 15
MAX_SELL_ATTEMPTS = 3
RESEND_CANCEL_AFTER_S = 5
RENEW_EVERY = 200  # cancels per lease renewal (and per transaction)
SELLS_PER_RENEWAL = 50  # each sell runs the pre-trade checks: renew more often


class LeaseLost(Exception):
    """Another runner took the run over (this one was too slow); stop touching it."""


def scope_of(run: EmergencyStop) -> Scope:
    return Scope.from_key(run.scope_key)


def authorize(*, scope: Scope, user: User | None, trigger: str) -> None:
    """Admins may stop any scope; a trader only their own; manage.py and monitors act for the operator."""
    if trigger in (EmergencyStop.Trigger.COMMAND, EmergencyStop.Trigger.MONITOR):
        return
    if user is None:
        raise NotAllowed(_("긴급 정지를 요청한 사용자를 알 수 없습니다."))
    if states.is_admin(user):
        return
    if not (user.can_trade("paper") or user.can_trade("real")):
        raise NotAllowed(_("거래 권한이 없는 사용자는 긴급 정지를 사용할 수 없습니다."))
    own_account = scope.kind == ScopeKind.ACCOUNT and user.broker_accounts.filter(pk=scope.account_id).exists()
    if not (own_account or (scope.kind == ScopeKind.USER and scope.user_id == user.pk)):
        raise NotAllowed(_("본인 계좌만 긴급 정지할 수 있습니다."))


def trigger_stop(*, scope: Scope, reason: str, trigger: str, requested_by: User | None = None, requested_by_name: str = "") -> EmergencyStop:
    """Start a stop for ``scope``, or return the one already running there (pressing twice starts nothing new)."""
    if not reason.strip():
        raise ValueError("an emergency stop needs a reason")
    authorize(scope=scope, user=requested_by, trigger=trigger)
    name = requested_by_name or (requested_by.get_username() if requested_by else trigger)
    try:
        with transaction.atomic():
            existing = EmergencyStop.objects.filter(scope_key=scope.key, finished_at__isnull=True).first()
            if existing is not None:
                return existing
            now = timezone.now()
            run = EmergencyStop.objects.create(
                scope_key=scope.key,
                scope=scope.kind,
                mode=scope.mode,
                user_id=scope.user_id,
                account_id=scope.account_id,
                reason=reason,
                trigger=trigger,
                requested_by=requested_by,
                requested_by_name=name[:150],
                step_started_at=now,
            )
            states.set_state(scope=scope, state=State.EMERGENCY, reason=reason, source=f"emergency:{run.pk}", changed_by=requested_by)
            _log(run, _("긴급 정지 시작 (%(scope)s): %(reason)s — 요청: %(name)s") % {"scope": scope.label(), "reason": reason, "name": name})
            alerts.raise_alert(
                kind="emergency_stop_started",
                severity="critical",
                title=_("긴급 정지 시작: %(scope)s") % {"scope": scope.label()},
                message=_("%(name)s 님이 긴급 정지를 시작했습니다. 사유: %(reason)s") % {"name": name, "reason": reason},
                scope_key=scope.key,
                data={"run": run.pk},
            )
            transaction.on_commit(lambda: enqueue(run.pk))
            return run
    except IntegrityError:
        # Two presses raced; the unique "one unfinished run per scope" kept one of them.
        return EmergencyStop.objects.get(scope_key=scope.key, finished_at__isnull=True)


def enqueue(run_id: int) -> None:
    """Hand the run to a Celery worker; in the embedded default the server's own beat loop runs it within a second."""
    if settings.RISK_RUN_STOPS_IN_CELERY:
        from apps.risk.tasks import run_emergency_stop_task

        run_emergency_stop_task.delay(run_id)


def _log(run: EmergencyStop, message: str, **data: Any) -> None:
    EmergencyStopLog.objects.create(run=run, step=run.step, message=message, data=data)
    notify.risk_changed()


def _advance(run: EmergencyStop, step: str) -> None:
    run.step, run.step_started_at = step, timezone.now()
    EmergencyStop.objects.filter(pk=run.pk).update(step=step, step_started_at=run.step_started_at)


def claim(run_id: int, owner: str) -> bool:
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    claimed = EmergencyStop.objects.filter(free, pk=run_id, finished_at__isnull=True).update(
        lease_owner=owner, lease_until=now + dt.timedelta(seconds=LEASE_S), passes=F("passes") + 1
    )
    return claimed == 1


def _renew(run: EmergencyStop, owner: str) -> None:
    if not EmergencyStop.objects.filter(pk=run.pk, lease_owner=owner).update(lease_until=timezone.now() + dt.timedelta(seconds=LEASE_S)):
        raise LeaseLost(run.pk)


def _release(run_id: int, owner: str) -> None:
    EmergencyStop.objects.filter(pk=run_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def run_pass(run_id: int) -> bool:
    """Advance the run as far as it can go now; True once it is finished. Safe to call from anywhere, any time."""
    owner = uuid.uuid4().hex
    if not claim(run_id, owner):
        return EmergencyStop.objects.filter(pk=run_id, finished_at__isnull=False).exists()
    try:
        while True:
            run = EmergencyStop.objects.get(pk=run_id)
            if run.finished_at is not None:
                return True
            if not STEPS[run.step](run, owner):
                return False  # waiting on the broker; the next pass continues from here
    except LeaseLost:
        log.warning("emergency stop %s: lease taken over by another runner", run_id)
        return False
    finally:
        _release(run_id, owner)


def unfinished() -> list[int]:
    return list(EmergencyStop.objects.filter(finished_at__isnull=True).order_by("created_at").values_list("pk", flat=True))


# Steps: each returns True when the run moved on and the next step can start now, False to wait.


def _cancel_step(run: EmergencyStop, owner: str) -> bool:
    sent, local, failed = _cancel_working(run, owner)
    _log(
        run,
        _("미체결 주문 %(n)s건 취소: 전송 전 취소 %(local)s건, 증권사 취소 요청 %(sent)s건") % {"n": sent + local + failed, "local": local, "sent": sent},
        failed=failed,
    )
    _advance(run, Step.WAITING)
    return True


def _cancel_working(run: EmergencyStop, owner: str) -> tuple[int, int, int]:
    rows = list(
        Order.objects.filter(account__in=scope_of(run).accounts(), status__in=CANCELABLE)
        .exclude(origin=Origin.EMERGENCY)
        .order_by("id")
        .values_list("pk", "account_id", "symbol")
    )
    if not rows:
        return 0, 0, 0
    Target.objects.bulk_create(
        [Target(run=run, key=f"cancel:{pk}", kind=Target.Kind.CANCEL, account_id=a, symbol=s, target_order_id=pk) for pk, a, s in rows],
        ignore_conflicts=True,
    )
    ids = [pk for pk, _a, _s in rows]
    note = _("긴급 정지 #%(id)s") % {"id": run.pk}
    local: list[int] = []
    sent: list[int] = []
    finished: list[int] = []
    for start in range(0, len(ids), RENEW_EVERY):
        _renew(run, owner)
        batch = orders.cancel_orders(ids[start : start + RENEW_EVERY], note=note)
        local += batch.local
        sent += batch.sent
        finished += batch.finished
    Target.objects.filter(run=run, target_order_id__in=local + finished).update(status=Target.Status.DONE)
    Target.objects.filter(run=run, target_order_id__in=sent).update(status=Target.Status.SENT, updated_at=timezone.now())
    return len(sent), len(local), len(finished)


def _in_flight(run: EmergencyStop) -> list[int]:
    return list(
        Order.objects.filter(account__in=scope_of(run).accounts(), status__in=WORKING)
        .exclude(origin=Origin.EMERGENCY)
        .order_by("id")
        .values_list("pk", flat=True)
    )


def _wait_step(run: EmergencyStop, owner: str) -> bool:
    # A refused cancel puts an order back to working: cancel it again. Lost cancel commands are resent.
    _cancel_working(run, owner)
    _resend_cancels(run)
    open_ids = _in_flight(run)
    if not open_ids:
        _log(run, _("모든 미체결 주문이 종료되었습니다."))
    elif timezone.now() - run.step_started_at >= dt.timedelta(seconds=settings.RISK_EMERGENCY_WAIT_S):
        _log(
            run,
            _("%(n)s건은 %(s)s초 안에 종료가 확인되지 않아 그대로 두고 청산을 시작합니다.") % {"n": len(open_ids), "s": settings.RISK_EMERGENCY_WAIT_S},
            open_orders=open_ids[:200],
        )
    else:
        return False
    _advance(run, Step.LIQUIDATING)
    return True


def _resend_cancels(run: EmergencyStop) -> None:
    stale = timezone.now() - dt.timedelta(seconds=RESEND_CANCEL_AFTER_S)
    due = Target.objects.filter(run=run, kind=Target.Kind.CANCEL, status=Target.Status.SENT, updated_at__lt=stale)
    pending = (
        Order.objects.filter(pk__in=due.values("target_order_id"), status=OrderStatus.PENDING_CANCEL)
        .exclude(broker_order_no="")
        .select_related("account", "worker")
    )
    resent = [order.pk for order in pending if order.worker and notify.send_to_worker(order.worker.channel_name, orders.cancel_command(order))]
    due.update(updated_at=timezone.now())
    if resent:
        log.info("emergency stop %s: resent %s cancel commands", run.pk, len(resent))


def _sellable(position: Position) -> int:
    selling = Order.objects.filter(account_id=position.account_id, symbol=position.symbol, side="sell", status__in=WORKING)
    remaining = sum(o.remaining_quantity for o in selling.only("quantity", "filled_quantity", "canceled_quantity"))
    return max(position.quantity - remaining, 0)


def _liquidate_step(run: EmergencyStop, owner: str) -> bool:
    waiting = False
    accounts = scope_of(run).accounts()
    for index, position in enumerate(Position.objects.filter(account__in=accounts, quantity__gt=0).select_related("account").order_by("account_id", "symbol")):
        if index % SELLS_PER_RENEWAL == 0:
            _renew(run, owner)
        waiting |= _liquidate_one(run, position)
    # Positions flat by now (sold here, or filled elsewhere) are done.
    flat = Position.objects.filter(account__in=accounts, quantity__lte=0).values_list("account_id", "symbol")
    for account_id, symbol in flat:
        Target.objects.filter(run=run, key=f"sell:{account_id}:{symbol}").exclude(status=Target.Status.DONE).update(
            status=Target.Status.DONE, note=_("청산 완료")
        )
    overdue = timezone.now() - run.step_started_at >= dt.timedelta(seconds=settings.RISK_LIQUIDATION_WAIT_S)
    if waiting and not overdue:
        return False
    if waiting:
        left = Target.objects.filter(run=run, kind=Target.Kind.LIQUIDATE).exclude(status__in=[Target.Status.DONE, Target.Status.QUEUED])
        _log(run, _("%(n)s개 종목은 %(s)s초 안에 청산이 끝나지 않았습니다.") % {"n": left.count(), "s": settings.RISK_LIQUIDATION_WAIT_S})
    _advance(run, Step.HALTING)
    return True


def _liquidate_one(run: EmergencyStop, position: Position) -> bool:
    """Sell one position (at most once per attempt); True while the run should keep waiting for it."""
    key = f"sell:{position.account_id}:{position.symbol}"
    target, _created = Target.objects.get_or_create(
        run=run, key=key, defaults={"kind": Target.Kind.LIQUIDATE, "account_id": position.account_id, "symbol": position.symbol, "quantity": position.quantity}
    )
    if target.status == Target.Status.MANUAL:
        return False
    order = Order.objects.filter(pk=target.liquidation_order_id).first() if target.liquidation_order_id else None
    if order is not None and order.status not in TERMINAL:
        return _watch(run, target, order)
    # Read the position again after the order: a fill updates both in one transaction, so a sell that
    # finished since this pass listed the positions is already subtracted here (no second sell).
    position.refresh_from_db(fields=["quantity"])
    if position.quantity <= 0:
        return False
    sellable = _sellable(position)
    if sellable == 0:
        return True  # another sell is still working on these shares; wait for it to finish
    if target.attempts >= MAX_SELL_ATTEMPTS:
        target.status, target.note = (
            Target.Status.MANUAL,
            _("%(n)s번 시도 후에도 %(q)s주가 남아 수동 조치가 필요합니다.") % {"n": target.attempts, "q": position.quantity},
        )
        target.save(update_fields=["status", "note", "updated_at"])
        _log(run, f"{position.symbol}: {target.note}", account=position.account_id)
        return False
    attempt = target.attempts + 1
    result = orders.submit_order(
        user=position.account.owner,
        account_id=position.account_id,
        symbol=position.symbol,
        side="sell",
        quantity=sellable,
        order_type="market",
        client_order_id=f"estop-{run.pk}-{position.account_id}-{position.symbol}-{attempt}",
        origin=Origin.EMERGENCY,
    )
    order = result.order
    target.attempts, target.liquidation_order = attempt, order
    target.save(update_fields=["attempts", "liquidation_order", "updated_at"])
    if order.status == OrderStatus.DENIED:
        log.warning(
            "emergency stop %s: sell of %s %s on account %s denied: %s %s",
            run.pk,
            sellable,
            position.symbol,
            position.account_id,
            order.reason_code,
            order.reason_message,
        )
        target.note = f"{order.reason_code}: {order.reason_message}"
        target.save(update_fields=["note", "updated_at"])
        _log(
            run,
            _("%(symbol)s %(q)s주 청산 주문 거부: %(why)s") % {"symbol": position.symbol, "q": sellable, "why": order.reason_message},
            account=position.account_id,
        )
        return True
    _log(
        run,
        _("%(symbol)s %(q)s주 시장가 매도 (주문 #%(id)s)") % {"symbol": position.symbol, "q": sellable, "id": order.pk},
        account=position.account_id,
        order=order.pk,
    )
    return _watch(run, target, order)


def _watch(run: EmergencyStop, target: EmergencyStopTarget, order: Order) -> bool:
    if order.status == OrderStatus.QUEUED and not market.market_clock().accepts_regular_orders(timezone.now()):
        if target.status != Target.Status.QUEUED:
            at = timezone.localtime(market.market_clock().next_regular_open(timezone.now()))
            target.status, target.note = Target.Status.QUEUED, _("장이 닫혀 있어 다음 정규장(%(at)s KST)에 매도됩니다.") % {"at": f"{at:%Y-%m-%d %H:%M}"}
            target.save(update_fields=["status", "note", "updated_at"])
            _log(run, f"{order.symbol}: {target.note}", account=order.account_id, order=order.pk)
        return False
    if target.status != Target.Status.SENT:
        target.status = Target.Status.SENT
        target.save(update_fields=["status", "updated_at"])
    return True


def _halt_step(run: EmergencyStop, owner: str) -> bool:
    scope = scope_of(run)
    states.set_state(
        scope=scope,
        state=State.HALTED,
        reason=_("긴급 정지 #%(id)s 완료 후 정지: %(reason)s") % {"id": run.pk, "reason": run.reason},
        source=f"emergency:{run.pk}",
    )
    _log(run, _("%(scope)s 상태를 HALTED로 바꿨습니다. 관리자만 재개할 수 있습니다.") % {"scope": scope.label()})
    _advance(run, Step.ALERTING)
    return True


def summarize(run: EmergencyStop) -> dict[str, Any]:
    targets = Target.objects.filter(run=run)
    count = {f"{kind}_{status}": targets.filter(kind=kind, status=status).count() for kind in Target.Kind.values for status in Target.Status.values}
    remaining = list(
        Position.objects.filter(account__in=scope_of(run).accounts(), quantity__gt=0)
        .order_by("account_id", "symbol")
        .values("account_id", "symbol", "quantity")
    )
    return {**{k: v for k, v in count.items() if v}, "positions_left": remaining}


def _alert_step(run: EmergencyStop, owner: str) -> bool:
    summary = summarize(run)
    if "alerted" not in run.summary:
        manual = list(Target.objects.filter(run=run, status=Target.Status.MANUAL).values_list("symbol", "note"))
        queued = list(Target.objects.filter(run=run, status=Target.Status.QUEUED).values_list("symbol", "note"))
        lines = [_("긴급 정지 #%(id)s 완료 (%(scope)s). 사유: %(reason)s") % {"id": run.pk, "scope": scope_of(run).label(), "reason": run.reason}]
        lines += [f"- {s}: {n}" for s, n in manual + queued]
        if summary["positions_left"]:
            lines.append(_("남은 보유: %(rows)s") % {"rows": ", ".join(f"{p['symbol']} {p['quantity']}주" for p in summary["positions_left"])})
        alert = alerts.raise_alert(
            kind="emergency_stop_done",
            severity="critical",
            title=_("긴급 정지 완료: %(scope)s") % {"scope": scope_of(run).label()},
            message="\n".join(lines),
            scope_key=run.scope_key,
            data={"run": run.pk, **summary},
        )
        summary["alerted"] = alert.pk
    now = timezone.now()
    EmergencyStop.objects.filter(pk=run.pk).update(summary={**run.summary, **summary}, step=Step.DONE, step_started_at=now, finished_at=now)
    run.step = Step.DONE
    _log(run, _("긴급 정지 완료."))
    return True


STEPS = {
    Step.CANCELLING: _cancel_step,
    Step.WAITING: _wait_step,
    Step.LIQUIDATING: _liquidate_step,
    Step.HALTING: _halt_step,
    Step.ALERTING: _alert_step,
}
