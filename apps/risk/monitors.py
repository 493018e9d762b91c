"""Monitors run by Celery beat (and by the embedded beat loop): daily loss, worker connection, position
reconciliation, the session reset and end-of-day equity.

A trip needs ``RISK_MONITOR_READINGS`` consecutive bad readings, so one bad price does not stop
trading; a reading that cannot be computed counts as bad (fail closed). Monitors only make a scope
stricter, and only undo what they set themselves.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import BrokerAccount, Mode, Worker
from apps.marketdata import krx_calendar
from apps.marketdata import selectors as market
from apps.orders import notify
from apps.orders import services as orders
from apps.orders.models import Order, Origin, Position
from apps.orders.state import CANCELABLE
from apps.risk import alerts, emergency, states
from apps.risk.limits import limits_for
from apps.risk.models import EmergencyStop, EquitySnapshot, MonitorState, RiskLimit, SessionMark, State, TradingState
from apps.risk.pnl import PnlUnavailable, day_pnl
from apps.risk.pretrade import won
from apps.risk.sessions import current_session, in_session
from apps.risk.states import Scope
from kiwoom_worker import protocol

log = logging.getLogger(__name__)
DAILY_LOSS = "daily_loss"
WORKER = "worker"
RECONCILIATION = "reconciliation"


def reading(monitor: str, scope_key: str, *, bad: bool, value: int | None = None, error: str = "", session_date: dt.date | None = None) -> MonitorState:
    """Record one reading; the returned row says how many bad ones came in a row."""
    with transaction.atomic():
        row, _created = MonitorState.objects.select_for_update().get_or_create(monitor=monitor, scope_key=scope_key)
        if session_date is not None and row.session_date != session_date:
            row.consecutive, row.warned_at, row.tripped_at, row.session_date = 0, None, None, session_date
        row.consecutive = row.consecutive + 1 if bad else 0
        row.last_value, row.last_error, row.last_reading_at = value, error[:1000], timezone.now()
        row.save()
    return row


def _mark(row: MonitorState, **fields: object) -> None:
    MonitorState.objects.filter(pk=row.pk).update(**fields)


def tripped(row: MonitorState) -> bool:
    return row.consecutive >= settings.RISK_MONITOR_READINGS and row.tripped_at is None


# Daily loss -------------------------------------------------------------------------------------


def check_daily_loss(now: dt.datetime | None = None) -> int:
    """One reading per account during the session; returns how many accounts tripped now."""
    now = now or timezone.now()
    reset_daily_if_due(now)
    if not in_session(now):
        return 0
    trips = 0
    for account in BrokerAccount.objects.select_related("owner").order_by("id"):
        limits = limits_for(user_id=account.owner_id, mode=account.mode)
        if limits.daily_loss_limit is None:
            continue
        try:
            pnl = day_pnl(account, now)
            loss, error, session_date = pnl.loss, "", pnl.session.date
        except (PnlUnavailable, ValueError) as exc:
            loss, error, session_date = None, str(exc) or type(exc).__name__, None
        cap = limits.daily_loss_limit
        row = reading(DAILY_LOSS, f"account:{account.pk}", bad=bool(error) or (loss or 0) > cap, value=loss, error=error, session_date=session_date)
        if loss is not None and row.warned_at is None and loss * 100 >= cap * limits.daily_loss_warn_pct:
            _mark(row, warned_at=now)
            alerts.raise_alert(
                kind="daily_loss_warning",
                severity="warning",
                title=_("일일 손실 경고: %(account)s") % {"account": account},
                message=_("오늘 손실 %(loss)s원이 한도 %(cap)s원의 %(pct)s%%에 도달했습니다.")
                % {"loss": won(loss), "cap": won(cap), "pct": limits.daily_loss_warn_pct},
                scope_key=f"account:{account.pk}",
                data={"loss": loss, "limit": cap},
            )
        if tripped(row):
            _mark(row, tripped_at=now)
            _trip_daily_loss(account, loss, cap, error, limits.daily_loss_action)
            trips += 1
    return trips


def _trip_daily_loss(account: BrokerAccount, loss: int | None, cap: int, error: str, action: str) -> None:
    scope = Scope.of_account(account.pk)
    if error:
        reason = _("일일 손실을 계산할 수 없어 안전을 위해 정지합니다: %(error)s") % {"error": error}
    else:
        reason = _("일일 손실 %(loss)s원이 한도 %(cap)s원을 넘었습니다.") % {"loss": won(loss or 0), "cap": won(cap)}
    if action == RiskLimit.LossAction.EMERGENCY:
        emergency.trigger_stop(scope=scope, reason=reason, trigger=EmergencyStop.Trigger.MONITOR, requested_by_name="monitor:daily_loss")
        return
    states.raise_state(scope=scope, state=State.REDUCING, reason=reason, source="monitor:daily_loss")
    canceled = cancel_entries(account)
    alerts.raise_alert(
        kind="daily_loss_trip",
        severity="critical",
        title=_("일일 손실 한도 도달: %(account)s") % {"account": account},
        message=_("%(reason)s 계좌를 축소 전용(REDUCING)으로 바꾸고 미체결 매수 주문 %(n)s건을 취소했습니다. 다음 거래일 시작 시 자동 해제됩니다.")
        % {"reason": reason, "n": canceled},
        scope_key=scope.key,
        data={"loss": loss, "limit": cap, "canceled": canceled},
    )


def cancel_entries(account: BrokerAccount) -> int:
    """Cancel the account's working buy orders: once the loss limit is hit, nothing may add to the position."""
    count = 0
    for order in Order.objects.filter(account=account, side="buy", status__in=CANCELABLE).exclude(origin=Origin.EMERGENCY).select_related("user"):
        try:
            orders.cancel_order(user=order.user, order_id=order.pk)
            count += 1
        except orders.OrderNotCancelable:
            continue  # it finished meanwhile
    return count


def reset_daily_if_due(now: dt.datetime | None = None) -> bool:
    """At the KRX session boundary: lift the daily-loss states and clear the daily readings. Idempotent."""
    now = now or timezone.now()
    window = current_session(now)
    with transaction.atomic():
        mark, created = SessionMark.objects.select_for_update().get_or_create(name="daily", defaults={"session_date": window.date, "reset_at": now})
        if not created and mark.session_date >= window.date:
            return False
        mark.session_date, mark.reset_at = window.date, now
        mark.save()
        for key in TradingState.objects.filter(source="monitor:daily_loss").values_list("scope_key", flat=True):
            states.set_state(
                scope=Scope.from_key(key),
                state=State.ACTIVE,
                reason=_("새 거래일(%(day)s) 시작: 일일 손실 한도 초기화") % {"day": window.date},
                source="session_reset",
                only_from_source="monitor:daily_loss",
            )
        MonitorState.objects.filter(monitor=DAILY_LOSS).update(consecutive=0, warned_at=None, tripped_at=None, session_date=window.date)
    log.info("daily risk counters reset for session %s", window.date)
    return True


# Worker connection ------------------------------------------------------------------------------


def check_workers(now: dt.datetime | None = None) -> int:
    """HALT a mode whose every worker is gone during the session; lift that halt once one is back."""
    now = now or timezone.now()
    trips = 0
    fresh = now - dt.timedelta(seconds=settings.RISK_WORKER_STALE_S)
    for mode in Worker.objects.filter(revoked_at__isnull=True).values_list("mode", flat=True).distinct():
        live = Worker.objects.filter(mode=mode, reported_server=mode, revoked_at__isnull=True, last_heartbeat_at__gte=fresh).exclude(channel_name="").exists()
        scope = Scope.of_mode(mode)
        row = reading(WORKER, scope.key, bad=not live and in_session(now), value=int(live))
        if live:
            if row.tripped_at is not None:
                _mark(row, tripped_at=None)
            states.set_state(
                scope=scope, state=State.ACTIVE, reason=_("워커가 다시 연결되었습니다."), source="monitor:worker", only_from_source="monitor:worker"
            )
        elif tripped(row):
            _mark(row, tripped_at=now)
            label = Mode(mode).label
            reason = _("%(mode)s 워커 연결이 끊겨 신규 주문을 정지합니다.") % {"mode": label}
            if states.raise_state(scope=scope, state=State.HALTED, reason=reason, source="monitor:worker"):
                # Whoever gets the alert should see why without opening the Windows PC's log.
                problems = [f"{w.name}: {w.problem}" for w in Worker.objects.filter(mode=mode, revoked_at__isnull=True).exclude(problem="")]
                message = "\n".join([reason, *problems])
                alerts.raise_alert(kind="worker_disconnected", severity="critical", title=reason, message=message, scope_key=scope.key)
            trips += 1
    return trips


# Position reconciliation ------------------------------------------------------------------------


def request_balances() -> int:
    """Ask every connected worker for each account's balance; the answers are the reconciliation readings."""
    sent = 0
    for worker in Worker.objects.filter(revoked_at__isnull=True).exclude(channel_name="").prefetch_related("accounts"):
        for account in worker.accounts.all():
            frame = protocol.command(command_id=protocol.new_id(), name=protocol.QUERY_BALANCE, args={"account": account.account_number})
            sent += notify.send_to_worker(worker.channel_name, frame)
    return sent


def record_balance_reading(account: BrokerAccount) -> None:
    """Called after the broker reported an account's balance: the platform's positions must match it.

    Never raises: the balance itself must be applied even if this reading cannot be recorded.
    """
    try:
        with transaction.atomic():
            _reconcile(account)
    except Exception:
        log.exception("reconciliation reading for account %s failed", account.pk)


def _reconcile(account: BrokerAccount) -> None:
    mismatches = list(
        Position.objects.filter(account=account, broker_quantity__isnull=False)
        .exclude(quantity=F("broker_quantity"))
        .values("symbol", "quantity", "broker_quantity")
    )
    row = reading(RECONCILIATION, f"account:{account.pk}", bad=bool(mismatches), value=len(mismatches))
    if not mismatches and row.tripped_at is not None:
        _mark(row, tripped_at=None)
    if not tripped(row):
        return
    _mark(row, tripped_at=timezone.now())
    detail = ", ".join(f"{m['symbol']}: 플랫폼 {m['quantity']} / 증권사 {m['broker_quantity']}" for m in mismatches)
    reason = _("보유 수량이 증권사 잔고와 다릅니다: %(detail)s") % {"detail": detail}
    scope = Scope.of_account(account.pk)
    states.raise_state(scope=scope, state=State.HALTED, reason=reason, source="monitor:reconciliation")
    alerts.raise_alert(
        kind="reconciliation_mismatch",
        severity="critical",
        title=_("잔고 불일치: %(account)s") % {"account": account},
        message=reason + " " + _("관리자가 확인한 뒤 재개하세요."),
        scope_key=scope.key,
        data={"mismatches": mismatches},
    )


# End-of-day equity ------------------------------------------------------------------------------


def take_equity_snapshots(now: dt.datetime | None = None) -> int:
    """Write each account's equity for the current session; a later call the same session replaces it."""
    now = now or timezone.now()
    if market.market_clock().mode == "krx" and not krx_calendar.is_trading_day(now.astimezone(krx_calendar.KST).date()):
        return 0
    written = 0
    for account in BrokerAccount.objects.order_by("id"):
        try:
            pnl = day_pnl(account, now)
        except PnlUnavailable as exc:
            log.error("equity snapshot for account %s skipped: %s", account.pk, exc)
            continue
        positions = [{"symbol": s, "quantity": q, "mark": pnl.marks[s]} for s, q in sorted(pnl.held.items())]
        EquitySnapshot.objects.update_or_create(
            account=account,
            session_date=pnl.session.date,
            defaults={
                "cash": account.cash,
                "positions_value": pnl.positions_value,
                "equity": account.cash + pnl.positions_value,
                "day_pnl": pnl.total,
                "realized_pnl": pnl.realized,
                "positions": positions,
                "taken_at": now,
            },
        )
        written += 1
    return written
