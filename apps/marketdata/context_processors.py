from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def market_clock(request: HttpRequest) -> dict[str, object]:
    # The banner tells a newcomer when the session clock is simulated (MARKET_HOURS=always).
    return {"market_hours_simulated": settings.MARKET_HOURS == "always"}
