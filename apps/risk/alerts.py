"""Alerts to admins: stored (the dashboard shows them live), emailed, and posted to a webhook if one is set.

Delivery happens after the commit and never raises: an unreachable mail server must not undo the
risk action that caused the alert. Each attempt is recorded with its outcome.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from apps.accounts.models import PermissionLevel, User
from apps.orders import notify
from apps.risk.models import AlertDelivery, RiskAlert

log = logging.getLogger(__name__)


def admin_emails() -> list[str]:
    admins = User.objects.filter(Q(is_superuser=True) | Q(trading_permission__level=PermissionLevel.ADMIN), is_active=True).exclude(email="")
    return sorted({*admins.values_list("email", flat=True), *settings.RISK_ALERT_EMAILS})


def raise_alert(*, kind: str, severity: str, title: str, message: str, scope_key: str = "", data: dict[str, Any] | None = None) -> RiskAlert:
    """Store the alert now; email and webhook go out once the surrounding transaction commits."""
    alert = RiskAlert.objects.create(kind=kind, severity=severity, scope_key=scope_key, title=title[:200], message=message, data=data or {})
    log.warning("risk alert %s [%s] %s: %s", kind, severity, title, message)
    notify.risk_changed()
    transaction.on_commit(lambda: deliver(alert.pk))
    return alert


def deliver(alert_id: int) -> None:
    alert = RiskAlert.objects.get(pk=alert_id)
    AlertDelivery.objects.create(alert=alert, channel="dashboard", ok=True)
    recipients = admin_emails()
    if recipients:
        try:
            send_mail(f"[긴급/{alert.severity}] {alert.title}", f"{alert.message}\n\n{json.dumps(alert.data, ensure_ascii=False, indent=2)}", None, recipients)
            AlertDelivery.objects.create(alert=alert, channel="email", ok=True, detail=", ".join(recipients))
        except Exception as exc:
            log.exception("alert %s: email failed", alert.pk)
            AlertDelivery.objects.create(alert=alert, channel="email", ok=False, detail=str(exc)[:500])
    if settings.ALERT_WEBHOOK_URL:
        ok, detail = post_webhook(settings.ALERT_WEBHOOK_URL, _payload(alert))
        AlertDelivery.objects.create(alert=alert, channel="webhook", ok=ok, detail=detail)


def _payload(alert: RiskAlert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "severity": alert.severity,
        "scope": alert.scope_key,
        "title": alert.title,
        "message": alert.message,
        "data": alert.data,
        "created_at": alert.created_at.isoformat(),
        # Chat webhooks (Slack, Mattermost, Discord-compatible) show this field as the message.
        "text": f"{alert.title}\n{alert.message}",
    }


def post_webhook(url: str, payload: dict[str, Any]) -> tuple[bool, str]:
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})  # noqa: S310 - an admin-configured http(s) URL
    try:
        with urllib.request.urlopen(request, timeout=settings.ALERT_WEBHOOK_TIMEOUT_S) as response:  # noqa: S310
            return 200 <= response.status < 300, f"HTTP {response.status}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.warning("alert webhook failed: %s", exc)
        return False, str(exc)[:500]
