"""A paper trader places orders in Chromium and sees them fill and cancel live, without reloading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import Stack, build_stack, eventually
from tests.browser.chromium import CHROMIUM, log_in_as_paper
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

    page.fill("#ticket-symbol", "005930")
    page.select_option("#ticket-type", "market")
    page.fill("input[name=quantity]", "10")
    page.click("#ticket-form button[type=submit]")

    page.wait_for_selector("#orders tr[data-status=FILLED]", timeout=30_000)
    page.wait_for_selector("#position-005930", timeout=15_000)
    assert page.locator("#position-005930 td").nth(1).inner_text().replace(",", "") == "10"
    assert page.evaluate("window.__no_reload") is True

    # A limit order at the lower price limit rests; cancel it from the open-orders table.
    lower = running.api("GET", "/api/symbols?q=005930", running.demo["tokens"]["paper"])[1][0]["lower_limit"]
    page.select_option("#ticket-type", "limit")
    page.fill("#ticket-price", str(lower))
    page.fill("input[name=quantity]", "1")
    page.click("#ticket-form button[type=submit]")
    page.wait_for_selector("#open-orders tbody tr[id^=open-order-]", timeout=30_000)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#open-orders tbody tr[id^=open-order-] button")
    page.wait_for_selector("#orders tr[data-status=CANCELED]", timeout=30_000)
    # The open-orders panel follows from the same order event over the socket (no reload).
    page.wait_for_selector("#open-orders tbody tr[id^=open-order-]", state="detached", timeout=15_000)
    assert page.evaluate("window.__no_reload") is True


def test_the_emergency_button_sells_everything_and_the_banner_says_halted(running: Stack, page) -> None:
    log_in_as_paper(running, page)
    page.fill("#ticket-symbol", "005930")
    page.select_option("#ticket-type", "market")
    page.fill("input[name=quantity]", "5")
    page.click("#ticket-form button[type=submit]")
    page.wait_for_selector("#position-005930", timeout=30_000)
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
    page.fill("#ticket-symbol", "005930")
    page.select_option("#ticket-type", "market")
    page.fill("input[name=quantity]", "1")
    page.click("#ticket-form button[type=submit]")
    page.wait_for_selector("#position-005930", timeout=30_000)  # a held symbol's price is pushed live
    page.evaluate("window.__frames = 0; document.addEventListener('htmx:wsAfterMessage', () => { window.__frames += 1; })")
    frames = lambda: page.evaluate("window.__frames")  # noqa: E731 - polled: the page's CSP forbids eval'd predicates
    eventually(lambda: frames() > ACK_WINDOW + 8, timeout_s=60, message=f"more than {ACK_WINDOW + 8} frames")
