"""Admins see in the workers list why a worker is not trading (its failed broker login, the wrong server)."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts import services
from apps.accounts.models import Worker
from tests.conftest import verify_second_factor

pytestmark = pytest.mark.django_db


def test_the_workers_list_shows_the_last_problem(admin_persona) -> None:
    admin_persona.user.is_staff = admin_persona.user.is_superuser = True
    admin_persona.user.save()
    worker = services.create_worker(name="w-paper", mode="paper", accounts=[]).worker
    services.record_worker_problem(worker_id=worker.pk, problem="broker login failed: login failed -101: 서버접속실패 — worker exit code 5")
    client = Client()
    client.force_login(admin_persona.user)
    verify_second_factor(client, admin_persona.user)
    listing = client.get("/admin/accounts/worker/")
    assert listing.status_code == 200 and "서버접속실패" in listing.content.decode()
    detail = client.get(f"/admin/accounts/worker/{worker.pk}/change/")
    assert "login failed -101" in detail.content.decode()
    assert Worker.objects.get(pk=worker.pk).problem_at is not None
