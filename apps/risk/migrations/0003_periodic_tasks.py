"""Celery beat schedules for the risk monitors, in admin (django-celery-beat) so admins can see and edit them.

Crontab times are KRX (Asia/Seoul) times whatever the server's own time zone is.
"""

from django.db import migrations

INTERVALS = [
    ("risk: resume unfinished emergency stops", "risk.resume_emergency_stops", 5),
    ("risk: daily loss monitor", "risk.check_daily_loss", 5),
    ("risk: worker connection monitor", "risk.check_workers", 10),
    ("risk: position reconciliation (ask brokers for balances)", "risk.request_balances", 60),
]
# (name, task, minute, hour, day of week)
CRONTABS = [
    # The session boundary is 08:00 KST on trading days; the task itself skips holidays and is idempotent.
    ("risk: reset daily counters at the session boundary", "risk.reset_daily_counters", "0", "8", "1-5"),
    # After the after-hours single-price session (18:00), so every session of the day has closed.
    ("risk: end-of-day equity snapshot", "risk.take_equity_snapshots", "10", "18", "1-5"),
]


def create(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in INTERVALS:
        every, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        task_model.objects.get_or_create(name=name, defaults={"task": task, "interval": every, "enabled": True})
    for name, task, minute, hour, days in CRONTABS:
        crontab, _ = crontab_model.objects.get_or_create(
            minute=minute, hour=hour, day_of_week=days, day_of_month="*", month_of_year="*", timezone="Asia/Seoul"
        )
        task_model.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab, "enabled": True})


def remove(apps, schema_editor):
    names = [s[0] for s in INTERVALS] + [s[0] for s in CRONTABS]
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0002_default_limits"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
