"""python manage.py resume_trading --all | --user USERNAME | --account ID --reason TEXT"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.risk import states
from apps.risk.management.commands._scope import add_scope_arguments, operator, scope_from


class Command(BaseCommand):
    help = "Return a scope to ACTIVE after a halt or an emergency stop (an operator's action, recorded with the reason)."

    def handle(self, *args: Any, **options: Any) -> None:
        scope = scope_from(options)
        try:
            changed = states.resume_trading(scope=scope, by=None, by_name=operator(), reason=options["reason"])
        except states.NotAllowed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{scope.key}: {'ACTIVE' if changed else 'already ACTIVE'}")

    def add_arguments(self, parser: Any) -> None:
        add_scope_arguments(parser)
