"""A liveness/readiness probe for supervisors and the end-to-end tests."""

from __future__ import annotations

import platform

from django.db import connection
from django.http import HttpRequest, JsonResponse

from apps.accounts.models import Worker


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    # Counts only: worker names and hosts are not for anonymous callers.
    live = Worker.objects.filter(revoked_at__isnull=True).exclude(channel_name="")
    workers = {mode: live.filter(mode=mode).count() for mode in ("paper", "real")}
    # platform.* proves the stdlib shim works inside the web process too (DESIGN.md §3).
    return JsonResponse({"ok": True, "python": platform.python_version(), "system": platform.system(), "workers_connected": workers})
