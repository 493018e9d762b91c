"""A full pg_dump of the database holds no secret in clear: broker keys and passwords, account numbers, API and worker tokens."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.db import connection

from apps.accounts import services
from tests.support import skip_or_fail

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
SECRETS = {"app_key": "PSxAppKey7788ZZtop", "secret_key": "sEcReT-kiwoom-REST-9911", "account_password": "Acct!Pw-4827"}


def test_a_dump_contains_none_of_the_secrets(paper_trader) -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("pg_dump needs PostgreSQL (DATABASE_URL)")
    if shutil.which("pg_dump") is None:
        skip_or_fail("pg_dump is not installed")
    services.set_credentials(account=paper_trader.paper, actor="test", **SECRETS)
    api_token = services.issue_api_token(user=paper_trader.user)
    worker_token = services.create_worker(name="dump-check", mode="paper", accounts=[paper_trader.paper]).token
    settings = connection.settings_dict
    dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432), "-U", settings["USER"], settings["NAME"]],
        capture_output=True,
        text=True,
        check=True,
        env={"PGPASSWORD": settings.get("PASSWORD") or ""},
        timeout=120,
    ).stdout
    assert "broker_credentials" in dump  # the rows are there, only not readable
    numbers = {f"account {a.pk}": a.account_number for a in (paper_trader.paper, paper_trader.real)}
    for name, value in {**SECRETS, **numbers, "api_token": api_token, "worker_token": worker_token}.items():
        assert value not in dump, f"{name} is in the dump in clear"
