"""The REST API as a client sees it: create, repeat, list, cancel, bad input."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(paper_trader) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + account_services.issue_api_token(user=paper_trader.user))
    return client


def test_it_creates_and_repeats_by_client_order_id(api, paper_trader, symbols, market_always) -> None:
    body = {"account": paper_trader.paper.pk, "symbol": "005930", "side": "buy", "quantity": 3, "order_type": "market", "client_order_id": "k1"}
    first = api.post("/api/orders", body, format="json")
    again = api.post("/api/orders", body, format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["hoga_code"] == "03"
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    "patch",
    [
        {"quantity": "ten"},
        {"quantity": 0},
        {"side": "hold"},
        {"order_type": "stop"},
        {"account": None},
        {"price": -5},
        {"client_order_id": "x" * 65},
    ],
)
def test_malformed_requests_get_400_with_the_field_named(api, paper_trader, symbols, market_always, patch) -> None:
    body = {"account": paper_trader.paper.pk, "symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 70_000, **patch}
    response = api.post("/api/orders", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) & set(patch)
    assert not Order.objects.exists()


def test_a_denied_order_answers_422_with_its_reason(api, paper_trader, symbols, market_always) -> None:
    body = {"account": paper_trader.paper.pk, "symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 70_050}
    response = api.post("/api/orders", body, format="json")
    assert response.status_code == 422
    assert response.json()["status"] == "DENIED"
    assert response.json()["reason_code"] == "PRICE_OFF_TICK"
    assert "70,000" in response.json()["reason_message"]


def test_cancel_and_cancel_again(api, paper_trader, symbols, market_always) -> None:
    body = {"account": paper_trader.paper.pk, "symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 70_000}
    order_id = api.post("/api/orders", body, format="json").json()["id"]
    first = api.delete(f"/api/orders/{order_id}")
    assert first.status_code == 202
    assert first.json()["status"] == "CANCELED"
    second = api.delete(f"/api/orders/{order_id}")
    assert second.status_code == 409
    assert second.json()["status"] == "CANCELED"


def test_listing_filters_by_status(api, paper_trader, symbols, market_always) -> None:
    api.post(
        "/api/orders", {"account": paper_trader.paper.pk, "symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 1}, format="json"
    )
    api.post(
        "/api/orders",
        {"account": paper_trader.paper.pk, "symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 70_000},
        format="json",
    )
    assert [o["status"] for o in api.get("/api/orders?status=DENIED").json()] == ["DENIED"]
    assert api.get("/api/orders?status=NOPE").status_code == 400


def test_the_openapi_schema_lists_the_endpoints(api) -> None:
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/orders", "/api/orders/{id}", "/api/accounts", "/api/positions", "/api/executions"):
        assert path in text
