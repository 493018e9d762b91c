"""The Kiwoom worker: runs next to a broker session and links it to the platform. Never imports Django."""

__version__ = "0.1.0"
