"""The permission matrix for what the URL conf does not list: WebSocket routes (from the ASGI router) and every admin action.

Dashboard socket: a signed-in session and an allowed Origin; only the caller's own account (another
user's closes with 4404, as if it did not exist). Worker socket: a worker token, whatever session
the caller has. Admin actions: a verified admin only; everyone else is sent to the admin login.
"""

from __future__ import annotations

from platform.asgi import application
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.conftest import verify_second_factor

PERSONAS = ("viewer", "paper_trader", "real_trader", "admin_persona")


@pytest.fixture(autouse=True)
def _one_process_layer(settings: Any) -> None:
    # Each async_to_sync call below runs its own event loop; the Redis-backed quote hub and channel layer
    # belong to one long-lived loop (Daphne's). Who may connect does not depend on the layer.
    settings.REDIS_URL = None
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def websocket_routes() -> set[str]:
    return {str(route.pattern) for route in application.application_mapping["websocket"].routes}


def test_every_websocket_route_has_a_row() -> None:
    assert websocket_routes() == {"ws/worker/", "ws/dashboard/"}, "add the new socket to this matrix"


def session_cookie(persona: Any) -> bytes:
    client = Client()
    client.force_login(persona.user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def dashboard(account_id: int, cookie: bytes | None, origin: bytes = b"http://testserver") -> tuple[bool, int | None]:
    headers = [(b"origin", origin)] + ([(b"cookie", cookie)] if cookie else [])
    comm = WebsocketCommunicator(application, f"/ws/dashboard/?account={account_id}", headers=headers)
    connected, _ = await comm.connect(timeout=5)
    code = None
    if connected:
        output = await comm.receive_output(timeout=5)
        code = output.get("code") if output["type"] == "websocket.close" else None
    await comm.disconnect()
    return connected, code


# Sync tests that drive the sockets through async_to_sync: the personas are sync fixtures.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona_name", PERSONAS)
def test_the_dashboard_socket_by_persona(request: pytest.FixtureRequest, persona_name: str, outsider: Any, symbols: Any) -> None:
    persona = request.getfixturevalue(persona_name)
    cookie = session_cookie(persona)
    assert async_to_sync(dashboard)(persona.paper.pk, cookie) == (True, None)  # own account: panels arrive
    assert async_to_sync(dashboard)(outsider.paper.pk, cookie) == (True, 4404)  # another user's: closed as not found
    assert async_to_sync(dashboard)(persona.paper.pk, cookie, b"https://evil.example.net")[0] is False


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_socket_refuses_anonymous(paper_trader: Any) -> None:
    assert async_to_sync(dashboard)(paper_trader.paper.pk, None)[0] is False


async def worker_socket_opens(cookie: bytes) -> bool:
    comm = WebsocketCommunicator(application, "/ws/worker/", headers=[(b"cookie", cookie), (b"origin", b"http://testserver")])
    connected, _ = await comm.connect(timeout=5)
    await comm.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona_name", PERSONAS)
def test_a_session_never_opens_the_worker_socket(request: pytest.FixtureRequest, persona_name: str) -> None:
    assert async_to_sync(worker_socket_opens)(session_cookie(request.getfixturevalue(persona_name))) is False


def admin_actions(superuser: Any) -> list[tuple[str, str]]:
    """(changelist URL, action name) for every action of every model in the admin."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    found = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        found += [(url, name) for name in model_admin.get_actions(request)]
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("persona_name", ["anonymous", *PERSONAS])
def test_admin_actions_need_a_verified_admin(request: pytest.FixtureRequest, persona_name: str, admin_persona: Any) -> None:
    admin_persona.user.is_staff = admin_persona.user.is_superuser = True
    admin_persona.user.save()
    actions = admin_actions(admin_persona.user)
    assert ("/admin/accounts/user/", "change_levels") in actions and ("/admin/accounts/worker/", "revoke_tokens") in actions
    client = Client()
    if persona_name != "anonymous":
        client.force_login(request.getfixturevalue(persona_name).user)
    for url, name in actions:
        response = client.post(url, {"action": name, ACTION_CHECKBOX_NAME: ["1"]})
        # Nobody here has a verified session, the admin included: every action sends them to log in.
        assert response.status_code == 302 and "/login/" in response["Location"], (persona_name, url, name, response.status_code)
    if persona_name == "admin_persona":
        verify_second_factor(client, admin_persona.user)
        page = client.post("/admin/accounts/user/", {"action": "change_levels", ACTION_CHECKBOX_NAME: [str(admin_persona.user.pk)]})
        assert page.status_code == 200 and b'name="reason"' in page.content
