"""Account numbers at rest: a Fernet token, a keyed digest for lookups and the last four digits; never the number."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from apps.accounts import crypto, services
from apps.accounts.models import BrokerAccount

pytestmark = pytest.mark.django_db


def test_the_table_never_holds_the_number(paper_trader) -> None:
    number = paper_trader.paper.account_number
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM broker_accounts WHERE id = %s", [paper_trader.paper.pk])
        row = cursor.fetchone()
    assert not any(number in str(value) for value in row)
    assert number[-4:] in [str(v) for v in row]  # the last four, for display


def test_lookups_go_through_the_digest(paper_trader, outsider) -> None:
    number = paper_trader.paper.account_number
    assert BrokerAccount.objects.with_number(number).get() == paper_trader.paper
    assert BrokerAccount.objects.with_number(" " + number + " ").get() == paper_trader.paper
    assert not BrokerAccount.objects.with_number("1234567890").exists()
    fresh = BrokerAccount.objects.get(pk=paper_trader.paper.pk)
    assert fresh.account_number == number and fresh.masked_number == "****" + number[-4:]


def test_a_number_is_unique_even_encrypted(paper_trader, outsider) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        BrokerAccount.objects.create(owner=outsider.user, mode="paper", account_number=paper_trader.paper.account_number)


def test_a_malformed_number_is_refused(outsider) -> None:
    with pytest.raises(ValidationError):
        BrokerAccount(owner=outsider.user, mode="paper", account_number="12-34")


def test_the_worker_hello_keeps_only_masked_numbers(paper_trader) -> None:
    new = services.create_worker(name="w", mode="paper", accounts=[paper_trader.paper])
    number = paper_trader.paper.account_number
    result = services.register_hello(
        worker_id=new.worker.pk, channel_name="c", hello={"server": "paper", "accounts": [number], "stream_id": "s", "worker_version": "t", "backend": "sim"}
    )
    assert result.accounts == [number]  # the worker is told its numbers over its authenticated link
    new.worker.refresh_from_db()
    assert new.worker.last_hello["accounts"] == [crypto.mask(number)]
