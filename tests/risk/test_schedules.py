"""The monitors are scheduled in the database (editable in admin) on Seoul time, and the embedded beat runs the same tasks."""

from __future__ import annotations

from platform.celery import app

import pytest
from django_celery_beat.models import PeriodicTask

from apps.orders import embedded_beat
from apps.risk import tasks

pytestmark = pytest.mark.django_db
RISK_TASKS = {
    "risk.resume_emergency_stops",
    "risk.check_daily_loss",
    "risk.check_workers",
    "risk.request_balances",
    "risk.reset_daily_counters",
    "risk.take_equity_snapshots",
}


def test_every_risk_task_is_scheduled_and_registered() -> None:
    scheduled = {t.task: t for t in PeriodicTask.objects.filter(task__startswith="risk.")}
    assert set(scheduled) == RISK_TASKS
    assert all(t.enabled for t in scheduled.values())
    app.loader.import_default_modules()
    assert RISK_TASKS <= set(app.tasks)


def test_the_session_boundary_runs_on_seoul_time() -> None:
    reset = PeriodicTask.objects.get(task="risk.reset_daily_counters").crontab
    assert (reset.minute, reset.hour, reset.day_of_week, str(reset.timezone)) == ("0", "8", "1-5", "Asia/Seoul")
    snapshot = PeriodicTask.objects.get(task="risk.take_equity_snapshots").crontab
    assert (snapshot.hour, str(snapshot.timezone)) == ("18", "Asia/Seoul")


def test_the_embedded_beat_runs_the_same_tasks() -> None:
    names = {task.name for task, _every in embedded_beat.SCHEDULE}
    assert RISK_TASKS <= names
    assert {"orders.dispatch_queued", "orders.resend_stale_submissions"} <= names
    assert dict((t.name, every) for t, every in tasks.EMBEDDED_SCHEDULE)["risk.resume_emergency_stops"] <= 1.0
