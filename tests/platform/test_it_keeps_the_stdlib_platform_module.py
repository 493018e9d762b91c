"""The card's `platform/` package must not break the standard `platform` module (DESIGN.md §3)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_is_the_standard_module_plus_our_submodules() -> None:
    import platform

    assert platform.system() and platform.python_version() == ".".join(map(str, sys.version_info[:3]))
    assert platform.uname().machine
    assert Path(platform.__file__).parent == ROOT / "platform"
    assert uuid.uuid4()


def test_libraries_that_import_platform_at_startup_load_from_the_repo_root() -> None:
    code = "import uuid, redis, celery, daphne, django, platform; print(platform.system(), platform.python_version(), platform.uname().system); import platform.settings"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "DJANGO_SETTINGS_MODULE": "platform.settings"}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == out.stdout.split()[2]


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "daphne", "--help"],
        ["-m", "celery", "-A", "platform", "report"],
        ["manage.py", "check"],
        ["-m", "kiwoom_worker", "--help"],
    ],
)
def test_every_documented_entry_point_starts(args: list[str]) -> None:
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.e2e
def test_a_celery_worker_process_runs_tasks_with_the_real_platform_module(tmp_path: Path) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        skip_or_fail("REDIS_URL is needed to start a Celery worker process")
    env = {**os.environ, "REDIS_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url, "SECRET_KEY": "test-only-secret", "VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env["ALLOW_INSECURE_SECRET_KEY"] = "1"
    env["FERNET_KEYS"] = Fernet.generate_key().decode()
    queue = f"probe-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "platform", "worker", "--pool", "solo", "-Q", queue, "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        code = f"from platform.celery import app, runtime_report;r = runtime_report.apply_async(queue={queue!r}); print(r.get(timeout=60))"
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "platform.settings"}, capture_output=True, text=True, timeout=90
        )
        assert out.returncode == 0, out.stderr
        assert "'system': 'Linux'" in out.stdout or "'system': 'Darwin'" in out.stdout
    finally:
        worker.terminate()
        worker.wait(timeout=20)
