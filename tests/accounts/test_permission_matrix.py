"""Every URL × every persona, generated from the URL conf: a new endpoint without a row fails this suite.

Personas: anonymous, viewer, paper trader, real trader, admin; object routes are also tried on another
user's object, which must be 404 (never 403, which would leak that it exists).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.orders import services
from apps.risk import emergency
from apps.risk.models import EmergencyStop
from apps.risk.states import Scope
from tests.conftest import Persona, verify_second_factor

pytestmark = pytest.mark.django_db
PERSONAS = ("anonymous", "viewer", "paper_trader", "real_trader", "admin_persona")
ORDER = {"symbol": "005930", "side": "buy", "quantity": 1, "order_type": "limit", "price": 49_000}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # "{order}" is replaced by an object id (see make): the caller's own, then the outsider's
    expected: dict[str, int]  # persona -> status
    data: Callable[[Persona | None], dict[str, Any]] | None = None
    api: bool = False  # DRF endpoint: token auth; else the browser session
    other_object: int | dict[str, int] | None = None  # expected status on the outsider's object (per persona if a dict)
    make: Callable[[Persona | None], int] | None = None  # the object behind "{order}"; an order by default


def everyone(status: int, anonymous: int) -> dict[str, int]:
    return {"anonymous": anonymous, **dict.fromkeys(PERSONAS[1:], status)}


_quantities = itertools.count(1)


def distinct_order() -> dict[str, Any]:
    """The same order twice within seconds is denied as a duplicate, so every call orders a new quantity."""
    return {**ORDER, "quantity": next(_quantities)}


def order_of(persona: Persona | None) -> int:
    if persona is None:
        return 1  # anonymous callers are refused before the id matters
    return services.submit_order(user=persona.user, account_id=persona.paper.pk, **distinct_order()).order.pk


def stop_of(persona: Persona | None) -> int:
    """An emergency stop of the persona's own accounts, started from the server's shell."""
    if persona is None:
        return 1
    run = emergency.trigger_stop(scope=Scope.of_user(persona.user.pk), reason="matrix", trigger=EmergencyStop.Trigger.COMMAND)
    return run.pk


def paper_account(caller: Persona | None) -> dict[str, Any]:
    return {**distinct_order(), "account": caller.paper.pk if caller else 1}


MATRIX: dict[str, list[Case]] = {
    "api-accounts": [Case("get", "/api/accounts", everyone(200, 401), api=True)],
    "api-orders": [
        Case("get", "/api/orders", everyone(200, 401), api=True),
        Case(
            "post",
            "/api/orders",
            {"anonymous": 401, "viewer": 403, "paper_trader": 201, "real_trader": 201, "admin_persona": 201},
            data=paper_account,
            api=True,
        ),
    ],
    "api-order": [
        Case("get", "/api/orders/{order}", everyone(200, 401), api=True, other_object=404),
        # A viewer's own order was denied at birth, so there is nothing to cancel: 409.
        Case("delete", "/api/orders/{order}", {**everyone(202, 401), "viewer": 409}, api=True, other_object=404),
    ],
    "api-positions": [Case("get", "/api/positions", everyone(200, 401), api=True)],
    "api-executions": [Case("get", "/api/executions", everyone(200, 401), api=True)],
    "api-symbols": [Case("get", "/api/symbols?q=005930", everyone(200, 401), api=True)],
    "api-bars": [Case("get", "/api/bars?symbol=005930", everyone(200, 401), api=True)],
    "api-schema": [Case("get", "/api/schema/", everyone(200, 401), api=True)],
    "api-docs": [Case("get", "/api/docs/", everyone(200, 401), api=True)],
    "set_language": [Case("post", "/i18n/setlang/", everyone(302, 302), data=lambda c: {"language": "en", "next": "/"})],
    "healthz": [Case("get", "/healthz", everyone(200, 200))],
    "watchlist-add": [Case("post", "/dashboard/watchlist", everyone(200, 302), data=lambda c: {"symbol": "005930"})],
    "watchlist-remove": [Case("post", "/dashboard/watchlist/remove", everyone(200, 302), data=lambda c: {"symbol": "005930"})],
    "dashboard": [Case("get", "/", everyone(200, 302))],
    "login": [Case("get", "/login/", everyone(302, 200))],
    "logout": [Case("post", "/logout/", everyone(302, 302))],
    "dashboard-place-order": [Case("post", "/dashboard/orders", everyone(200, 302), data=paper_account)],
    "risk-banner": [Case("get", "/risk/banner", everyone(200, 302))],
    # A viewer has nothing to stop; a trader stops their own accounts (an admin any scope).
    "risk-emergency-stop": [
        Case(
            "post",
            "/risk/emergency-stop",
            {"anonymous": 302, "viewer": 403, "paper_trader": 200, "real_trader": 200, "admin_persona": 200},
            data=lambda c: {"scope": "mine", "reason": "matrix"},
        )
    ],
    # Admins follow every stop; anyone else sees only the stops that concern them.
    "risk-emergency-stop-detail": [
        Case("get", "/risk/emergency-stop/{order}", everyone(200, 302), other_object={**everyone(404, 302), "admin_persona": 200}, make=stop_of)
    ],
    # The admin's session here already has a device (the admin site needs it): enrolled users are sent
    # to verify, and verifying needs an enrolled device (without one, the page sends you to enrol).
    "two-factor-setup": [Case("get", "/account/2fa/setup", {**everyone(200, 302), "admin_persona": 302})],
    "two-factor-verify": [Case("get", "/account/2fa/verify", {**everyone(302, 302), "admin_persona": 200})],
    "dashboard-cancel-order": [Case("post", "/dashboard/orders/{order}/cancel", everyone(200, 302), other_object=404)],
}
# Django admin checks staff status itself; a row here keeps it in the matrix.
ADMIN = Case("get", "/admin/", {"anonymous": 302, "viewer": 302, "paper_trader": 302, "real_trader": 302, "admin_persona": 200})


def url_names(patterns: list[Any] | None = None) -> Iterator[str]:
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if getattr(pattern, "app_name", None) == "admin":
                yield "admin"
                continue
            yield from url_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern.name or str(pattern.pattern)


def test_every_url_has_a_row() -> None:
    names = set(url_names())
    assert names - set(MATRIX) - {"admin"} == set(), "add these endpoints to the permission matrix"
    assert set(MATRIX) - names == set(), "the matrix lists endpoints that no longer exist"


def _client(persona: Persona | None, *, api: bool) -> Client:
    if api:
        client = APIClient()
        if persona is not None:
            client.credentials(HTTP_AUTHORIZATION="Token " + account_services.issue_api_token(user=persona.user))
        return client
    client = Client()
    if persona is not None:
        client.force_login(persona.user)
        if persona.user.is_staff:
            verify_second_factor(client, persona.user)  # the admin site needs it; tests/accounts/test_two_factor.py covers its absence
    return client


@pytest.mark.parametrize("name", sorted([*MATRIX, "admin"]))
def test_the_matrix(request: pytest.FixtureRequest, name: str, symbols: Any, market_always: Any) -> None:
    outsider: Persona = request.getfixturevalue("outsider")
    admin = request.getfixturevalue("admin_persona")
    admin.user.is_staff = admin.user.is_superuser = True
    admin.user.save()
    for case in MATRIX.get(name, [ADMIN]):
        for persona_name in PERSONAS:
            caller = None if persona_name == "anonymous" else request.getfixturevalue(persona_name)
            client = _client(caller, api=case.api)
            kwargs: dict[str, Any] = {"data": case.data(caller)} if case.data else {}
            if case.api and case.method == "post":
                kwargs["format"] = "json"
            make = case.make or order_of
            status = getattr(client, case.method)(case.path.format(order=make(caller)), **kwargs).status_code
            assert status == case.expected[persona_name], (name, case.method, persona_name, status)
            if case.other_object is not None and caller is not None:
                other = getattr(client, case.method)(case.path.format(order=make(outsider)), **kwargs).status_code
                expected = case.other_object if isinstance(case.other_object, int) else case.other_object[persona_name]
                assert other == expected, (name, case.method, persona_name, "another user's order", other)
