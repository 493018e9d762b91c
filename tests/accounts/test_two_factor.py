"""TOTP second factor: required for the admin site and for every real-money action; enrolment works with a real code."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.orders.models import Order, OrderStatus
from tests.conftest import verify_second_factor

pytestmark = pytest.mark.django_db
REAL_ORDER = {"symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 70_000}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_the_admin_site_sends_an_unverified_admin_to_verify(admin_persona) -> None:
    client = logged_in(admin_persona.user)
    response = client.get("/admin/")
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow.status_code == 302 and follow["Location"].startswith("/account/2fa/verify")
    verify_second_factor(client, admin_persona.user)
    assert client.get("/admin/").status_code == 200


def test_enrolment_with_a_code_from_the_shown_secret_verifies_the_session(admin_persona) -> None:
    client = logged_in(admin_persona.user)
    page = client.get("/account/2fa/setup")
    assert page.status_code == 200 and b"<svg" in page.content
    secret = re.search(rb"<code>([A-Z2-7=]+)</code>", page.content).group(1).decode()
    device = TOTPDevice.objects.get(user=admin_persona.user, confirmed=False)
    assert base64.b32decode(secret) == device.bin_key

    assert client.post("/account/2fa/setup", {"token": code_for(device), "next": "/admin/"})["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_does_not_enrol(admin_persona) -> None:
    client = logged_in(admin_persona.user)
    client.get("/account/2fa/setup")
    device = TOTPDevice.objects.get(user=admin_persona.user, confirmed=False)
    wrong = "000000" if code_for(device) != "000000" else "111111"
    assert client.post("/account/2fa/setup", {"token": wrong}).status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/admin/").status_code == 302


def test_a_used_code_cannot_verify_another_session(admin_persona) -> None:
    device = TOTPDevice.objects.create(user=admin_persona.user, name="phone", confirmed=True)
    code = code_for(device)
    first, second = logged_in(admin_persona.user), logged_in(admin_persona.user)
    assert first.post("/account/2fa/verify", {"token": code})["Location"] == "/"
    assert second.post("/account/2fa/verify", {"token": code}).status_code == 400


def test_a_real_order_from_the_dashboard_needs_a_verified_session(real_trader, symbols, market_always) -> None:
    client = logged_in(real_trader.user)
    form = {**REAL_ORDER, "account": real_trader.real.pk}
    client.post("/dashboard/orders", form)
    denied = Order.objects.get(user=real_trader.user)
    assert (denied.status, denied.reason_code) == (OrderStatus.DENIED, "SECOND_FACTOR_REQUIRED")
    verify_second_factor(client, real_trader.user)
    client.post("/dashboard/orders", {**form, "price": 69_900})
    assert Order.objects.filter(user=real_trader.user, price=69_900).get().status == OrderStatus.QUEUED


def test_paper_orders_need_no_second_factor(paper_trader, symbols, market_always) -> None:
    client = logged_in(paper_trader.user)
    client.post("/dashboard/orders", {**REAL_ORDER, "account": paper_trader.paper.pk})
    assert Order.objects.get(user=paper_trader.user).status == OrderStatus.QUEUED


def test_an_api_token_places_real_orders_only_when_issued_for_it(real_trader, symbols, market_always) -> None:
    plain, real = APIClient(), APIClient()
    plain.credentials(HTTP_AUTHORIZATION="Token " + account_services.issue_api_token(user=real_trader.user))
    real.credentials(HTTP_AUTHORIZATION="Token " + account_services.issue_api_token(user=real_trader.user, allows_real=True))
    body = {**REAL_ORDER, "account": real_trader.real.pk}
    refused = plain.post("/api/orders", body, format="json")
    assert (refused.status_code, refused.json()["reason_code"]) == (403, "SECOND_FACTOR_REQUIRED")
    assert real.post("/api/orders", {**body, "price": 69_900}, format="json").status_code == 201


def test_a_real_trading_token_is_refused_for_a_paper_trader(paper_trader) -> None:
    with pytest.raises(account_services.TokenNotAllowed):
        account_services.issue_api_token(user=paper_trader.user, allows_real=True)


def test_stopping_someone_else_needs_a_verified_session_but_stopping_yourself_does_not(admin_persona, paper_trader) -> None:
    admin = logged_in(admin_persona.user)
    assert admin.post("/risk/emergency-stop", {"scope": "all", "reason": "drill"}).status_code == 403
    verify_second_factor(admin, admin_persona.user)
    assert admin.post("/risk/emergency-stop", {"scope": "all", "reason": "drill"}).status_code == 200
    own = logged_in(paper_trader.user)
    assert own.post("/risk/emergency-stop", {"scope": "mine", "reason": "my own"}).status_code == 200


def test_an_operator_removes_a_lost_authenticator(admin_persona) -> None:
    from django.core.management import call_command

    TOTPDevice.objects.create(user=admin_persona.user, name="lost phone", confirmed=True)
    call_command("reset_two_factor", admin_persona.user.username)
    assert not TOTPDevice.objects.filter(user=admin_persona.user).exists()
    client = logged_in(admin_persona.user)
    assert client.get("/account/2fa/verify")["Location"].startswith("/account/2fa/setup")
