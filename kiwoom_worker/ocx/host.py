"""Hosting the control: a Qt application in the main thread, the link on its own asyncio thread.

QAxWidget needs a QApplication and the thread that created it; every call into the control is made
there (it is not thread-safe). A QTimer drives the Engine's pump every few milliseconds; the link
runs ``run_link(engine)`` on a worker thread and, when it returns, asks the Qt loop to quit.
Windows only for the real control (QAxContainer); ``make_control`` lets tests host the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kiwoom_worker.ocx.control import PROG_ID
from kiwoom_worker.ocx.engine import Engine

PUMP_EVERY_MS = 5


def _real_control() -> Any:
    from PyQt5.QAxContainer import QAxWidget  # Windows only

    return QAxWidget(PROG_ID)


def run_with_qt(run_link: Callable[[Engine], int], *, make_control: Callable[[], Any] = _real_control, after_pump: Callable[[Any], None] | None = None) -> int:
    from PyQt5.QtCore import QMetaObject, Qt, QTimer
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    control = make_control()
    engine = Engine(control)
    timer = QTimer()

    def tick() -> None:
        engine.pump()
        if after_pump is not None:
            after_pump(control)

    timer.timeout.connect(tick)
    timer.start(PUMP_EVERY_MS)
    outcome: dict[str, int] = {}

    def link_thread() -> None:
        try:
            outcome["code"] = run_link(engine)
        finally:
            QMetaObject.invokeMethod(app, "quit", Qt.QueuedConnection)

    thread = threading.Thread(target=link_thread, name="worker-link", daemon=True)
    thread.start()
    app.exec_()
    timer.stop()
    thread.join(timeout=10)
    return outcome.get("code", 0)
