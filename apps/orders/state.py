"""The order state machine (DESIGN.md §5) as an explicit transition table.

Anything not listed is illegal: the service refuses it and logs it, it never applies it.
"""

from __future__ import annotations

from apps.orders.models import OrderStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.DENIED, S.QUEUED}),
    # A queued order is re-checked when it is dispatched (e.g. at the next session open).
    S.QUEUED: frozenset({S.SUBMITTED, S.CANCELED, S.DENIED, S.EXPIRED}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.PENDING_CANCEL, S.UNKNOWN}),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.CANCELED, S.REJECTED, S.EXPIRED, S.UNKNOWN}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.CANCELED, S.EXPIRED, S.UNKNOWN}),
    # Fills keep arriving while a cancel or modify is in flight; a refused cancel restores the working state.
    S.PENDING_CANCEL: frozenset({S.PENDING_CANCEL, S.CANCELED, S.FILLED, S.ACCEPTED, S.PARTIALLY_FILLED, S.UNKNOWN}),
    S.PENDING_REPLACE: frozenset({S.PENDING_REPLACE, S.REPLACED, S.FILLED, S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCELED, S.UNKNOWN}),
    # A late fill after a cancel is legal: the fill happened at the exchange before the cancel took effect.
    S.CANCELED: frozenset({S.CANCELED, S.FILLED}),
    S.REPLACED: frozenset({S.REPLACED}),
    S.UNKNOWN: frozenset({S.UNKNOWN, S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED}),
    S.DENIED: frozenset(),
    S.REJECTED: frozenset(),
    S.FILLED: frozenset(),
    S.EXPIRED: frozenset(),
}

TERMINAL = frozenset({S.DENIED, S.REJECTED, S.FILLED, S.CANCELED, S.REPLACED, S.EXPIRED})
# Orders that may still trade at the broker: they reserve cash and count as open.
WORKING = frozenset({S.QUEUED, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.UNKNOWN})
CANCELABLE = frozenset({S.QUEUED, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.PENDING_REPLACE})


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"illegal order transition {current} -> {target}")
        self.current = current
        self.target = target


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: str, target: str) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
