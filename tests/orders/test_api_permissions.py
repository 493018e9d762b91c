"""Who may do what on the order endpoints: admin, real trader, paper trader, viewer, anonymous, outsider."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.orders import services
from apps.orders.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 70_000}


def client_for(persona) -> APIClient:
    client = APIClient()
    if persona is not None:
        # Users who may trade real money get a token issued for it (it stands in for their second factor).
        allows_real = persona.user.can_trade("real")
        client.credentials(HTTP_AUTHORIZATION="Token " + account_services.issue_api_token(user=persona.user, allows_real=allows_real))
    return client


@pytest.mark.parametrize(
    ("persona_name", "mode", "expected_status", "expected_code"),
    [
        ("admin_persona", "paper", 201, ""),
        ("admin_persona", "real", 201, ""),
        ("real_trader", "paper", 201, ""),
        ("real_trader", "real", 201, ""),
        ("paper_trader", "paper", 201, ""),
        ("paper_trader", "real", 403, "PERMISSION_DENIED"),
        ("viewer", "paper", 403, "PERMISSION_DENIED"),
    ],
)
def test_placing_orders_by_level_and_mode(request, symbols, market_always, persona_name, mode, expected_status, expected_code) -> None:
    persona = request.getfixturevalue(persona_name)
    account = persona.paper if mode == "paper" else persona.real
    response = client_for(persona).post("/api/orders", {**ORDER, "account": account.pk}, format="json")
    assert response.status_code == expected_status, response.content
    assert response.json()["reason_code"] == expected_code
    assert Order.objects.filter(pk=response.json()["id"]).exists()  # denied orders are stored too


def test_anonymous_callers_get_401_everywhere(paper_trader, symbols, market_always) -> None:
    order = services.submit_order(user=paper_trader.user, account_id=paper_trader.paper.pk, **ORDER).order
    client = client_for(None)
    for method, url in [
        ("get", "/api/accounts"),
        ("get", "/api/orders"),
        ("post", "/api/orders"),
        ("get", f"/api/orders/{order.pk}"),
        ("delete", f"/api/orders/{order.pk}"),
        ("get", "/api/positions"),
        ("get", "/api/executions"),
    ]:
        assert getattr(client, method)(url).status_code == 401, (method, url)
    assert Order.objects.get(pk=order.pk).status == "QUEUED"


def test_a_wrong_token_is_refused(paper_trader) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token tk_not-a-real-token")
    response = client.get("/api/orders")
    assert response.status_code == 401
    assert "token" in response.json()["detail"]


def test_another_users_objects_are_404_not_403(paper_trader, outsider, symbols, market_always) -> None:
    theirs = services.submit_order(user=outsider.user, account_id=outsider.paper.pk, **ORDER).order
    client = client_for(paper_trader)
    assert client.get(f"/api/orders/{theirs.pk}").status_code == 404
    assert client.delete(f"/api/orders/{theirs.pk}").status_code == 404
    assert client.post("/api/orders", {**ORDER, "account": outsider.paper.pk}, format="json").status_code == 404
    assert client.get(f"/api/orders/{theirs.pk + 1000}").status_code == 404
    assert [o["id"] for o in client.get("/api/orders").json()] == []
    assert {a["id"] for a in client.get("/api/accounts").json()} == {paper_trader.paper.pk, paper_trader.real.pk}
    assert Order.objects.get(pk=theirs.pk).status == "QUEUED"


def test_the_browser_session_also_authenticates(paper_trader, symbols, market_always) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(paper_trader.user)
    assert client.get("/api/accounts").status_code == 200
    # A session-authenticated write without the CSRF token is refused.
    assert client.post("/api/orders", {**ORDER, "account": paper_trader.paper.pk}, format="json").status_code == 403
