"""Broker secrets at rest: MultiFernet with keys from FERNET_KEYS (newest first), independent of SECRET_KEY.

Secrets are stored as Fernet tokens and never decrypted implicitly: services.reveal_secret is the one way back to
clear text, and every call leaves an audit row (who, what, why). A token that no configured key can
open raises; it is never handed back as if it were the value.
"""

from __future__ import annotations

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
    """Forget the cached keys (after FERNET_KEYS changes, e.g. in tests or a rotation run)."""
    _fernet.cache_clear()


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
