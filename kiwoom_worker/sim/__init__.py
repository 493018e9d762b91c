"""The `sim` backend: a local KRX paper exchange that answers like Kiwoom's paper server."""
