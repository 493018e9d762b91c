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
