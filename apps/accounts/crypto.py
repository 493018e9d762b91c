"""Broker secrets at rest: MultiFernet with keys from FERNET_KEYS (newest first), independent of SECRET_KEY.

Secrets are stored as Fernet tokens and never decrypted implicitly: services.reveal_secret is the one way back to
clear text, and every call leaves an audit row (who, what, why). A token that no configured key can
open raises; it is never handed back as if it were the value.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """No configured key opens this token (wrong FERNET_KEYS, or the data was tampered with)."""


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.FERNET_KEYS)
    if not keys:
        raise ImproperlyConfigured("FERNET_KEYS is empty: set one or more Fernet keys, newest first")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"FERNET_KEYS holds a malformed key ({exc}); generate one with Fernet.generate_key()") from exc


def reset_keys() -> None:
    """Forget the cached keys (after FERNET_KEYS or ACCOUNT_INDEX_KEY changes, e.g. in tests or a rotation run)."""
    _fernet.cache_clear()
    _digest_key.cache_clear()


def validate_keys() -> None:
    _fernet()


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt under the newest key; a token already under it comes back re-encrypted too (harmless)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("no configured key opens this secret") from exc


def is_current(token: str) -> bool:
    """Whether the newest key opens the token (rotation skips those, which makes it idempotent)."""
    try:
        Fernet(settings.FERNET_KEYS[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _open(token: str) -> str:
    """Only apps.accounts.services.reveal_secret calls this, so every decryption is audited."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("no configured key opens this secret") from exc


def mask(plain: str, *, visible: int = 4) -> str:
    return "****" + plain[-visible:] if len(plain) > visible else "****"


def open_account_number(token: str) -> str:
    """Account numbers are encrypted at rest like the secrets, but every order command carries one, so
    reading them is not audited per call (their digest and last four digits serve lookups and display)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("no configured key opens this account number") from exc


@cache
def _digest_key() -> bytes:
    return hashlib.sha256(b"kiwoom-platform/account-number-index/" + settings.ACCOUNT_INDEX_KEY.encode()).digest()


def digest(value: str) -> str:
    """A keyed blind index: equal numbers give equal digests, so the encrypted column stays unique and searchable."""
    return hmac.new(_digest_key(), value.encode(), hashlib.sha256).hexdigest()
