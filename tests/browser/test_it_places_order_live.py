"""A paper trader places orders in Chromium and sees them fill and cancel live, without reloading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import Stack, build_stack, eventually
from tests.browser.chromium import CHROMIUM, buy_at_market, log_in_as_paper, rest_a_limit_order_then_cancel_it
from tests.support import skip_or_fail

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Stack]:
    if not Path(CHROMIUM).exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    stack = build_stack("embedded", tmp_path)
    try:
        stack.start_server()
        stack.start_worker()
        token = stack.demo["tokens"]["paper"]
        eventually(lambda: stack.api("GET", "/api/accounts", token)[1][0]["balance_reported_at"], timeout_s=60, message="worker connected")
        yield stack
    finally:
        stack.stop_all()


def test_it_places_a_market_order_and_sees_it_fill_live(running: Stack, page) -> None:
    log_in_as_paper(running, page)
    page.evaluate("window.__no_reload = true")  # survives only if the page is never reloaded

    buy_at_market(page, "005930", 10)
    page.wait_for_selector("#orders tr[data-status=FILLED]", timeout=15_000)
    assert page.locator("#position-005930 td").nth(1).inner_text().replace(",", "") == "10"
    assert page.evaluate("window.__no_reload") is True

    rest_a_limit_order_then_cancel_it(running, page, "005930")
    assert page.evaluate("window.__no_reload") is True


def test_the_emergency_button_sells_everything_and_the_banner_says_halted(running: Stack, page) -> None:
    log_in_as_paper(running, page)
    buy_at_market(page, "005930", 5)
    page.evaluate("window.__no_reload = true")

    page.fill("#risk-emergency input[name=reason]", "browser drill")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#risk-emergency button[type=submit]")

    # Pushed over the dashboard socket: the banner turns HALTED once the stop has sold the position.
    page.wait_for_selector("#risk-state-banner [data-state=HALTED]", timeout=60_000)
    page.wait_for_selector("#position-005930", state="detached", timeout=30_000)
    assert "browser drill" in page.locator("#risk-state-banner").inner_text()
    assert page.evaluate("window.__no_reload") is True


def test_live_prices_keep_flowing_past_the_window_of_unacknowledged_frames(running: Stack, page) -> None:
    """The page acknowledges what it has applied; without that the server stops writing after a window."""
    from apps.orders.dashboard_consumer import ACK_WINDOW

    log_in_as_paper(running, page)
    buy_at_market(page, "005930", 1)  # a held symbol's price is pushed live
    page.evaluate("window.__frames = 0; document.addEventListener('htmx:wsAfterMessage', () => { window.__frames += 1; })")
    frames = lambda: page.evaluate("window.__frames")  # noqa: E731 - polled: the page's CSP forbids eval'd predicates
    eventually(lambda: frames() > ACK_WINDOW + 8, timeout_s=60, message=f"more than {ACK_WINDOW + 8} frames")
