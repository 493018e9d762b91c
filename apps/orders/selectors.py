"""Order reads, always scoped to the caller: another user's rows are simply not found."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import BrokerAccount, User
from apps.orders.models import Execution, Order, Position
from apps.orders.state import WORKING


def accounts_of(user: User) -> QuerySet[BrokerAccount]:
    return BrokerAccount.objects.filter(owner=user).order_by("mode", "id")


def orders_of(user: User, *, account_id: int | None = None, status: str | None = None) -> QuerySet[Order]:
    qs = Order.objects.filter(user=user).select_related("account")
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def open_orders_of(user: User, *, account_id: int | None = None) -> QuerySet[Order]:
    return orders_of(user, account_id=account_id).filter(status__in=WORKING)


def order_of(user: User, order_id: int) -> Order | None:
    return orders_of(user).filter(pk=order_id).first()


def positions_of(user: User, *, account_id: int | None = None, include_flat: bool = False) -> QuerySet[Position]:
    qs = Position.objects.filter(account__owner=user).select_related("account")
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if not include_flat:
        qs = qs.exclude(quantity=0)
    return qs.order_by("account_id", "symbol")


def executions_of(user: User, *, account_id: int | None = None) -> QuerySet[Execution]:
    qs = Execution.objects.filter(account__owner=user).select_related("account")
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return qs.order_by("-executed_at", "-id")
