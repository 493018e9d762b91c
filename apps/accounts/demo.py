"""The embedded demo's users, accounts and sim worker (python manage.py seed_demo)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from django.db import transaction

from apps.accounts import services
from apps.accounts.models import BrokerAccount, Mode, PermissionLevel, User, Worker

DEMO_USERS = (
    ("admin", PermissionLevel.ADMIN),
    ("trader", PermissionLevel.REAL_TRADER),
    ("paper", PermissionLevel.PAPER_TRADER),
    ("viewer", PermissionLevel.VIEWER),
)
PAPER_WORKER = "sim-paper"


@dataclass
class DemoUser:
    username: str
    level: str
    password: str | None  # None when the user already existed: its password is not changed
    accounts: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Demo:
    users: list[DemoUser]
    worker_token: str | None  # None when the worker already existed and --rotate-token was not given


def _paper_number(index: int) -> str:
    # Kiwoom account numbers are 10 digits; the sim accepts whatever the worker's token is scoped to.
    return f"81{index:06d}11"


def _account(number: str, **fields: object) -> BrokerAccount:
    return BrokerAccount.objects.with_number(number).first() or BrokerAccount.objects.create(account_number=number, **fields)


def seed_demo(*, rotate_token: bool = False) -> Demo:
    """Create the demo users (passwords returned once), a paper account each and the sim worker; idempotent."""
    users: list[DemoUser] = []
    with transaction.atomic():
        for index, (username, level) in enumerate(DEMO_USERS, start=1):
            user = User.objects.filter(username=username).first()
            password = None
            if user is None:
                password = secrets.token_urlsafe(9)
                user = User.objects.create_user(
                    username=username, password=password, is_staff=level == PermissionLevel.ADMIN, is_superuser=level == PermissionLevel.ADMIN
                )
                services.set_permission_level(user=user, level=level, changed_by=None, reason="embedded demo", override_reason="embedded demo")
            _account(_paper_number(index), owner=user, mode=Mode.PAPER, label=f"{username} 모의투자")
            if level == PermissionLevel.REAL_TRADER:
                _account(f"55{index:06d}11", owner=user, mode=Mode.REAL, label=f"{username} 실전투자")
            accounts = [{"id": a.pk, "number": a.account_number, "mode": a.mode} for a in BrokerAccount.objects.filter(owner=user).order_by("id")]
            users.append(DemoUser(username, level, password, accounts))
        paper_accounts = list(BrokerAccount.objects.filter(mode=Mode.PAPER))
        worker = Worker.objects.filter(name=PAPER_WORKER).first()
        token = None
        if worker is None:
            new = services.create_worker(name=PAPER_WORKER, mode=Mode.PAPER, accounts=paper_accounts)
            token = new.token
        else:
            worker.accounts.set(paper_accounts)
            if rotate_token:
                token = services.rotate_worker_token(worker=worker)
    return Demo(users, token)
