"""Fixtures for the worker link's tests."""

from __future__ import annotations

import pytest

from apps.accounts import services as account_services


@pytest.fixture
def no_embedded_beat(settings) -> None:
    # The embedded beat would send its own commands down the test socket.
    settings.EMBEDDED_BEAT = False


@pytest.fixture
def paper_worker(paper_trader, outsider):
    return account_services.create_worker(name="w-paper", mode="paper", accounts=[paper_trader.paper, outsider.paper])
