"""Real processes for end-to-end tests (see bench/harness.py, shared with the benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import ServicesMissing, Stack, build_stack, drop_database, eventually
from tests.support import skip_or_fail

__all__ = ["Stack", "eventually"]


@pytest.fixture(params=["embedded", "postgres_redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """Daphne + the sim worker (+ a Celery worker on Postgres/Redis), fully started and connected."""
    try:
        built = build_stack(request.param, tmp_path)
    except ServicesMissing as exc:
        skip_or_fail(str(exc))
    try:
        built.start_server()
        if built.name == "postgres_redis":
            built.start_celery()
        built.start_worker()
        yield built
    finally:
        built.stop_all()
        if built.name == "postgres_redis":
            drop_database(built.env)
