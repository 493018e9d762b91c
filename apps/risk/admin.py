"""Risk in Django admin: limits (editable), trading states (changed only through the service, with a reason),
locks, emergency stops (adding one starts it), and the read-only trail of monitors, alerts and equity.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from apps.risk import emergency, states
from apps.risk.limits import DEFAULTS
from apps.risk.models import (
    AlertDelivery,
    EmergencyStop,
    EmergencyStopLog,
    EmergencyStopTarget,
    EquitySnapshot,
    MonitorState,
    RiskAlert,
    RiskLimit,
    ScopeKind,
    State,
    TradingLock,
    TradingState,
    TradingStateChange,
)
from apps.risk.states import NotAllowed, Scope


class AdminOnly(admin.ModelAdmin):
    """Risk settings are for admins (permission level admin, or superusers), not every staff account."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return states.is_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return states.is_admin(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return states.is_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return states.is_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return states.is_admin(request.user)


class ReadOnly(AdminOnly):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RiskLimit)
class RiskLimitAdmin(AdminOnly):
    list_display = [
        "mode",
        "user",
        "max_order_amount",
        "max_position_count",
        "max_position_amount",
        "capital",
        "daily_loss_limit",
        "daily_loss_action",
        "updated_at",
    ]
    list_filter = ["mode"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]
    readonly_fields = ["updated_by", "updated_at"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # A new per-user row starts from the mode's defaults, so the admin changes only what differs.
        mode = request.GET.get("mode", "paper")
        return {"mode": mode, **DEFAULTS.get(mode, {}), **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, obj: RiskLimit, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class TradingStateForm(forms.ModelForm):
    state = forms.ChoiceField(
        choices=[(s, State(s).label) for s in (State.ACTIVE, State.REDUCING, State.HALTED)], help_text=_("EMERGENCY는 긴급 정지를 시작해서만 설정됩니다.")
    )
    why = forms.CharField(label=_("변경 사유"), widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = TradingState
        fields = ["scope", "mode", "user", "account", "state"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("scope")
        try:
            if kind == ScopeKind.MODE and data.get("mode"):
                self.target = Scope.of_mode(data["mode"])
            elif kind == ScopeKind.USER and data.get("user"):
                self.target = Scope.of_user(data["user"].pk)
            elif kind == ScopeKind.ACCOUNT and data.get("account"):
                self.target = Scope.of_account(data["account"].pk)
            elif kind == ScopeKind.GLOBAL:
                self.target = Scope.everything()
            else:
                raise forms.ValidationError(_("범위에 맞는 모드, 사용자 또는 계좌를 고르세요."))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if data.get("state") == State.ACTIVE and EmergencyStop.objects.filter(scope_key=self.target.key, finished_at__isnull=True).exists():
            raise forms.ValidationError(_("긴급 정지가 아직 진행 중입니다. 완료된 뒤에 재개하세요."))
        return data


@admin.register(TradingState)
class TradingStateAdmin(AdminOnly):
    form = TradingStateForm
    list_display = ["scope_key", "state", "reason", "source", "changed_by", "changed_at"]
    list_filter = ["state", "scope"]
    readonly_fields = ["history"]
    raw_id_fields = ["account"]
    autocomplete_fields = ["user"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a scope goes back to ACTIVE with a reason, it is not deleted

    def get_readonly_fields(self, request: HttpRequest, obj: TradingState | None = None) -> list[str]:
        return ["scope", "mode", "user", "account", "history"] if obj else ["history"]

    @admin.display(description=_("변경 이력"))
    def history(self, obj: TradingState) -> str:
        rows = TradingStateChange.objects.filter(scope_key=obj.scope_key)[:20]
        return format_html_join("", "<div>{} · {} → {} · {} · {}</div>", ((r.created_at, r.old_state, r.new_state, r.source, r.reason) for r in rows))

    def save_model(self, request: HttpRequest, obj: TradingState, form: TradingStateForm, change: bool) -> None:
        # The service records who, why and when and tells every dashboard; the admin form never writes the row itself.
        scope, state, why = form.target, form.cleaned_data["state"], form.cleaned_data["why"]
        if state == State.ACTIVE:
            try:
                states.resume_trading(scope=scope, by=request.user, by_name=request.user.get_username(), reason=why)
            except NotAllowed as exc:
                self.message_user(request, str(exc), level="error")
        else:
            states.set_state(scope=scope, state=state, reason=why, source=f"admin:{request.user.get_username()}", changed_by=request.user)
        saved = TradingState.objects.filter(scope_key=scope.key).first()
        if saved is not None:
            obj.pk = saved.pk


@admin.register(TradingStateChange)
class TradingStateChangeAdmin(ReadOnly):
    list_display = ["created_at", "scope_key", "old_state", "new_state", "source", "changed_by", "reason"]
    list_filter = ["new_state"]
    search_fields = ["scope_key", "reason", "source"]


@admin.register(TradingLock)
class TradingLockAdmin(AdminOnly):
    list_display = ["created_at", "account", "user", "symbol", "side", "until", "reason"]
    raw_id_fields = ["account"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_by"]

    def save_model(self, request: HttpRequest, obj: TradingLock, form: Any, change: bool) -> None:
        obj.created_by = obj.created_by or request.user
        super().save_model(request, obj, form, change)


class StopLogInline(admin.TabularInline):
    model = EmergencyStopLog
    fields = ["created_at", "step", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StopTargetInline(admin.TabularInline):
    model = EmergencyStopTarget
    fields = ["kind", "account", "symbol", "target_order", "liquidation_order", "quantity", "attempts", "status", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EmergencyStopForm(forms.ModelForm):
    class Meta:
        model = EmergencyStop
        fields = ["scope", "mode", "user", "account", "reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("scope")
        targets = {
            ScopeKind.GLOBAL: lambda: Scope.everything(),
            ScopeKind.MODE: lambda: Scope.of_mode(data["mode"]) if data.get("mode") else None,
            ScopeKind.USER: lambda: Scope.of_user(data["user"].pk) if data.get("user") else None,
            ScopeKind.ACCOUNT: lambda: Scope.of_account(data["account"].pk) if data.get("account") else None,
        }
        self.target = targets[kind]() if kind in targets else None
        if self.target is None:
            raise forms.ValidationError(_("범위에 맞는 모드, 사용자 또는 계좌를 고르세요."))
        return data


@admin.register(EmergencyStop)
class EmergencyStopAdmin(AdminOnly):
    """Adding a row here presses the 긴급 정지 button for the chosen scope."""

    form = EmergencyStopForm
    list_display = ["id", "created_at", "scope_key", "step", "trigger", "requested_by_name", "reason", "finished_at"]
    list_filter = ["step", "trigger"]
    inlines = [StopTargetInline, StopLogInline]
    raw_id_fields = ["account"]
    autocomplete_fields = ["user"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and states.is_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: EmergencyStop, form: EmergencyStopForm, change: bool) -> None:
        run = emergency.trigger_stop(scope=form.target, reason=form.cleaned_data["reason"], trigger=EmergencyStop.Trigger.ADMIN, requested_by=request.user)
        obj.pk = run.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return  # the run's targets and logs are written by the run, never by this form


@admin.register(MonitorState)
class MonitorStateAdmin(ReadOnly):
    list_display = ["monitor", "scope_key", "consecutive", "last_value", "last_error", "last_reading_at", "warned_at", "tripped_at"]
    list_filter = ["monitor"]


class DeliveryInline(admin.TabularInline):
    model = AlertDelivery
    fields = ["created_at", "channel", "ok", "detail"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RiskAlert)
class RiskAlertAdmin(ReadOnly):
    list_display = ["created_at", "severity", "kind", "scope_key", "title"]
    list_filter = ["severity", "kind"]
    inlines = [DeliveryInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RiskAlert]:
        return super().get_queryset(request).prefetch_related("deliveries")


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(ReadOnly):
    list_display = ["session_date", "account", "cash", "positions_value", "equity", "day_pnl", "realized_pnl", "taken_at"]
    list_filter = ["session_date"]
