from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from apps.accounts import readiness, services, two_factor
from apps.accounts.models import (
    ApiToken,
    BrokerAccount,
    BrokerCredential,
    PermissionChange,
    PermissionLevel,
    SecretAccess,
    TradingPermission,
    User,
    Worker,
)


class TradingPermissionInline(admin.StackedInline):
    model = TradingPermission
    fk_name = "user"
    fields = ["level", "can_paper_trade", "can_real_trade", "changed_by", "changed_at", "reason"]
    readonly_fields = ["can_paper_trade", "can_real_trade", "changed_by", "changed_at", "level", "reason"]
    can_delete = False


class LevelChangeForm(forms.Form):
    """The intermediate page of the bulk action: every change needs a reason; a promotion to real may need an override."""

    level = forms.ChoiceField(label="new level", choices=PermissionLevel.choices)
    reason = forms.CharField(label="reason", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)
    override_reason = forms.CharField(
        label="override the paper → real readiness gate, because",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text="Only for promotions to real_trader while the gate is not passed; recorded with the change.",
    )


def change_levels(modeladmin: admin.ModelAdmin, request: HttpRequest, users: Any) -> HttpResponse | None:
    """Bulk level change with a reason, through the service (audit row per user, readiness gate per promotion)."""
    users = list(users)
    if "apply" in request.POST:
        form = LevelChangeForm(request.POST)
        if form.is_valid():
            done, refused = [], []
            for user in users:
                try:
                    services.set_permission_level(
                        user=user,
                        level=form.cleaned_data["level"],
                        changed_by=request.user,  # type: ignore[arg-type]
                        reason=form.cleaned_data["reason"],
                        override_reason=form.cleaned_data["override_reason"],
                    )
                    done.append(user.get_username())
                except services.PromotionRefused as exc:
                    refused.append(f"{user.get_username()} ({exc})")
            if done:
                modeladmin.message_user(request, f"Level set to {form.cleaned_data['level']} for: {', '.join(done)}", messages.SUCCESS)
            if refused:
                modeladmin.message_user(request, f"Refused, readiness gate not passed and no override given: {'; '.join(refused)}", messages.ERROR)
            return None
    else:
        form = LevelChangeForm()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Change permission level",
        "form": form,
        "users": users,
        "action": request.POST.get("action", "change_levels"),
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/accounts/change_levels.html", context)


change_levels.short_description = "Change permission level (asks for a reason)"  # type: ignore[attr-defined]


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ["username", "email", "permission_level", "is_active", "last_login"]
    list_filter = ["trading_permission__level", "is_active", "is_staff"]
    inlines = [TradingPermissionInline]
    actions = [change_levels]

    @admin.display(description="permission level", ordering="trading_permission__level")
    def permission_level(self, obj: User) -> str:
        return obj.permission_level


class TradingPermissionForm(forms.ModelForm):
    override_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Promotion to real_trader while the paper → real readiness gate is not passed: why you override it (recorded).",
    )

    class Meta:
        model = TradingPermission
        fields = ["user", "level", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = True
        self.fields["reason"].initial = ""
        if self.instance.pk:
            self.initial["reason"] = ""  # a new change needs its own reason, not the last one's

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user, level = data.get("user"), data.get("level")
        old = TradingPermission.objects.filter(pk=self.instance.pk).values_list("level", flat=True).first() if self.instance.pk else ""
        promoting = level == PermissionLevel.REAL_TRADER and old not in (PermissionLevel.REAL_TRADER, PermissionLevel.ADMIN)
        if user is not None and promoting and not data.get("override_reason", "").strip():
            gate = readiness.paper_to_real(user)
            if not gate.passed:
                self.add_error("override_reason", f"{gate.summary} Give an override reason to promote anyway.")
        return data


@admin.register(TradingPermission)
class TradingPermissionAdmin(admin.ModelAdmin):
    form = TradingPermissionForm
    list_display = ["user", "level", "can_paper_trade", "can_real_trade", "changed_by", "changed_at"]
    list_filter = ["level"]
    fields = ["user", "level", "reason", "override_reason", "can_paper_trade", "can_real_trade", "changed_by", "changed_at"]
    readonly_fields = ["can_paper_trade", "can_real_trade", "changed_by", "changed_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a level goes down to viewer, with a reason; the row and its history stay

    def save_model(self, request: HttpRequest, obj: TradingPermission, form: Any, change: bool) -> None:
        # Through the service, so the audit row is written, the gate is applied and the booleans follow the level.
        services.set_permission_level(
            user=obj.user,
            level=obj.level,
            changed_by=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
            override_reason=form.cleaned_data.get("override_reason", ""),
        )


@admin.register(PermissionChange)
class PermissionChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "old_level", "new_level", "changed_by", "reason", "gate_note"]
    list_filter = ["new_level"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BrokerAccountForm(forms.ModelForm):
    """The account number is write-only here: stored encrypted, shown as its last four digits."""

    account_number = forms.RegexField(regex=r"^[0-9]{8,11}$", required=False, help_text="Digits only. Leave empty to keep the stored number (shown masked).")

    class Meta:
        model = BrokerAccount
        fields = ["owner", "mode", "label"]

    def clean_account_number(self) -> str:
        number = self.cleaned_data.get("account_number", "")
        if not number and not self.instance.pk:
            raise forms.ValidationError("A new account needs its number.")
        if number and BrokerAccount.objects.with_number(number).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another account already has this number.")
        return number

    def save(self, commit: bool = True) -> BrokerAccount:
        if self.cleaned_data.get("account_number"):
            self.instance.account_number = self.cleaned_data["account_number"]
        return super().save(commit=commit)


@admin.register(BrokerAccount)
class BrokerAccountAdmin(admin.ModelAdmin):
    form = BrokerAccountForm
    list_display = ["id", "owner", "mode", "masked_number", "label", "cash", "orderable_cash", "balance_reported_at"]
    list_filter = ["mode"]
    fields = ["owner", "mode", "account_number", "masked_number", "label", "cash", "orderable_cash", "d2_cash", "balance_reported_at"]
    readonly_fields = ["masked_number", "cash", "orderable_cash", "d2_cash", "balance_reported_at"]
    search_fields = ["owner__username", "label", "number_last4"]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["name", "mode", "reported_server", "is_connected", "last_hello_at", "last_heartbeat_at", "problem", "revoked_at"]
    list_filter = ["mode"]
    readonly_fields = [
        "token_prefix",
        "revoked_at",
        "reported_server",
        "last_hello",
        "last_hello_at",
        "last_heartbeat_at",
        "connected_at",
        "problem",
        "problem_at",
    ]
    fields = ["name", "mode", "accounts", *readonly_fields]
    filter_horizontal = ["accounts"]
    actions = ["revoke_tokens", "rotate_tokens"]

    @admin.display(boolean=True, description="connected")
    def is_connected(self, obj: Worker) -> bool:
        return obj.is_connected

    def save_model(self, request: HttpRequest, obj: Worker, form: Any, change: bool) -> None:
        if not change:
            obj.token_hash = "pending-" + Worker.new_token()[:32]
        super().save_model(request, obj, form, change)
        if not change:
            token = services.rotate_worker_token(worker=obj)
            messages.warning(request, f"Worker token (shown once, stored hashed): {token}")

    @admin.action(description="Revoke the token of the selected workers")
    def revoke_tokens(self, request: HttpRequest, queryset: Any) -> None:
        for worker in queryset:
            services.revoke_worker(worker=worker)
        messages.success(request, f"{queryset.count()} worker token(s) revoked; open connections close at their next heartbeat.")

    @admin.action(description="Issue a new token for the selected workers")
    def rotate_tokens(self, request: HttpRequest, queryset: Any) -> None:
        for worker in queryset:
            messages.warning(request, f"{worker.name}: new token (shown once): {services.rotate_worker_token(worker=worker)}")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "prefix", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    fields = ["user", "label", "prefix", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued with `python manage.py issue_api_token USERNAME`, which shows them once


class CredentialForm(forms.ModelForm):
    """Secrets are write-only here: the form never renders a stored value, only its last characters."""

    new_app_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False), label="New app key")
    new_secret_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False), label="New secret key")
    new_account_password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False), label="New account password")

    class Meta:
        model = BrokerCredential
        fields = ["account"]


@admin.register(BrokerCredential)
class BrokerCredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ["account", "app_key_hint", "secret_key_hint", "account_password_hint", "updated_at"]
    readonly_fields = ["app_key_hint", "secret_key_hint", "account_password_hint", "updated_at"]

    def save_model(self, request: HttpRequest, obj: BrokerCredential, form: Any, change: bool) -> None:
        data = form.cleaned_data
        services.set_credentials(
            account=data["account"],
            actor=request.user.get_username(),
            app_key=data.get("new_app_key", ""),
            secret_key=data.get("new_secret_key", ""),
            account_password=data.get("new_account_password", ""),
        )
        obj.pk = BrokerCredential.objects.get(account=data["account"]).pk


@admin.register(SecretAccess)
class SecretAccessAdmin(admin.ModelAdmin):
    list_display = ["created_at", "credential", "field", "actor", "purpose"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SecondFactorAdminSite(admin.AdminSite):
    """The admin site needs a session verified with TOTP; a signed-in admin without one is sent to verify (or enrol)."""

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and two_factor.session_verified(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        user: Any = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not two_factor.session_verified(request):
            target = request.GET.get("next") or reverse("admin:index")
            return redirect(f"{reverse('two-factor-verify')}?{urlencode({'next': target})}")
        return super().login(request, extra_context)


# The one admin site everything above registered on; its class decides who may enter.
admin.site.__class__ = SecondFactorAdminSite
