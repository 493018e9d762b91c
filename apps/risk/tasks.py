"""Celery tasks: ids in, a service call, nothing else. Beat schedules them (migration 0003, editable in admin)."""

from __future__ import annotations

from celery import shared_task

from apps.risk import emergency, monitors

RETRY_AFTER_S = 1


@shared_task(name="risk.run_emergency_stop", ignore_result=True)
def run_emergency_stop_task(run_id: int) -> bool:
    finished = emergency.run_pass(run_id)
    if not finished and run_id in emergency.unfinished():
        # Waiting on the broker: come back in a second rather than hold the worker process.
        run_emergency_stop_task.apply_async((run_id,), countdown=RETRY_AFTER_S)
    return finished


@shared_task(name="risk.resume_emergency_stops", ignore_result=True)
def resume_emergency_stops_task() -> int:
    """Pick up runs whose runner died (a server or worker restart mid-way); a run being worked on is left alone."""
    return sum(not emergency.run_pass(run_id) for run_id in emergency.unfinished())


@shared_task(name="risk.check_daily_loss", ignore_result=True)
def check_daily_loss_task() -> int:
    return monitors.check_daily_loss()


@shared_task(name="risk.check_workers", ignore_result=True)
def check_workers_task() -> int:
    return monitors.check_workers()


@shared_task(name="risk.request_balances", ignore_result=True)
def request_balances_task() -> int:
    return monitors.request_balances()


@shared_task(name="risk.reset_daily_counters", ignore_result=True)
def reset_daily_counters_task() -> bool:
    return monitors.reset_daily_if_due()


@shared_task(name="risk.take_equity_snapshots", ignore_result=True)
def take_equity_snapshots_task() -> int:
    return monitors.take_equity_snapshots()


# What the embedded beat loop inside Daphne runs when there is no Celery beat (apps/orders/embedded_beat.py),
# every so many seconds. The end-of-day snapshot is rewritten through the session, so its last write stands.
EMBEDDED_SCHEDULE = (
    (resume_emergency_stops_task, 1.0),
    (check_daily_loss_task, 5.0),
    (check_workers_task, 10.0),
    (request_balances_task, 60.0),
    (reset_daily_counters_task, 60.0),
    (take_equity_snapshots_task, 300.0),
)
