"""Celery tasks: ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.orders import services


@shared_task(name="orders.dispatch_queued", ignore_result=True)
def dispatch_queued_task() -> int:
    return services.dispatch_queued()


@shared_task(name="orders.resend_stale_submissions", ignore_result=True)
def resend_stale_submissions_task() -> int:
    return services.resend_stale_submissions(older_than_s=settings.ORDER_RESEND_AFTER_S)
