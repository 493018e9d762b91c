"""The beat schedule for the embedded default, where no Celery beat process runs.

It runs inside Daphne's own event loop, because the in-memory channel layer only reaches consumers
of the same loop. In production the same tasks come from Celery beat (migration 0002 schedules them).
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from apps.orders import tasks

log = logging.getLogger(__name__)
INTERVAL_S = 5.0
_running: asyncio.Task[None] | None = None


def ensure_started() -> None:
    global _running
    if not settings.EMBEDDED_BEAT or (_running is not None and not _running.done()):
        return
    _running = asyncio.get_running_loop().create_task(_loop(), name="embedded-beat")


async def _loop() -> None:
    while True:
        await asyncio.sleep(INTERVAL_S)
        for task in (tasks.dispatch_queued_task, tasks.resend_stale_submissions_task):
            try:
                await database_sync_to_async(task)()
            except Exception:
                log.exception("embedded beat: %s failed", task.name)
