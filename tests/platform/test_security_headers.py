"""Web hardening: a Content-Security-Policy the pages work under, CORS only for listed origins, a clean deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_pages_carry_a_strict_script_policy(paper_trader) -> None:
    client = Client()
    client.force_login(paper_trader.user)
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    # No inline script or handler that the policy would block.
    html = response.content.decode()
    assert " onchange=" not in html and " onclick=" not in html
    assert all('type="application/json"' in tag or "src=" in tag for tag in html.split("<script")[1:])
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_cors_answers_only_listed_origins(paper_trader, settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://desk.example.com"]
    client = Client()
    listed = client.options("/api/orders", HTTP_ORIGIN="https://desk.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert listed["Access-Control-Allow-Origin"] == "https://desk.example.com"
    other = client.options("/api/orders", HTTP_ORIGIN="https://evil.example.net", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in other


def test_the_deploy_check_is_clean_with_production_settings(tmp_path) -> None:
    # Only this test's production settings: nothing from the calling environment that could weaken them.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        {
            "DATABASE_URL": "postgres://kiwoom@db.example.com:5432/kiwoom",
            "REDIS_URL": "redis://cache.example.com:6379/0",
            "SECRET_KEY": "deploy-check-" + "k3y-w1th-m4ny-d1ff3r3nt-ch4r4ct3rs-and-length-0123456789",
            "FERNET_KEYS": "wyrYbnIgiY4va8Wd4QnGWEBAASoMWwEnfy5jK42Yy3E=",
            "ALLOWED_HOSTS": "trading.example.com",
            "VAR_DIR": str(tmp_path),
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
