"""Broker secrets: encrypted at rest, revealed only through one audited function, rotated, never shown."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from apps.accounts import crypto, services
from apps.accounts.models import BrokerAccount, BrokerCredential, SecretAccess
from tests.conftest import verify_second_factor

pytestmark = pytest.mark.django_db
APP_KEY, SECRET = "PSxAPPKEY1234567890abcd", "SECRETvalue-0987654321-xyz"


@pytest.fixture
def keys(settings):
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    crypto.reset_keys()
    yield settings
    crypto.reset_keys()


def stored_row(credential: BrokerCredential) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app_key, secret_key, account_password FROM broker_credentials WHERE id = %s", [credential.pk])
        return cursor.fetchone()


def test_secrets_are_stored_encrypted_and_revealed_with_an_audit_row(keys, paper_trader) -> None:
    credential = services.set_credentials(account=paper_trader.paper, actor="admin", app_key=APP_KEY, secret_key=SECRET, account_password="0000")
    row = stored_row(credential)
    assert all(value and APP_KEY not in value and SECRET not in value for value in row)
    assert credential.app_key_hint == "****abcd"
    assert services.reveal_secret(credential=credential, field="app_key", actor="rest-client", purpose="token request") == APP_KEY
    access = SecretAccess.objects.get()
    assert (access.field, access.actor, access.purpose) == ("app_key", "rest-client", "token request")


def test_a_wrong_key_fails_loudly_instead_of_returning_ciphertext(keys, paper_trader) -> None:
    credential = services.set_credentials(account=paper_trader.paper, actor="admin", app_key=APP_KEY)
    keys.FERNET_KEYS = [Fernet.generate_key().decode()]
    crypto.reset_keys()
    with pytest.raises(crypto.SecretUnreadable):
        services.reveal_secret(credential=credential, field="app_key", actor="x", purpose="y")


def test_rotation_round_trip_is_idempotent(keys, paper_trader, outsider) -> None:
    old_key = keys.FERNET_KEYS[0]
    first = services.set_credentials(account=paper_trader.paper, actor="admin", app_key=APP_KEY, secret_key=SECRET)
    services.set_credentials(account=outsider.paper, actor="admin", account_password="1234")
    keys.FERNET_KEYS = [Fernet.generate_key().decode(), old_key]  # the new key first
    crypto.reset_keys()
    # Three secrets and three account numbers (the paper trader's two accounts, the outsider's one).
    assert services.rotate_credentials(batch_size=1) == 6
    assert services.rotate_credentials(batch_size=1) == 0
    keys.FERNET_KEYS = keys.FERNET_KEYS[:1]  # the old key is gone; everything still opens
    crypto.reset_keys()
    first.refresh_from_db()
    assert services.reveal_secret(credential=first, field="secret_key", actor="x", purpose="after rotation") == SECRET
    number = paper_trader.paper.account_number
    assert BrokerAccount.objects.get(pk=paper_trader.paper.pk).account_number == number


def test_admin_never_shows_a_secret(keys, admin_persona, paper_trader, client) -> None:
    credential = services.set_credentials(account=paper_trader.paper, actor="admin", app_key=APP_KEY, secret_key=SECRET)
    client.force_login(admin_persona.user)
    admin_persona.user.is_superuser = True
    admin_persona.user.save()
    verify_second_factor(client, admin_persona.user)
    for url in ["/admin/accounts/brokercredential/", f"/admin/accounts/brokercredential/{credential.pk}/change/"]:
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert APP_KEY not in text and SECRET not in text
        assert credential.app_key not in text  # not even the ciphertext
