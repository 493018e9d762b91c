from __future__ import annotations

import itertools

import pytest

from apps.orders.models import OrderStatus as S
from apps.orders.state import TERMINAL, TRANSITIONS, IllegalTransition, check_transition


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(S.values)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CREATED, S.FILLED),
        (S.QUEUED, S.ACCEPTED),
        (S.FILLED, S.CANCELED),
        (S.DENIED, S.QUEUED),
        (S.REJECTED, S.ACCEPTED),
        (S.EXPIRED, S.FILLED),
    ],
)
def test_illegal_transitions_raise(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, target)


def test_the_happy_path_is_legal() -> None:
    path = [S.CREATED, S.QUEUED, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED]
    for current, target in itertools.pairwise(path):
        check_transition(current, target)


def test_a_late_fill_after_cancel_is_legal() -> None:
    check_transition(S.CANCELED, S.FILLED)


def test_terminal_states_only_admit_late_fills() -> None:
    for status in TERMINAL:
        assert TRANSITIONS[status] <= {status, S.FILLED}
