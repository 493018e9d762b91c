"""Finding Kiwoom's version-update dialog while a login waits.

When Kiwoom publishes a new module, CommConnect does not fail: the login opens a window titled
"opstarter" asking to close every program hosting the control, and the update ("opversionup",
confirmed in "업그레이드 확인") can only run once they are gone. OnEventConnect may never come. The
worker looks for those windows while it waits for the login, so it exits at once with a clear reason
(and releases the control so the update can proceed) instead of waiting out the login timeout.

Windows only (user32 through ctypes, so no extra dependency); elsewhere nothing is ever found.
"""

from __future__ import annotations

import sys

UPDATE_WINDOW_TITLES = ("opstarter", "opversionup", "업그레이드 확인", "버전처리")


def find_update_dialog() -> str | None:
    """The title of a visible version-update window, or None."""
    if sys.platform != "win32":
        return None
    return _matching_window(_visible_window_titles())


def _matching_window(titles: list[str]) -> str | None:
    for title in titles:
        lowered = title.lower()
        if any(marker.lower() in lowered for marker in UPDATE_WINDOW_TITLES):
            return title
    return None


def _visible_window_titles() -> list[str]:  # pragma: no cover - needs a Windows desktop
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    titles: list[str] = []

    @ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)  # type: ignore[attr-defined]
    def collect(hwnd: int, _lparam: int) -> bool:
        if user32.IsWindowVisible(hwnd):
            length = user32.GetWindowTextLengthW(hwnd)
            if length:
                buffer = ctypes.create_unicode_buffer(length + 1)
                user32.GetWindowTextW(hwnd, buffer, length + 1)
                titles.append(buffer.value)
        return True

    user32.EnumWindows(collect, 0)
    return titles
