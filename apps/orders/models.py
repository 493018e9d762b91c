from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import BrokerAccount, Mode, User, Worker


class OrderStatus(models.TextChoices):
    CREATED = "CREATED", _("생성")
    DENIED = "DENIED", _("거부(사전점검)")
    QUEUED = "QUEUED", _("대기")
    SUBMITTED = "SUBMITTED", _("전송")
    ACCEPTED = "ACCEPTED", _("접수")
    PARTIALLY_FILLED = "PARTIALLY_FILLED", _("부분체결")
    FILLED = "FILLED", _("체결")
    REJECTED = "REJECTED", _("거부(증권사)")
    PENDING_CANCEL = "PENDING_CANCEL", _("취소중")
    CANCELED = "CANCELED", _("취소")
    PENDING_REPLACE = "PENDING_REPLACE", _("정정중")
    REPLACED = "REPLACED", _("정정됨")
    EXPIRED = "EXPIRED", _("만료")
    UNKNOWN = "UNKNOWN", _("확인필요")


class Side(models.TextChoices):
    BUY = "buy", _("매수")
    SELL = "sell", _("매도")


class OrderType(models.TextChoices):
    LIMIT = "limit", _("지정가")
    MARKET = "market", _("시장가")


class Origin(models.TextChoices):
    MANUAL = "manual", _("대시보드")
    API = "api", "API"
    STRATEGY = "strategy", _("전략")
    EMERGENCY = "emergency", _("긴급")


class Order(models.Model):
    client_order_id = models.CharField(max_length=64, default=uuid.uuid4)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="orders")
    account = models.ForeignKey(BrokerAccount, on_delete=models.PROTECT, related_name="orders")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    symbol = models.CharField(max_length=12, db_index=True)  # room to keep a malformed code on a DENIED order
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = models.PositiveIntegerField()
    order_type = models.CharField(max_length=8, choices=OrderType.choices)
    hoga_code = models.CharField(max_length=2)  # Kiwoom 거래구분, kept as sent
    price = models.PositiveBigIntegerField(null=True, blank=True)  # None for market orders
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.CREATED, db_index=True)
    filled_quantity = models.PositiveIntegerField(default=0)
    filled_amount = models.PositiveBigIntegerField(default=0)  # Σ price × quantity over fills, for the average
    canceled_quantity = models.PositiveIntegerField(default=0)
    fees = models.PositiveBigIntegerField(default=0)
    taxes = models.PositiveBigIntegerField(default=0)
    broker_order_no = models.CharField(max_length=20, blank=True, db_index=True)
    original_order = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replacements")
    reason_code = models.CharField(max_length=40, blank=True)  # deny code, or the broker's reject code
    reason_message = models.TextField(blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    worker = models.ForeignKey(Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    command_id = models.CharField(max_length=32, blank=True)  # the place_order command; the worker executes it at most once
    cancel_command_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "orders"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "client_order_id"], name="uniq_client_order_id_per_user"),
            # A zero quantity is only ever stored on an order denied for it, so the request is not lost.
            models.CheckConstraint(condition=models.Q(quantity__gt=0) | models.Q(status="DENIED"), name="order_quantity_positive"),
            models.CheckConstraint(condition=models.Q(filled_quantity__lte=models.F("quantity")), name="order_fill_within_quantity"),
        ]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.symbol} {self.quantity} {self.status}"

    @property
    def remaining_quantity(self) -> int:
        return max(self.quantity - self.filled_quantity - self.canceled_quantity, 0)

    @property
    def average_fill_price(self) -> float | None:
        return self.filled_amount / self.filled_quantity if self.filled_quantity else None


class OrderEvent(models.Model):
    """Append-only log of every transition, with the raw payload that caused it."""

    class Source(models.TextChoices):
        SERVER = "server"
        USER = "user"
        WORKER = "worker"
        RECONCILER = "reconciler"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    source = models.CharField(max_length=12, choices=Source.choices)
    note = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "order_events"
        ordering = ["id"]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionDenied("order events are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionDenied("order events are append-only")


class Execution(models.Model):
    """One fill (체결). Unique per account, trade date, broker order number and fill number."""

    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="executions")
    account = models.ForeignKey(BrokerAccount, on_delete=models.PROTECT, related_name="executions")
    trade_date = models.DateField()  # Kiwoom order and fill numbers restart every trading day
    broker_order_no = models.CharField(max_length=20)
    fill_no = models.CharField(max_length=20)
    symbol = models.CharField(max_length=6)
    side = models.CharField(max_length=4, choices=Side.choices)
    price = models.PositiveBigIntegerField()
    quantity = models.PositiveIntegerField()
    fee = models.PositiveBigIntegerField(default=0)
    tax = models.PositiveBigIntegerField(default=0)
    # What this fill realised, after fees and tax (a buy realises minus its fee): today's P&L sums these.
    realized_pnl = models.BigIntegerField(default=0)
    executed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "order_executions"
        ordering = ["-executed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "trade_date", "broker_order_no", "fill_no"], name="uniq_fill")]


class Position(models.Model):
    """Holdings per account and symbol, kept from fills and reconciled against the broker's balance."""

    account = models.ForeignKey(BrokerAccount, on_delete=models.PROTECT, related_name="positions")
    symbol = models.CharField(max_length=6)
    quantity = models.BigIntegerField(default=0)
    cost_basis = models.BigIntegerField(default=0)  # Σ price × quantity of the shares still held (fees excluded)
    realized_pnl = models.BigIntegerField(default=0)  # after fees and taxes
    broker_quantity = models.BigIntegerField(null=True, blank=True)  # as of the last balance report
    broker_reported_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "positions"
        ordering = ["symbol"]
        constraints = [models.UniqueConstraint(fields=["account", "symbol"], name="uniq_position")]

    @property
    def average_price(self) -> float | None:
        return self.cost_basis / self.quantity if self.quantity else None
