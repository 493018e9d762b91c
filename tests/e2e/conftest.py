"""Real processes for end-to-end tests (see bench/harness.py, shared with the benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import ServicesMissing, Stack, build_stack, drop_database, eventually
from tests.support import skip_or_fail

__all__ = ["Stack", "eventually"]
BROKER_SECRETS = {"app_key": "E2eAppKey-7Q9xZ", "secret_key": "E2eSecret-k3y-55aa", "account_password": "E2ePw-0042q"}
SET_BROKER_SECRETS = (
    "from apps.accounts import services; from apps.accounts.models import BrokerAccount; "
    f"services.set_credentials(account=BrokerAccount.objects.filter(mode='paper').first(), actor='e2e', **{BROKER_SECRETS!r})"
)


def secrets_in_logs(stack: Stack) -> list[str]:
    """Which secrets of this run appear in clear in any process's log (none may)."""
    secrets = {
        **BROKER_SECRETS,
        "worker_token": stack.demo.get("worker_token") or "",
        **{f"api_token:{u}": t for u, t in stack.demo.get("tokens", {}).items()},
        "FERNET_KEYS": stack.env.get("FERNET_KEYS", ""),
        "SECRET_KEY": stack.env.get("SECRET_KEY", ""),
    }
    text = "\n".join(path.read_text(errors="replace") for path in stack.logs.values() if path.exists())
    return [name for name, value in secrets.items() if value and value in text]


@pytest.fixture(params=["embedded", "postgres_redis"])
def server_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """Daphne (+ a Celery worker on Postgres/Redis), started; no broker worker yet."""
    try:
        built = build_stack(request.param, tmp_path)
    except ServicesMissing as exc:
        skip_or_fail(str(exc))
    try:
        built.manage("shell", "--verbosity", "0", "-c", SET_BROKER_SECRETS)
        built.start_server()
        if built.name == "postgres_redis":
            built.start_celery()
        yield built
    finally:
        built.stop_all()
        if built.name == "postgres_redis":
            drop_database(built.env)
    assert secrets_in_logs(built) == [], "secrets in clear in the logs"


@pytest.fixture
def stack(server_stack: Stack) -> Stack:
    """Daphne + the sim worker (+ a Celery worker on Postgres/Redis), fully started and connected.

    Broker secrets are stored for the paper account first, and every log is searched for every
    secret of the run at the end.
    """
    server_stack.start_worker()
    return server_stack
