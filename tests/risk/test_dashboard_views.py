"""The dashboard's risk pieces as a trader and an admin see them: the banner, the 긴급 정지 button, a stop's progress."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.risk import emergency, states
from apps.risk.models import EmergencyStop, State
from apps.risk.states import Scope
from tests.conftest import verify_second_factor

pytestmark = pytest.mark.django_db


def client_for(persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def test_the_banner_shows_the_state_and_why(paper_trader, outsider) -> None:
    client = client_for(paper_trader)
    assert "data-state" not in client.get("/risk/banner").content.decode()
    states.set_state(scope=Scope.of_user(paper_trader.user.pk), state=State.HALTED, reason="점검 중입니다", source="admin:alice")
    page = client.get("/risk/banner").content.decode()
    assert 'data-state="HALTED"' in page and "점검 중입니다" in page
    assert "점검 중입니다" not in client_for(outsider).get("/risk/banner").content.decode()


def test_a_trader_stops_their_own_accounts(paper_trader) -> None:
    response = client_for(paper_trader).post("/risk/emergency-stop", {"scope": "mine", "reason": "내 전략이 이상합니다"})
    assert response.status_code == 200
    run = EmergencyStop.objects.get()
    assert (run.scope_key, run.trigger, run.requested_by_id) == (f"user:{paper_trader.user.pk}", "trader", paper_trader.user.pk)
    assert f"#{run.pk}" in response.content.decode()
    assert states.state_of(Scope.of_user(paper_trader.user.pk)) == State.EMERGENCY


def test_a_trader_cannot_stop_anyone_else(paper_trader, outsider, viewer) -> None:
    client = client_for(paper_trader)
    assert client.post("/risk/emergency-stop", {"scope": "all", "reason": "x"}).status_code == 404
    assert client.post("/risk/emergency-stop", {"scope": "user", "username": outsider.user.username, "reason": "x"}).status_code == 404
    assert client.post("/risk/emergency-stop", {"scope": "account", "account": outsider.paper.pk, "reason": "x"}).status_code == 404
    assert client_for(viewer).post("/risk/emergency-stop", {"scope": "mine", "reason": "x"}).status_code == 403
    assert client.post("/risk/emergency-stop", {"scope": "mine", "reason": " "}).status_code == 400
    assert not EmergencyStop.objects.exists()


def test_an_admin_stops_any_scope_and_pressing_twice_is_one_stop(admin_persona, outsider) -> None:
    client = client_for(admin_persona)
    verify_second_factor(client, admin_persona.user)  # stopping others needs it (tests/accounts/test_two_factor.py)
    for _ in range(2):
        assert client.post("/risk/emergency-stop", {"scope": "user", "username": outsider.user.username, "reason": "drill"}).status_code == 200
    assert EmergencyStop.objects.filter(scope_key=f"user:{outsider.user.pk}").count() == 1
    assert client.post("/risk/emergency-stop", {"scope": "all", "reason": "drill"}).status_code == 200
    banner = client.get("/risk/banner").content.decode()
    assert "emergency_stop_started" in banner and 'data-scope="global"' in banner


def test_progress_is_visible_to_the_owner_and_not_to_others(paper_trader, outsider) -> None:
    run = emergency.trigger_stop(scope=Scope.of_user(paper_trader.user.pk), reason="mine", trigger="trader", requested_by=paper_trader.user)
    page = client_for(paper_trader).get(f"/risk/emergency-stop/{run.pk}")
    assert page.status_code == 200 and 'data-step="CANCELLING"' in page.content.decode()
    assert client_for(outsider).get(f"/risk/emergency-stop/{run.pk}").status_code == 404
    assert Client().get(f"/risk/emergency-stop/{run.pk}").status_code == 302
