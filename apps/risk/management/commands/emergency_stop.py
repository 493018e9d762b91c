"""python manage.py emergency_stop --all | --user USERNAME | --account ID --reason TEXT [--wait SECONDS]"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.risk import emergency
from apps.risk.management.commands._scope import add_scope_arguments, operator, scope_from
from apps.risk.models import EmergencyStop


class Command(BaseCommand):
    help = "Emergency stop (긴급 정지): cancel working orders in scope, liquidate positions, then HALT. Running it again while a stop runs changes nothing."

    def add_arguments(self, parser: Any) -> None:
        add_scope_arguments(parser)
        parser.add_argument("--wait", type=float, default=0, metavar="SECONDS", help="wait up to this long for the stop to finish and print its log")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = scope_from(options)
        run = emergency.trigger_stop(scope=scope, reason=options["reason"], trigger=EmergencyStop.Trigger.COMMAND, requested_by_name=operator())
        self.stdout.write(f"emergency stop #{run.pk} for {scope.key}: {run.get_step_display()}")
        if not options["wait"]:
            return
        deadline = time.monotonic() + options["wait"]
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.finished_at is not None:
                for entry in run.logs.order_by("id"):
                    self.stdout.write(f"{entry.created_at:%H:%M:%S} [{entry.step}] {entry.message}")
                self.stdout.write(json.dumps(run.summary, ensure_ascii=False, default=str))
                return
            time.sleep(0.5)
        raise CommandError(f"emergency stop #{run.pk} is still at {run.step} after {options['wait']} s; it keeps running")
