"""The Celery app. Start workers with `python -m celery -A platform worker` from the repository root."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")

app = Celery("platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="platform.runtime_report", ignore_result=False)
def runtime_report() -> dict[str, str]:
    """What this worker process runs on; proves the stdlib `platform` shim inside Celery (DESIGN.md §3)."""
    import platform

    return {"system": platform.system(), "python": platform.python_version(), "machine": platform.uname().machine}
