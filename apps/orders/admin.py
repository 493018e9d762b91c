from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.orders.models import Execution, Order, OrderEvent, Position


class ReadOnlyAdmin(admin.ModelAdmin):
    """Orders change only through the order service, so admin shows them and never edits them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["created_at", "from_status", "to_status", "source", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "user",
        "mode",
        "symbol",
        "side",
        "quantity",
        "order_type",
        "price",
        "status",
        "filled_quantity",
        "reason_code",
        "origin",
    ]
    list_filter = ["status", "mode", "side", "origin"]
    search_fields = ["symbol", "client_order_id", "broker_order_no", "user__username"]
    inlines = [OrderEventInline]


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = ["executed_at", "account", "symbol", "side", "price", "quantity", "fee", "tax", "broker_order_no", "fill_no"]
    list_filter = ["side"]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["account", "symbol", "quantity", "cost_basis", "realized_pnl", "broker_quantity", "updated_at"]
