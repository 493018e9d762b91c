"""The second factor (TOTP through django-otp): enrolment, verifying a session, and who needs it for what.

Admins need a verified session for the admin site (OTPAdminSite); everyone needs one for real-money
actions (placing a real order, stopping someone else's trading). An API token counts as a second
factor only if it was issued for real trading by an operator (``issue_api_token --real``).
"""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import ApiToken, User

DEVICE_NAME = "authenticator"


def required() -> bool:
    return bool(settings.TWO_FACTOR_REQUIRED)


def has_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def session_verified(request: HttpRequest) -> bool:
    """Whether this request may do what needs a second factor."""
    if not required():
        return True
    user: Any = request.user
    if getattr(user, "is_verified", None) and user.is_verified():
        return True
    token = getattr(request, "auth", None)
    return isinstance(token, ApiToken) and token.allows_real


def pending_device(user: User) -> TOTPDevice:
    """The device being enrolled: an unconfirmed one is reused, so reloading the page keeps the same secret."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def provisioning_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code (no third-party service sees the secret)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4)


def confirm_enrolment(request: HttpRequest, token: str) -> bool:
    """Confirm the pending device with a first code; the session counts as verified from then on."""
    device = pending_device(request.user)  # type: ignore[arg-type]
    if not device.verify_token(_clean(token)):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return True


def verify_session(request: HttpRequest, token: str) -> bool:
    device = match_token(request.user, _clean(token))
    if device is None:
        return False
    otp_login(request, device)
    return True


def _clean(token: str) -> str:
    return "".join(ch for ch in token if ch.isdigit())[:8]


def remove_devices(user: User) -> int:
    """Forget every authenticator of the user (a lost phone); returns how many there were."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    return removed
