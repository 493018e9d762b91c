"""Chromium driven by Playwright, with every console error kept; the stack fixture (`running`) is each test module's."""

from __future__ import annotations

import pytest

from bench.harness import Stack
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def page(running: Stack):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="ko-KR")
        page = context.new_page()
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))  # type: ignore[attr-defined]
        yield page
        browser.close()
        # The Content-Security-Policy blocks nothing the pages need.
        assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors  # type: ignore[attr-defined]
