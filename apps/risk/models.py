"""Risk data: limits, trading states per scope and their history, locks, emergency stops, monitors, alerts, equity."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import BrokerAccount, Mode, User


class State(models.TextChoices):
    """Ordered from least to most strict; the strictest scope that applies wins."""

    ACTIVE = "ACTIVE", _("정상")
    REDUCING = "REDUCING", _("축소만 허용")
    HALTED = "HALTED", _("신규 주문 정지")
    EMERGENCY = "EMERGENCY", _("긴급 정지 중")


STRICTNESS = {State.ACTIVE: 0, State.REDUCING: 1, State.HALTED: 2, State.EMERGENCY: 3}


class ScopeKind(models.TextChoices):
    GLOBAL = "global", _("전체")
    MODE = "mode", _("모드")  # every account of one mode; the worker monitor halts a mode whose worker is gone
    USER = "user", _("사용자")
    ACCOUNT = "account", _("계좌")


class AppendOnly(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionDenied(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionDenied(f"{type(self).__name__} rows are append-only")


class RiskLimit(models.Model):
    """Limits for one mode (user empty: the mode's default) or one user in one mode. Empty field = no limit."""

    class LossAction(models.TextChoices):
        REDUCE = "reduce", _("축소만 허용 + 신규 매수 주문 취소")
        EMERGENCY = "emergency", _("긴급 정지 (전량 청산)")

    mode = models.CharField(max_length=8, choices=Mode.choices)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="risk_limits")
    max_order_quantity = models.PositiveIntegerField(_("주문당 최대 수량"), null=True, blank=True)
    max_order_amount = models.PositiveBigIntegerField(_("주문당 최대 금액 (원)"), null=True, blank=True)
    max_position_count = models.PositiveIntegerField(_("최대 보유 종목 수"), null=True, blank=True)
    max_position_amount = models.PositiveBigIntegerField(_("종목당 최대 투자금액 (원)"), null=True, blank=True)
    capital = models.PositiveBigIntegerField(_("총 투자 한도 (원)"), null=True, blank=True)
    daily_loss_limit = models.PositiveBigIntegerField(_("일일 손실 한도 (원)"), null=True, blank=True)
    daily_loss_warn_pct = models.PositiveSmallIntegerField(_("일일 손실 경고 (%)"), default=70)
    daily_loss_action = models.CharField(_("일일 손실 한도 도달 시"), max_length=10, choices=LossAction.choices, default=LossAction.REDUCE)
    fat_finger_pct = models.PositiveSmallIntegerField(_("현재가 대비 최대 괴리 (%)"), null=True, blank=True)
    duplicate_window_s = models.PositiveIntegerField(_("중복 주문 판단 시간 (초, 0 = 끔)"), default=3)
    max_orders_per_minute = models.PositiveIntegerField(_("분당 최대 주문 수"), null=True, blank=True)
    note = models.TextField(blank=True)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "risk_limits"
        ordering = ["mode", "user_id"]
        verbose_name = _("risk limit")
        constraints = [
            models.UniqueConstraint(fields=["mode"], condition=Q(user__isnull=True), name="uniq_risk_limit_default_per_mode"),
            models.UniqueConstraint(fields=["mode", "user"], name="uniq_risk_limit_per_user_mode"),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} · {self.user or _('기본값')}"


class TradingState(models.Model):
    """The current state of one scope; absent means ACTIVE. Changed only through apps/risk/states.py."""

    scope_key = models.CharField(max_length=40, unique=True)  # "global", "mode:paper", "user:7", "account:12"
    scope = models.CharField(max_length=8, choices=ScopeKind.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(BrokerAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    reason = models.TextField(blank=True)
    source = models.CharField(max_length=64, blank=True)  # "admin:alice", "monitor:daily_loss", "emergency:17"
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "risk_trading_states"
        ordering = ["scope_key"]
        verbose_name = _("trading state")

    def __str__(self) -> str:
        return f"{self.scope_key} {self.state}"


class TradingStateChange(AppendOnly):
    """Who changed which scope's state, from what to what, why and when."""

    scope_key = models.CharField(max_length=40, db_index=True)
    old_state = models.CharField(max_length=10, choices=State.choices)
    new_state = models.CharField(max_length=10, choices=State.choices)
    reason = models.TextField()
    source = models.CharField(max_length=64)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "risk_trading_state_changes"
        ordering = ["-created_at", "-id"]


class TradingLock(models.Model):
    """Blocks new orders for a scope (optionally one symbol and side) until a time, or until removed."""

    account = models.ForeignKey(BrokerAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+", help_text=_("계좌와 사용자 모두 비우면 전체에 적용"))
    symbol = models.CharField(max_length=6, blank=True)
    side = models.CharField(max_length=4, blank=True, choices=[("buy", _("매수")), ("sell", _("매도"))])
    until = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "risk_trading_locks"
        ordering = ["-created_at"]


class EmergencyStop(models.Model):
    """One run of the emergency stop (긴급 정지) for a scope; resumable step by step, at most one unfinished per scope."""

    class Step(models.TextChoices):
        CANCELLING = "CANCELLING", _("미체결 주문 취소")
        WAITING = "WAITING", _("전송 중 주문 대기")
        LIQUIDATING = "LIQUIDATING", _("보유 종목 청산")
        HALTING = "HALTING", _("신규 주문 정지")
        ALERTING = "ALERTING", _("관리자 알림")
        DONE = "DONE", _("완료")

    class Trigger(models.TextChoices):
        ADMIN = "admin", _("관리자")
        TRADER = "trader", _("트레이더 본인")
        COMMAND = "command", "manage.py"
        MONITOR = "monitor", _("모니터")

    scope_key = models.CharField(max_length=40, db_index=True)
    scope = models.CharField(max_length=8, choices=ScopeKind.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    account = models.ForeignKey(BrokerAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_name = models.CharField(max_length=150)
    step = models.CharField(max_length=12, choices=Step.choices, default=Step.CANCELLING)
    step_started_at = models.DateTimeField()
    # A runner holds the lease while it works; an expired lease means the runner died and anyone may resume.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    passes = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "risk_emergency_stops"
        ordering = ["-created_at", "-id"]
        verbose_name = _("emergency stop")
        constraints = [models.UniqueConstraint(fields=["scope_key"], condition=Q(finished_at__isnull=True), name="uniq_unfinished_stop_per_scope")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.scope_key} {self.step}"


class EmergencyStopTarget(models.Model):
    """Progress per order to cancel and per position to liquidate; the key makes every action happen once per run."""

    class Kind(models.TextChoices):
        CANCEL = "cancel", _("취소")
        LIQUIDATE = "liquidate", _("청산")

    class Status(models.TextChoices):
        PENDING = "pending", _("대기")
        SENT = "sent", _("전송")
        DONE = "done", _("완료")
        QUEUED = "queued", _("다음 정규장 대기")
        MANUAL = "manual", _("수동 조치 필요")

    run = models.ForeignKey(EmergencyStop, on_delete=models.CASCADE, related_name="targets")
    key = models.CharField(max_length=40)  # "cancel:<order id>" or "sell:<account id>:<symbol>"
    kind = models.CharField(max_length=10, choices=Kind.choices)
    account = models.ForeignKey(BrokerAccount, on_delete=models.CASCADE, related_name="+")
    symbol = models.CharField(max_length=12)
    target_order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")  # cancel: the order
    liquidation_order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    quantity = models.BigIntegerField(default=0)  # liquidate: shares held when the run first saw the position
    attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "risk_emergency_stop_targets"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="uniq_stop_target")]


class EmergencyStopLog(AppendOnly):
    """The audit trail of a run, one row per step taken; also what the dashboard shows live."""

    run = models.ForeignKey(EmergencyStop, on_delete=models.CASCADE, related_name="logs")
    step = models.CharField(max_length=12, choices=EmergencyStop.Step.choices)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "risk_emergency_stop_logs"
        ordering = ["id"]


class MonitorState(models.Model):
    """Consecutive readings of one monitor for one scope: a trip needs several in a row (one bad price is not enough)."""

    monitor = models.CharField(max_length=32)
    scope_key = models.CharField(max_length=40)
    consecutive = models.PositiveIntegerField(default=0)
    last_value = models.BigIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_reading_at = models.DateTimeField(null=True, blank=True)
    session_date = models.DateField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    tripped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "risk_monitor_states"
        ordering = ["monitor", "scope_key"]
        constraints = [models.UniqueConstraint(fields=["monitor", "scope_key"], name="uniq_monitor_scope")]


class RiskAlert(AppendOnly):
    """An alert to admins; where it was delivered is kept on the row's delivery record."""

    class Severity(models.TextChoices):
        INFO = "info", _("정보")
        WARNING = "warning", _("경고")
        CRITICAL = "critical", _("긴급")

    kind = models.CharField(max_length=32)  # "emergency_stop", "daily_loss_warning", "daily_loss_trip", ...
    severity = models.CharField(max_length=8, choices=Severity.choices)
    scope_key = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=200)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "risk_alerts"
        ordering = ["-created_at", "-id"]


class AlertDelivery(models.Model):
    alert = models.ForeignKey(RiskAlert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10)  # "email", "webhook", "dashboard"
    ok = models.BooleanField()
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "risk_alert_deliveries"
        ordering = ["id"]


class SessionMark(models.Model):
    """The KRX session the daily counters were last reset for (one row); makes the reset idempotent."""

    name = models.CharField(max_length=16, unique=True, default="daily")
    session_date = models.DateField()
    reset_at = models.DateTimeField()

    class Meta:
        db_table = "risk_session_marks"


class EquitySnapshot(models.Model):
    """End-of-day equity per account and session; the paper → real metrics are computed from these."""

    account = models.ForeignKey(BrokerAccount, on_delete=models.CASCADE, related_name="equity_snapshots")
    session_date = models.DateField()
    cash = models.BigIntegerField()
    positions_value = models.BigIntegerField()
    equity = models.BigIntegerField()
    day_pnl = models.BigIntegerField()
    realized_pnl = models.BigIntegerField()
    positions = models.JSONField(default=list, blank=True)
    taken_at = models.DateTimeField()

    class Meta:
        db_table = "risk_equity_snapshots"
        ordering = ["account_id", "session_date"]
        constraints = [models.UniqueConstraint(fields=["account", "session_date"], name="uniq_equity_snapshot")]
