"""Login throttling (django-axes): repeated failures lock the username out, with a clear message, even for the right password."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_five_failures_lock_out_with_a_message(paper_trader, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/login/", {"username": paper_trader.user.username, "password": "wrong"}).status_code == 200
    locked = client.post("/login/", {"username": paper_trader.user.username, "password": "wrong"})
    assert locked.status_code == 429
    assert "잠겼습니다" in locked.content.decode()
    right = client.post("/login/", {"username": paper_trader.user.username, "password": "pw-" + paper_trader.user.username})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_resets_the_count(paper_trader, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": paper_trader.user.username, "password": "wrong"})
    assert client.post("/login/", {"username": paper_trader.user.username, "password": "pw-" + paper_trader.user.username}).status_code == 302
    client.post("/logout/")
    assert client.post("/login/", {"username": paper_trader.user.username, "password": "wrong"}).status_code == 200


def test_another_user_is_not_locked_by_someone_elses_failures(paper_trader, viewer, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": paper_trader.user.username, "password": "wrong"})
    assert client.post("/login/", {"username": viewer.user.username, "password": "pw-" + viewer.user.username}).status_code == 302
