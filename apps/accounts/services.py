"""Account writes: permission levels, API tokens, workers and their connections."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts import crypto, readiness
from apps.accounts.models import (
    TRADABLE_MODES,
    ApiToken,
    BrokerAccount,
    BrokerCredential,
    Mode,
    PermissionChange,
    PermissionLevel,
    SecretAccess,
    TradingPermission,
    User,
    Worker,
    WorkerStream,
)


class PromotionRefused(Exception):
    """A promotion to real_trader without a passed readiness gate and without an admin's override."""


def set_permission_level(*, user: User, level: str, changed_by: User | None, reason: str, override_reason: str = "") -> TradingPermission:
    """Change a user's level and record who, when, old → new and why.

    A promotion to real_trader needs the paper → real readiness gate passed, or an override reason
    (recorded with the change).
    """
    if level not in PermissionLevel.values:
        raise ValueError(f"unknown permission level {level!r}")
    if not reason.strip():
        raise ValueError("a permission change needs a reason")
    with transaction.atomic():
        permission, _ = TradingPermission.objects.select_for_update().get_or_create(user=user)
        old = permission.level if permission.pk and permission.level else ""
        gate_note = ""
        if level == PermissionLevel.REAL_TRADER and old not in (PermissionLevel.REAL_TRADER, PermissionLevel.ADMIN):
            gate = readiness.paper_to_real(user)
            if not gate.passed:
                if not override_reason.strip():
                    raise PromotionRefused(gate.summary)
                gate_note = f"{gate.summary} — override: {override_reason.strip()}"
        permission.level = level
        permission.can_paper_trade = Mode.PAPER in TRADABLE_MODES[level]
        permission.can_real_trade = Mode.REAL in TRADABLE_MODES[level]
        permission.changed_by = changed_by
        permission.reason = reason
        permission.save()
        PermissionChange.objects.create(user=user, old_level=old, new_level=level, changed_by=changed_by, reason=reason, gate_note=gate_note)
        if level == PermissionLevel.ADMIN and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return permission


class TokenNotAllowed(Exception):
    pass


def issue_api_token(*, user: User, label: str = "", allows_real: bool = False) -> str:
    """Create a token and return it; only its hash is stored, so this is the one time it can be shown.

    ``allows_real`` makes the token stand in for the second factor on real-money orders; only for a
    user who may trade real money.
    """
    if allows_real and not user.can_trade("real"):
        raise TokenNotAllowed(f"{user.get_username()} may not trade real money, so a real-trading token makes no sense")
    key = "tk_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, key_hash=ApiToken.hash_key(key), prefix=key[:8], label=label, allows_real=allows_real)
    return key


def authenticate_api_token(key: str) -> User | None:
    token = api_token(key)
    return token.user if token is not None else None


def api_token(key: str) -> ApiToken | None:
    """The live token for this key (with its user), or None."""
    token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    # hash lookup already matched; compare again in constant time so timing never depends on the key
    if not hmac.compare_digest(token.key_hash, ApiToken.hash_key(key)):
        return None
    now = timezone.now()
    # Recorded at most once a minute: a write on every API call would serialise reads behind it.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@dataclass(frozen=True, slots=True)
class NewWorker:
    worker: Worker
    token: str


def create_worker(*, name: str, mode: str, accounts: list[BrokerAccount]) -> NewWorker:
    if mode not in Mode.values:
        raise ValueError(f"unknown mode {mode!r}")
    wrong = [a for a in accounts if a.mode != mode]
    if wrong:
        raise ValueError(f"a {mode} worker cannot carry {wrong[0].mode} accounts")
    token = Worker.new_token()
    with transaction.atomic():
        worker = Worker.objects.create(name=name, mode=mode, token_hash=Worker.hash_token(token), token_prefix=token[:8])
        worker.accounts.set(accounts)
    return NewWorker(worker, token)


def rotate_worker_token(*, worker: Worker) -> str:
    token = Worker.new_token()
    worker.token_hash, worker.token_prefix, worker.revoked_at = Worker.hash_token(token), token[:8], None
    worker.save(update_fields=["token_hash", "token_prefix", "revoked_at"])
    return token


def revoke_worker(*, worker: Worker) -> None:
    Worker.objects.filter(pk=worker.pk).update(revoked_at=timezone.now())


def authenticate_worker(token: str) -> Worker | None:
    if not token:
        return None
    digest = Worker.hash_token(token)
    worker = Worker.objects.filter(token_hash=digest, revoked_at__isnull=True).first()
    if worker is None or not hmac.compare_digest(worker.token_hash, digest):
        return None
    return worker


@dataclass(frozen=True, slots=True)
class HelloResult:
    worker: Worker
    accounts: list[str]  # accounts in the token's scope
    ignored_accounts: list[str]  # reported by the broker but outside the scope
    last_seq: int
    replaced_channel: str


def register_hello(*, worker_id: int, channel_name: str, hello: dict[str, Any]) -> HelloResult:
    """Record a worker's hello and make this connection the one orders are routed to."""
    with transaction.atomic():
        worker = Worker.objects.select_for_update().get(pk=worker_id)
        replaced = worker.channel_name if worker.channel_name != channel_name else ""
        now = timezone.now()
        worker.reported_server = hello["server"]
        worker.last_hello = {k: hello[k] for k in ("worker_version", "backend", "server", "login") if k in hello}
        # Account numbers are kept encrypted; the hello keeps only their last digits.
        worker.last_hello["accounts"] = [crypto.mask(str(a)) for a in hello.get("accounts", [])]
        worker.last_hello_at = worker.last_heartbeat_at = worker.connected_at = now
        worker.channel_name = channel_name
        worker.problem, worker.problem_at = "", None
        worker.save(
            update_fields=["reported_server", "last_hello", "last_hello_at", "last_heartbeat_at", "connected_at", "channel_name", "problem", "problem_at"]
        )
        scope = [account.account_number for account in worker.accounts.all()]
        stream, _ = WorkerStream.objects.get_or_create(worker=worker, stream_id=hello["stream_id"])
    reported = set(hello["accounts"])
    return HelloResult(worker, scope, sorted(reported - set(scope)), stream.last_seq, replaced)


def record_worker_problem(*, worker_id: int, problem: str) -> None:
    """Keep what stops a worker from trading (its failed login, the wrong server) where admins look."""
    Worker.objects.filter(pk=worker_id).update(problem=problem, problem_at=timezone.now())


def record_failed_login(*, worker_id: int, report: dict[str, Any]) -> str:
    """A worker's ``login_failed`` report (validated by the protocol) as its problem; returns the text."""
    on = f" (logged in to the {report['server']} server)" if report.get("server") else ""
    problem = f"broker login failed{on}: {report['message']} — worker exit code {report['exit_code']}, {report['backend']} {report['worker_version']}"
    record_worker_problem(worker_id=worker_id, problem=problem)
    return problem


def record_wrong_server(*, worker_id: int, reported_server: str, mode: str) -> None:
    problem = f"Kiwoom logged in to the {reported_server} server, but this worker's token is for {mode}; the worker was refused"
    record_worker_problem(worker_id=worker_id, problem=problem)


def record_heartbeat(*, worker_id: int, channel_name: str) -> None:
    Worker.objects.filter(pk=worker_id, channel_name=channel_name).update(last_heartbeat_at=timezone.now())


def register_disconnect(*, worker_id: int, channel_name: str) -> None:
    # Only the connection that is still current may clear the route; a replaced one must not.
    Worker.objects.filter(pk=worker_id, channel_name=channel_name).update(channel_name="")


def authenticate_worker_id(worker_id: int) -> bool:
    """Whether the worker's token is still valid (a revoked token's open connection is then closed)."""
    return Worker.objects.filter(pk=worker_id, revoked_at__isnull=True).exists()


def set_credentials(*, account: BrokerAccount, actor: str, **secrets: str) -> BrokerCredential:
    """Store the given secrets encrypted; unknown names are refused, empty values leave a field unchanged."""
    allowed = set(BrokerCredential.Field.values)
    unknown = set(secrets) - allowed
    if unknown:
        raise ValueError(f"unknown credential fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        credential, _ = BrokerCredential.objects.select_for_update().get_or_create(account=account)
        for name, value in secrets.items():
            if value:
                setattr(credential, name, crypto.encrypt(value))
                setattr(credential, f"{name}_hint", crypto.mask(value))
        credential.save()
    return credential


def reveal_secret(*, credential: BrokerCredential, field: str, actor: str, purpose: str) -> str:
    """The one place a broker secret is decrypted; every call is recorded (who, which secret, why)."""
    if field not in BrokerCredential.Field.values:
        raise ValueError(f"unknown credential field {field!r}")
    token = getattr(credential, field)
    if not token:
        raise ValueError(f"no {field} stored for account {credential.account_id}")
    SecretAccess.objects.create(credential=credential, field=field, actor=actor, purpose=purpose)
    return crypto._open(token)


def rotate_credentials(*, batch_size: int = 100) -> int:
    """Re-encrypt every secret and account number under the newest key, in batches; those already under it are skipped.

    Account-number digests are recomputed too, so changing ACCOUNT_INDEX_KEY (or SECRET_KEY, its default) is safe after a run.
    """
    rotated = _rotate_account_numbers(batch_size)
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(BrokerCredential.objects.select_for_update().filter(pk__gt=last_id).order_by("pk")[:batch_size])
            if not batch:
                return rotated
            for credential in batch:
                changed = []
                for name in BrokerCredential.Field.values:
                    token = getattr(credential, name)
                    if token and not crypto.is_current(token):
                        setattr(credential, name, crypto.rotate(token))
                        changed.append(name)
                if changed:
                    credential.save(update_fields=changed)
                    rotated += len(changed)
            last_id = batch[-1].pk


def _rotate_account_numbers(batch_size: int) -> int:
    rotated = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(BrokerAccount.objects.select_for_update().filter(pk__gt=last_id).order_by("pk")[:batch_size])
            if not batch:
                return rotated
            for account in batch:
                number = crypto.open_account_number(account.number_token)
                if crypto.is_current(account.number_token) and account.number_digest == crypto.digest(number):
                    continue
                account.account_number = number
                account.save(update_fields=["number_token", "number_digest", "number_last4"])
                rotated += 1
            last_id = batch[-1].pk
