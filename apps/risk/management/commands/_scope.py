"""The scope options shared by emergency_stop and resume_trading: --all | --user USERNAME | --account ID."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import CommandError

from apps.accounts.models import BrokerAccount, User
from apps.risk.states import Scope


def add_scope_arguments(parser: Any) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every account of every user")
    which.add_argument("--user", metavar="USERNAME", help="every account of one user")
    which.add_argument("--account", metavar="ID", type=int, help="one broker account (its id in admin)")
    parser.add_argument("--reason", required=True, help="why; recorded with the change and shown to traders")


def scope_from(options: dict[str, Any]) -> Scope:
    if options["all"]:
        return Scope.everything()
    if options["user"]:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user named {options['user']!r}")
        return Scope.of_user(user.pk)
    if not BrokerAccount.objects.filter(pk=options["account"]).exists():
        raise CommandError(f"no broker account with id {options['account']}")
    return Scope.of_account(options["account"])


def operator() -> str:
    """Who ran the command: the server's shell account, recorded as the actor."""
    try:
        return f"manage.py:{getpass.getuser()}"
    except (KeyError, OSError):
        return "manage.py"
