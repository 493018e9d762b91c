"""The Open API+ backend (Windows, 32-bit Python, Kiwoom's OCX).

The pieces that decide *what* to send and *when* are plain Python and tested on Linux: the request
scheduler with Kiwoom's rate limits (limits.py), the real-time screen manager (screens.py), and the
parsing of the control's padded, signed strings (fields.py). Hosting the control itself (QAxWidget,
the Qt thread) is Windows-only and is imported only by the backend entry point on Windows.
"""
