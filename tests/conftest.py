"""Personas and shared fixtures: an admin, a real trader, a paper trader, a viewer and an outsider."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from apps.accounts import services as account_services
from apps.accounts.models import BrokerAccount, Mode, PermissionLevel, User

# Symbols every order test can rely on (previous closes on the tick grid).
TEST_SYMBOLS = [
    {"code": "005930", "name": "삼성전자", "market": "KOSPI", "kind": "stock", "previous_close": 70_000, "kospi200": True},
    {"code": "000660", "name": "SK하이닉스", "market": "KOSPI", "kind": "stock", "previous_close": 180_000, "kospi200": True},
    {"code": "005935", "name": "삼성전자우", "market": "KOSPI", "kind": "preferred", "previous_close": 58_000, "kospi200": True},
    {"code": "069500", "name": "KODEX 200", "market": "KOSPI", "kind": "etf", "previous_close": 35_005, "kospi200": False},
    {"code": "247540", "name": "에코프로비엠", "market": "KOSDAQ", "kind": "stock", "previous_close": 150_000, "kospi200": False},
    {"code": "0126Z0", "name": "삼성에피스홀딩스", "market": "KOSPI", "kind": "stock", "previous_close": 9_980, "kospi200": False},
]


@dataclass
class Persona:
    user: User
    paper: BrokerAccount
    real: BrokerAccount | None = None


_numbers = iter(range(10_000_000, 99_999_999))


def make_persona(username: str, level: str, *, real: bool = False) -> Persona:
    user = User.objects.create_user(username=username, password="pw-" + username)
    account_services.set_permission_level(user=user, level=level, changed_by=None, reason="test persona", override_reason="test persona")
    paper = BrokerAccount.objects.create(owner=user, mode=Mode.PAPER, account_number=f"{next(_numbers)}11", cash=100_000_000, orderable_cash=100_000_000)
    real_account = (
        BrokerAccount.objects.create(owner=user, mode=Mode.REAL, account_number=f"{next(_numbers)}22", cash=1_000_000, orderable_cash=1_000_000)
        if real
        else None
    )
    return Persona(user, paper, real_account)


@pytest.fixture(autouse=True)
def _plain_http_test_client(settings):
    # With DATABASE_URL set the settings are production's, which redirect HTTP to HTTPS; Django's test
    # client speaks plain HTTP. tests/platform/test_security_headers.py checks the production values.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def market_always(settings):
    settings.MARKET_HOURS = "always"
    return settings


@pytest.fixture
def symbols(db):
    from apps.marketdata.services import upsert_symbol_master

    upsert_symbol_master(TEST_SYMBOLS)
    return {s["code"]: s for s in TEST_SYMBOLS}


@pytest.fixture
def admin_persona(db) -> Persona:
    return make_persona("alice_admin", PermissionLevel.ADMIN, real=True)


@pytest.fixture
def real_trader(db) -> Persona:
    return make_persona("rita_real", PermissionLevel.REAL_TRADER, real=True)


@pytest.fixture
def paper_trader(db) -> Persona:
    return make_persona("pete_paper", PermissionLevel.PAPER_TRADER, real=True)


@pytest.fixture
def viewer(db) -> Persona:
    return make_persona("vera_viewer", PermissionLevel.VIEWER)


@pytest.fixture
def outsider(db) -> Persona:
    return make_persona("oscar_outsider", PermissionLevel.PAPER_TRADER)


def verify_second_factor(client, user: User):
    """Give a logged-in test client's session a verified TOTP device, as entering a code would."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
