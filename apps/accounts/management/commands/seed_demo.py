from __future__ import annotations

import json
import os
from typing import Any

from django.core.management.base import BaseCommand

from apps.accounts.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo users (admin, trader, paper, viewer), their accounts and the sim worker; prints new passwords once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
        parser.add_argument("--rotate-token", action="store_true", help="issue a new sim worker token even if the worker exists")
        parser.add_argument("--token-file", help="also write the sim worker token to this file (mode 600)")

    def handle(self, *args: Any, **options: Any) -> None:
        demo = seed_demo(rotate_token=options["rotate_token"])
        if options["token_file"] and demo.worker_token:
            fd = os.open(options["token_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(demo.worker_token)
        if options["json"]:
            payload = {
                "users": {u.username: {"level": u.level, "password": u.password, "accounts": u.accounts} for u in demo.users},
                "worker_token": demo.worker_token,
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        self.stdout.write("Demo users (passwords are shown only when the user is created):")
        for user in demo.users:
            shown = user.password or "(unchanged)"
            numbers = ", ".join(f"{a['mode']} ****{str(a['number'])[-4:]}" for a in user.accounts)
            self.stdout.write(f"  {user.username:<7} {user.level:<13} password: {shown:<14} accounts: {numbers}")
        if demo.worker_token:
            self.stdout.write("A new sim worker token was issued (stored hashed; this is the only time it is shown).")
