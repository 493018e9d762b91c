from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.accounts import services


class Command(BaseCommand):
    help = "Re-encrypt every broker secret under the newest key in FERNET_KEYS (idempotent, in batches)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = services.rotate_credentials(batch_size=options["batch_size"])
        self.stdout.write(f"{rotated} secret(s) re-encrypted under the newest key")
