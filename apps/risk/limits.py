"""Which limits apply to an account: its owner's own row for the mode, else the mode's default row.

The defaults are the user's numbers (seed document, phase configs); the data migration stores them
and admins edit them. Should a default row be deleted, the same numbers apply from here, so a missing
row never means "no limits".
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from django.db.models import Q

from apps.accounts.models import Mode
from apps.risk.models import RiskLimit


@dataclass(frozen=True, slots=True)
class Limits:
    max_order_quantity: int | None = None
    max_order_amount: int | None = None
    max_position_count: int | None = None
    max_position_amount: int | None = None
    capital: int | None = None
    daily_loss_limit: int | None = None
    daily_loss_warn_pct: int = 70
    daily_loss_action: str = RiskLimit.LossAction.REDUCE
    fat_finger_pct: int | None = None
    duplicate_window_s: int = 3
    max_orders_per_minute: int | None = None


# Phase 1 (모의투자): 10,000,000 KRW per order, 10 positions, 500,000 KRW daily loss.
# Phase 2 (소액 실전): 1,000,000 KRW capital, 100,000 KRW per position, 50,000 KRW daily loss.
# The rest are the platform's guards, not the user's numbers; every one is editable in admin. Paper
# has no fat-finger guard by default (marketable limit orders at the band are part of trying things
# out on paper); real money gets one.
DEFAULTS: dict[str, dict[str, Any]] = {
    Mode.PAPER: {
        "max_order_amount": 10_000_000,
        "max_position_count": 10,
        "daily_loss_limit": 500_000,
        "max_order_quantity": 100_000,
        "duplicate_window_s": 3,
        "max_orders_per_minute": 100,
    },
    Mode.REAL: {
        "capital": 1_000_000,
        "max_position_amount": 100_000,
        "daily_loss_limit": 50_000,
        "max_order_quantity": 10_000,
        "fat_finger_pct": 5,
        "duplicate_window_s": 3,
        "max_orders_per_minute": 30,
    },
}
FIELDS = tuple(f.name for f in fields(Limits))


def from_row(row: RiskLimit) -> Limits:
    return Limits(**{name: getattr(row, name) for name in FIELDS})


def limits_for(*, user_id: int, mode: str) -> Limits:
    rows = {r.user_id: r for r in RiskLimit.objects.filter(Q(user_id=user_id) | Q(user__isnull=True), mode=mode)}
    row = rows.get(user_id) or rows.get(None)
    return from_row(row) if row is not None else Limits(**DEFAULTS[mode])


def set_limits(*, mode: str, user_id: int | None = None, changed_by_id: int | None = None, **values: Any) -> RiskLimit:
    """Create or update a limit row; a new user row starts as a copy of the mode's current default."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown limit fields: {', '.join(sorted(unknown))}")
    row = RiskLimit.objects.filter(mode=mode, user_id=user_id).first() if user_id else RiskLimit.objects.filter(mode=mode, user__isnull=True).first()
    if row is None:
        base = limits_for(user_id=0, mode=mode)
        row = RiskLimit(mode=mode, user_id=user_id, **{name: getattr(base, name) for name in FIELDS})
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by_id = changed_by_id
    row.full_clean(exclude=["user", "updated_by"])
    row.save()
    return row
