"""python manage.py risk_limits --mode paper [--user USERNAME] [FIELD=VALUE ...]

Without FIELD=VALUE it prints the limits that apply. A value of "none" removes that limit. The same
rows are editable in Django admin → Risk limits.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Mode, User
from apps.risk.limits import FIELDS, limits_for, set_limits


class Command(BaseCommand):
    help = "Show or set risk limits for a mode's default or for one user in one mode."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--mode", required=True, choices=Mode.values)
        parser.add_argument("--user", metavar="USERNAME", help="a per-user row (created from the mode's default)")
        parser.add_argument("values", nargs="*", metavar="FIELD=VALUE", help=f"fields: {', '.join(FIELDS)}")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user named {options['user']!r}")
        values: dict[str, Any] = {}
        for item in options["values"]:
            name, sep, raw = item.partition("=")
            if not sep or name not in FIELDS:
                raise CommandError(f"expected FIELD=VALUE with FIELD one of {', '.join(FIELDS)}; got {item!r}")
            values[name] = None if raw.lower() == "none" else (raw if name == "daily_loss_action" else _int(name, raw))
        if values:
            try:
                set_limits(mode=options["mode"], user_id=user.pk if user else None, **values)
            except (ValidationError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
        current = limits_for(user_id=user.pk if user else 0, mode=options["mode"])
        self.stdout.write(json.dumps(dataclasses.asdict(current), ensure_ascii=False))


def _int(name: str, raw: str) -> int:
    try:
        return int(raw.replace(",", "").replace("_", ""))
    except ValueError:
        raise CommandError(f"{name} must be a whole number or 'none'; got {raw!r}") from None
