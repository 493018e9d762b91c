"""python manage.py reset_two_factor USERNAME — remove a user's authenticator (a lost phone); they enrol again."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.accounts import two_factor
from apps.accounts.models import User

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Remove USERNAME's TOTP devices; their next admin visit or real order asks them to enrol a new one."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        removed = two_factor.remove_devices(user)
        log.warning("two-factor devices of %s removed from the server shell (%s)", user.get_username(), removed)
        self.stdout.write(f"removed {removed} authenticator(s) of {user.get_username()}")
