from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.accounts import services
from apps.accounts.models import BrokerAccount, Mode


class Command(BaseCommand):
    help = "Create a worker scoped to a mode and accounts; prints its token once (it is stored hashed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--mode", required=True, choices=Mode.values)
        parser.add_argument("--account", action="append", default=[], help="account id (repeatable); default: every account of the mode")

    def handle(self, *args: Any, **options: Any) -> None:
        qs = BrokerAccount.objects.filter(mode=options["mode"])
        if options["account"]:
            qs = qs.filter(pk__in=options["account"])
        try:
            new = services.create_worker(name=options["name"], mode=options["mode"], accounts=list(qs))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(new.token)
