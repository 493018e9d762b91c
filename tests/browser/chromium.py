"""The browser the tests drive (Debian's Chromium) and what every browser test does first."""

from __future__ import annotations

import shutil
from typing import Any

from bench.harness import Stack

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def log_in_as_paper(running: Stack, page: Any) -> None:
    page.goto(running.base_url + "/login/")
    page.fill("input[name=username]", "paper")
    page.fill("input[name=password]", running.demo["users"]["paper"]["password"])
    page.click("button[type=submit]")
    page.wait_for_url(running.base_url + "/")
    page.wait_for_selector("text=● 실시간", timeout=15_000)


def buy_at_market(page: Any, symbol: str, quantity: int) -> None:
    """From the order ticket; waits for the position row the fill creates."""
    page.fill("#ticket-symbol", symbol)
    page.select_option("#ticket-type", "market")
    page.fill("input[name=quantity]", str(quantity))
    page.click("#ticket-form button[type=submit]")
    page.wait_for_selector(f"#position-{symbol}", timeout=30_000)


def rest_a_limit_order_then_cancel_it(running: Stack, page: Any, symbol: str) -> None:
    """A buy at the lower price limit rests; cancelled from the open-orders table, every panel follows live."""
    lower = running.api("GET", f"/api/symbols?q={symbol}", running.demo["tokens"]["paper"])[1][0]["lower_limit"]
    page.fill("#ticket-symbol", symbol)
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
