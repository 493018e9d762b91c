from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.accounts import services
from apps.accounts.models import User


class Command(BaseCommand):
    help = "Issue a REST API token for USERNAME and print it (stored hashed; shown only this once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--label", default="")
        parser.add_argument("--real", action="store_true", help="the token may place real-money orders (stands in for the second factor)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        try:
            self.stdout.write(services.issue_api_token(user=user, label=options["label"], allows_real=options["real"]))
        except services.TokenNotAllowed as exc:
            raise CommandError(str(exc)) from None
