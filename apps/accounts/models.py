from __future__ import annotations

import hashlib
import re
import secrets

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts import crypto


class Mode(models.TextChoices):
    PAPER = "paper", _("모의투자")
    REAL = "real", _("실전투자")


class PermissionLevel(models.TextChoices):
    VIEWER = "viewer", _("조회 전용")
    PAPER_TRADER = "paper_trader", _("모의투자 트레이더")
    REAL_TRADER = "real_trader", _("실전 트레이더")
    ADMIN = "admin", _("관리자")


# Which modes each level may place orders in (the service layer enforces this for every entry point).
TRADABLE_MODES: dict[str, frozenset[str]] = {
    PermissionLevel.VIEWER: frozenset(),
    PermissionLevel.PAPER_TRADER: frozenset({Mode.PAPER}),
    PermissionLevel.REAL_TRADER: frozenset({Mode.PAPER, Mode.REAL}),
    PermissionLevel.ADMIN: frozenset({Mode.PAPER, Mode.REAL}),
}


class User(AbstractUser):
    """A person using the platform; what they may do is their TradingPermission level."""

    class Meta:
        db_table = "users"

    @property
    def permission_level(self) -> str:
        try:
            return self.trading_permission.level
        except TradingPermission.DoesNotExist:
            return PermissionLevel.VIEWER

    def can_trade(self, mode: str) -> bool:
        return mode in TRADABLE_MODES[self.permission_level]


class TradingPermission(models.Model):
    """The user's permission level, in the table the user's Supabase design names."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="trading_permission")
    level = models.CharField(max_length=16, choices=PermissionLevel.choices, default=PermissionLevel.VIEWER)
    # Kept beside the level because the user's existing Supabase queries read these two columns.
    can_paper_trade = models.BooleanField(default=False)
    can_real_trade = models.BooleanField(default=False)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now=True)
    reason = models.TextField(blank=True)

    class Meta:
        db_table = "trading_permissions"
        verbose_name = _("trading permission")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_level_display()}"


class PermissionChange(models.Model):
    """Append-only audit of level changes: who, when, old → new, why."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="permission_changes")
    old_level = models.CharField(max_length=16, choices=PermissionLevel.choices, blank=True)
    new_level = models.CharField(max_length=16, choices=PermissionLevel.choices)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()
    # A promotion to real_trader: what the readiness gate said, and the admin's override reason.
    gate_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "permission_changes"
        ordering = ["-created_at"]


ACCOUNT_NUMBER_RE = re.compile(r"^[0-9]{8,11}$")


class BrokerAccountQuerySet(models.QuerySet["BrokerAccount"]):
    def with_number(self, number: object) -> BrokerAccountQuerySet:
        """Find by account number through its keyed digest (the number itself is stored encrypted)."""
        return self.filter(number_digest=crypto.digest(str(number).strip()))


class BrokerAccount(models.Model):
    """A Kiwoom account (paper or real) owned by one user. The number is encrypted at rest (FERNET_KEYS)."""

    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="broker_accounts")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    number_token = models.TextField(editable=False)  # Fernet token of the account number
    number_digest = models.CharField(max_length=64, unique=True, editable=False)  # crypto.digest, for lookups
    number_last4 = models.CharField(max_length=4, editable=False)  # for display: ****1234
    label = models.CharField(max_length=64, blank=True)
    # Figures as the broker last reported them (balance events); the platform never invents cash.
    cash = models.BigIntegerField(default=0)
    orderable_cash = models.BigIntegerField(default=0)
    d2_cash = models.BigIntegerField(default=0)
    balance_reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BrokerAccountQuerySet.as_manager()

    class Meta:
        db_table = "broker_accounts"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.masked_number}"

    @property
    def account_number(self) -> str:
        plain = self.__dict__.get("_number")
        if plain is None:
            plain = self.__dict__["_number"] = crypto.open_account_number(self.number_token)
        return plain

    @account_number.setter
    def account_number(self, value: str) -> None:
        value = str(value).strip()
        if not ACCOUNT_NUMBER_RE.match(value):
            raise ValidationError({"account_number": _("계좌번호는 숫자 8~11자리입니다.")})
        self.number_token, self.number_digest, self.number_last4 = crypto.encrypt(value), crypto.digest(value), value[-4:]
        self.__dict__["_number"] = value

    @property
    def masked_number(self) -> str:
        return "****" + self.number_last4


class Worker(models.Model):
    """A Kiwoom worker process: one broker login, scoped to one mode and a set of accounts."""

    name = models.CharField(max_length=64, unique=True)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    accounts = models.ManyToManyField(BrokerAccount, blank=True, related_name="workers")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=8, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # What the worker said about itself in its last hello (server it logged in to, accounts, version).
    reported_server = models.CharField(max_length=8, blank=True)
    last_hello = models.JSONField(default=dict, blank=True)
    last_hello_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The Channels channel of the live connection; empty when disconnected. Orders are routed here.
    channel_name = models.CharField(max_length=128, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    # Why the worker is not trading, as it (or the server) last said: a failed broker login, the wrong
    # server. Cleared by its next accepted hello.
    problem = models.TextField(blank=True)
    problem_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "workers"

    def __str__(self) -> str:
        return f"{self.name} ({self.mode})"

    @staticmethod
    def hash_token(token: str) -> str:
        # Tokens are 32 random bytes, so a plain SHA-256 is enough; no password-style stretching needed.
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token() -> str:
        return "wk_" + secrets.token_urlsafe(32)

    @property
    def is_connected(self) -> bool:
        return bool(self.channel_name)


class WorkerStream(models.Model):
    """Highest event seq applied per worker outbox stream: the exactly-once bookkeeping of the link."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="streams")
    stream_id = models.CharField(max_length=64)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "worker_streams"
        constraints = [models.UniqueConstraint(fields=["worker", "stream_id"], name="uniq_worker_stream")]


class ApiToken(models.Model):
    """A per-user REST API token, stored hashed; `Authorization: Token <key>`."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    label = models.CharField(max_length=64, blank=True)
    # Real-money orders need a second factor; a token counts as one only when an operator issued it for that.
    allows_real = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_tokens"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class BrokerCredential(models.Model):
    """Kiwoom REST app key and secret and the account password, as Fernet tokens (apps/accounts/crypto.py)."""

    class Field(models.TextChoices):
        APP_KEY = "app_key", _("App key")
        SECRET_KEY = "secret_key", _("Secret key")
        ACCOUNT_PASSWORD = "account_password", _("계좌 비밀번호")

    account = models.OneToOneField(BrokerAccount, on_delete=models.CASCADE, related_name="credential")
    app_key = models.TextField(blank=True)
    secret_key = models.TextField(blank=True)
    account_password = models.TextField(blank=True)
    # What the admin may see: the last characters only.
    app_key_hint = models.CharField(max_length=8, blank=True)
    secret_key_hint = models.CharField(max_length=8, blank=True)
    account_password_hint = models.CharField(max_length=8, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "broker_credentials"


class SecretAccess(models.Model):
    """Append-only audit of every decryption of a broker secret."""

    credential = models.ForeignKey(BrokerCredential, on_delete=models.CASCADE, related_name="accesses")
    field = models.CharField(max_length=20, choices=BrokerCredential.Field.choices)
    actor = models.CharField(max_length=150)  # a username or a process name ("kiwoom-rest-client")
    purpose = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "secret_accesses"
        ordering = ["-created_at"]
