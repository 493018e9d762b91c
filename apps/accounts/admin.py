from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from apps.accounts import services, two_factor
from apps.accounts.models import ApiToken, BrokerAccount, BrokerCredential, PermissionChange, SecretAccess, TradingPermission, User, Worker


class TradingPermissionInline(admin.StackedInline):
    model = TradingPermission
    fk_name = "user"
    fields = ["level", "can_paper_trade", "can_real_trade", "changed_by", "changed_at", "reason"]
    readonly_fields = ["can_paper_trade", "can_real_trade", "changed_by", "changed_at", "level", "reason"]
    can_delete = False


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ["username", "email", "permission_level", "is_active", "last_login"]
    inlines = [TradingPermissionInline]

    @admin.display(description="permission level")
    def permission_level(self, obj: User) -> str:
        return obj.permission_level


@admin.register(TradingPermission)
class TradingPermissionAdmin(admin.ModelAdmin):
    list_display = ["user", "level", "can_paper_trade", "can_real_trade", "changed_by", "changed_at"]
    list_filter = ["level"]
    fields = ["user", "level", "reason", "can_paper_trade", "can_real_trade", "changed_by", "changed_at"]
    readonly_fields = ["can_paper_trade", "can_real_trade", "changed_by", "changed_at"]

    def save_model(self, request: HttpRequest, obj: TradingPermission, form: Any, change: bool) -> None:
        # Through the service, so the audit row is written and the booleans follow the level.
        services.set_permission_level(user=obj.user, level=obj.level, changed_by=request.user, reason=obj.reason or "changed in admin")  # type: ignore[arg-type]


@admin.register(PermissionChange)
class PermissionChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "old_level", "new_level", "changed_by", "reason"]
    list_filter = ["new_level"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BrokerAccount)
class BrokerAccountAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "mode", "masked_number", "label", "cash", "orderable_cash", "balance_reported_at"]
    list_filter = ["mode"]
    readonly_fields = ["cash", "orderable_cash", "d2_cash", "balance_reported_at"]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["name", "mode", "reported_server", "is_connected", "last_hello_at", "last_heartbeat_at", "revoked_at"]
    list_filter = ["mode"]
    fields = ["name", "mode", "accounts", "token_prefix", "revoked_at", "reported_server", "last_hello", "last_hello_at", "last_heartbeat_at", "connected_at"]
    readonly_fields = ["token_prefix", "revoked_at", "reported_server", "last_hello", "last_hello_at", "last_heartbeat_at", "connected_at"]
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
