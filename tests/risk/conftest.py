"""Risk fixtures (helpers in tests/risk/support.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _risk_runs_here(settings) -> None:
    # Tests drive emergency stops and monitors themselves; nothing goes to a Celery queue or a beat loop.
    settings.RISK_RUN_STOPS_IN_CELERY = False
    settings.EMBEDDED_BEAT = False
