"""Trading states per scope (global, mode, user, account): the strictest that applies to an account wins.

Every change is one function call that records who, why and when, and tells every dashboard after
the commit. Monitors only undo what they themselves set (``only_from_source``), so an automatic
reset never lifts an admin's or an emergency stop's halt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.accounts.models import BrokerAccount, PermissionLevel, User
from apps.orders import notify
from apps.risk.models import STRICTNESS, ScopeKind, State, TradingState, TradingStateChange

log = logging.getLogger(__name__)


class NotAllowed(Exception):
    """The caller may not make this change (e.g. only an admin returns a scope to ACTIVE)."""


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str
    mode: str = ""
    user_id: int | None = None
    account_id: int | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(ScopeKind.GLOBAL)

    @classmethod
    def of_mode(cls, mode: str) -> Scope:
        return cls(ScopeKind.MODE, mode=mode)

    @classmethod
    def of_user(cls, user_id: int) -> Scope:
        return cls(ScopeKind.USER, user_id=user_id)

    @classmethod
    def of_account(cls, account_id: int) -> Scope:
        return cls(ScopeKind.ACCOUNT, account_id=account_id)

    @classmethod
    def from_key(cls, key: str) -> Scope:
        kind, _sep, value = key.partition(":")
        if kind == ScopeKind.GLOBAL:
            return cls.everything()
        if kind == ScopeKind.MODE:
            return cls.of_mode(value)
        if kind == ScopeKind.USER:
            return cls.of_user(int(value))
        if kind == ScopeKind.ACCOUNT:
            return cls.of_account(int(value))
        raise ValueError(f"unknown scope key {key!r}")

    @property
    def key(self) -> str:
        if self.kind == ScopeKind.GLOBAL:
            return "global"
        if self.kind == ScopeKind.MODE:
            return f"mode:{self.mode}"
        if self.kind == ScopeKind.USER:
            return f"user:{self.user_id}"
        return f"account:{self.account_id}"

    def accounts(self) -> QuerySet[BrokerAccount]:
        qs = BrokerAccount.objects.all()
        if self.kind == ScopeKind.MODE:
            return qs.filter(mode=self.mode)
        if self.kind == ScopeKind.USER:
            return qs.filter(owner_id=self.user_id)
        if self.kind == ScopeKind.ACCOUNT:
            return qs.filter(pk=self.account_id)
        return qs

    def label(self) -> str:
        if self.kind == ScopeKind.GLOBAL:
            return _("전체")
        if self.kind == ScopeKind.MODE:
            return _("%(mode)s 전체") % {"mode": _("실전투자") if self.mode == "real" else _("모의투자")}
        if self.kind == ScopeKind.USER:
            name = User.objects.filter(pk=self.user_id).values_list("username", flat=True).first() or self.user_id
            return _("사용자 %(name)s") % {"name": name}
        account = BrokerAccount.objects.filter(pk=self.account_id).first()
        return _("계좌 %(account)s") % {"account": account or self.account_id}

    def covers(self, account: BrokerAccount) -> bool:
        return (
            self.kind == ScopeKind.GLOBAL
            or (self.kind == ScopeKind.MODE and account.mode == self.mode)
            or (self.kind == ScopeKind.USER and account.owner_id == self.user_id)
            or (self.kind == ScopeKind.ACCOUNT and account.pk == self.account_id)
        )


def scopes_of(account: BrokerAccount) -> list[Scope]:
    return [Scope.everything(), Scope.of_mode(account.mode), Scope.of_user(account.owner_id), Scope.of_account(account.pk)]


@dataclass(frozen=True, slots=True)
class Effective:
    state: str
    row: TradingState | None  # the scope that imposes it; None when every scope is ACTIVE

    @property
    def reason(self) -> str:
        return self.row.reason if self.row else ""


def effective_state(account: BrokerAccount) -> Effective:
    """The strictest state among the scopes that cover this account."""
    rows = TradingState.objects.filter(scope_key__in=[s.key for s in scopes_of(account)]).exclude(state=State.ACTIVE)
    strictest: TradingState | None = None
    for row in rows:
        if strictest is None or STRICTNESS[row.state] > STRICTNESS[strictest.state]:
            strictest = row
    return Effective(strictest.state if strictest else State.ACTIVE, strictest)


def state_of(scope: Scope) -> str:
    return TradingState.objects.filter(scope_key=scope.key).values_list("state", flat=True).first() or State.ACTIVE


def is_admin(user: User | None) -> bool:
    return user is not None and (user.is_superuser or user.permission_level == PermissionLevel.ADMIN)


def set_state(
    *,
    scope: Scope,
    state: str,
    reason: str,
    source: str,
    changed_by: User | None = None,
    only_from_source: str | None = None,
    only_from_state: str | None = None,
) -> bool:
    """Set a scope's state and record the change; False when nothing changed (or the guard did not match)."""
    if state not in State.values:
        raise ValueError(f"unknown trading state {state!r}")
    if not reason.strip():
        raise ValueError("a state change needs a reason")
    try:
        with transaction.atomic():
            return _set_locked(scope, state, reason, source, changed_by, only_from_source, only_from_state)
    except IntegrityError:
        # Two writers created the scope's first row at once; the row exists now, so lock it and go again.
        with transaction.atomic():
            return _set_locked(scope, state, reason, source, changed_by, only_from_source, only_from_state)


def _set_locked(scope: Scope, state: str, reason: str, source: str, changed_by: User | None, only_from_source: str | None, only_from_state: str | None) -> bool:
    row = TradingState.objects.select_for_update().filter(scope_key=scope.key).first()
    if row is None:
        if state == State.ACTIVE or only_from_source is not None or (only_from_state is not None and only_from_state != State.ACTIVE):
            return False
        row = TradingState(scope_key=scope.key, scope=scope.kind, mode=scope.mode, user_id=scope.user_id, account_id=scope.account_id, state=State.ACTIVE)
    if only_from_source is not None and row.source != only_from_source:
        return False
    if only_from_state is not None and row.state != only_from_state:
        return False
    if row.pk is not None and row.state == state:
        return False
    old = row.state
    row.state, row.reason, row.source, row.changed_by = state, reason, source[:64], changed_by
    row.save()
    TradingStateChange.objects.create(scope_key=scope.key, old_state=old, new_state=state, reason=reason, source=source[:64], changed_by=changed_by)
    log.warning("trading state of %s: %s -> %s by %s (%s)", scope.key, old, state, source, reason)
    notify.risk_changed()
    return True


def resume_trading(*, scope: Scope, by: User | None, by_name: str, reason: str) -> bool:
    """Return a scope to ACTIVE. Only an admin (or an operator at the server's shell, ``by`` None) may."""
    from apps.risk.models import EmergencyStop

    if by is not None and not is_admin(by):
        raise NotAllowed(_("관리자만 거래를 재개할 수 있습니다."))
    if EmergencyStop.objects.filter(scope_key=scope.key, finished_at__isnull=True).exists():
        raise NotAllowed(_("긴급 정지가 아직 진행 중입니다. 완료된 뒤에 재개하세요."))
    return set_state(scope=scope, state=State.ACTIVE, reason=reason, source=f"admin:{by_name}", changed_by=by)


def raise_state(*, scope: Scope, state: str, reason: str, source: str) -> bool:
    """What monitors call: make a scope stricter, never laxer (a monitor must not lift an admin's halt)."""
    with transaction.atomic():
        current = TradingState.objects.select_for_update().filter(scope_key=scope.key).values_list("state", flat=True).first() or State.ACTIVE
        if STRICTNESS[state] <= STRICTNESS[current]:
            return False
        return set_state(scope=scope, state=state, reason=reason, source=source)
