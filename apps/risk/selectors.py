"""Risk reads for the dashboard: the state banner, emergency-stop progress, recent alerts. Always scoped to the caller."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import BrokerAccount, User
from apps.risk import states
from apps.risk.models import EmergencyStop, EmergencyStopTarget, RiskAlert, State, TradingState


@dataclass
class AccountState:
    account: BrokerAccount
    state: str
    row: TradingState | None

    @property
    def label(self) -> str:
        return State(self.state).label


@dataclass
class Banner:
    accounts: list[AccountState]
    runs: list[EmergencyStop]
    halted_scopes: list[TradingState] = field(default_factory=list)  # admins: every scope that is not ACTIVE
    alerts: list[RiskAlert] = field(default_factory=list)  # admins: the last day's alerts
    is_admin: bool = False

    @property
    def restricted(self) -> list[AccountState]:
        return [a for a in self.accounts if a.state != State.ACTIVE]


def visible_runs(user: User) -> QuerySet[EmergencyStop]:
    """Runs the caller may see: every run for an admin; for others the global and mode runs and their own."""
    qs = EmergencyStop.objects.all()
    if states.is_admin(user):
        return qs
    own_accounts = list(BrokerAccount.objects.filter(owner=user).values_list("pk", flat=True))
    return qs.filter(Q(scope_key="global") | Q(scope="mode") | Q(scope_key=f"user:{user.pk}") | Q(scope_key__in=[f"account:{a}" for a in own_accounts]))


def may_press_emergency_stop(user: User) -> bool:
    """Admins stop any scope, traders their own; a viewer has nothing to stop (apps/risk/emergency.authorize)."""
    return states.is_admin(user) or user.can_trade("paper") or user.can_trade("real")


def banner_for(user: User) -> Banner:
    accounts = [AccountState(a, (e := states.effective_state(a)).state, e.row) for a in BrokerAccount.objects.filter(owner=user).order_by("mode", "id")]
    since = timezone.now() - dt.timedelta(hours=12)
    runs = list(visible_runs(user).filter(Q(finished_at__isnull=True) | Q(finished_at__gte=since))[:5])
    banner = Banner(accounts, runs, is_admin=states.is_admin(user))
    if banner.is_admin:
        banner.halted_scopes = list(TradingState.objects.exclude(state=State.ACTIVE).select_related("user", "account"))
        banner.alerts = list(RiskAlert.objects.filter(created_at__gte=timezone.now() - dt.timedelta(days=1))[:5])
    return banner


def run_progress(run: EmergencyStop) -> dict[str, Any]:
    targets = EmergencyStopTarget.objects.filter(run=run)
    counts: dict[str, dict[str, int]] = {}
    for kind, status in targets.values_list("kind", "status"):
        counts.setdefault(kind, {}).setdefault(status, 0)
        counts[kind][status] += 1
    return {
        "run": run,
        "logs": list(run.logs.order_by("-id")[:50]),
        "cancels": counts.get(EmergencyStopTarget.Kind.CANCEL, {}),
        "sells": counts.get(EmergencyStopTarget.Kind.LIQUIDATE, {}),
        "attention": list(targets.filter(status__in=[EmergencyStopTarget.Status.MANUAL, EmergencyStopTarget.Status.QUEUED]).values("symbol", "status", "note")),
    }
