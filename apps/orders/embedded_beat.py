"""The beat schedule for the embedded default, where no Celery beat process runs.

It runs inside Daphne's own event loop, because the in-memory channel layer only reaches consumers
of the same loop. In production the same tasks come from Celery beat (migration 0002 schedules them,
and apps/risk's migration its own).
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from apps.orders import tasks
from apps.risk import tasks as risk_tasks

log = logging.getLogger(__name__)
TICK_S = 1.0
# (task, every so many seconds): the order sweeps, then the risk monitors and the emergency-stop runner.
SCHEDULE = ((tasks.dispatch_queued_task, 5.0), (tasks.resend_stale_submissions_task, 5.0), *risk_tasks.EMBEDDED_SCHEDULE)
_running: asyncio.Task[None] | None = None


def ensure_started() -> None:
    global _running
    if not settings.EMBEDDED_BEAT or (_running is not None and not _running.done()):
        return
    _running = asyncio.get_running_loop().create_task(_loop(), name="embedded-beat")


async def _loop() -> None:
    loop = asyncio.get_running_loop()
    due = {task.name: loop.time() + every for task, every in SCHEDULE}
    while True:
        await asyncio.sleep(TICK_S)
        for task, every in SCHEDULE:
            if loop.time() < due[task.name]:
                continue
            due[task.name] = loop.time() + every
            try:
                await database_sync_to_async(task)()
            except Exception:
                log.exception("embedded beat: %s failed", task.name)
