"""The dashboard's risk pieces: the trading-state banner, the 긴급 정지 button and a stop's live progress.

Thin: parse, call a service or a selector, render a partial. Include `risk/_state_banner.html` and
`risk/_emergency_button.html` in a page; the dashboard socket re-renders the banner on every change.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.accounts import two_factor
from apps.accounts.models import BrokerAccount, User
from apps.risk import emergency, selectors, states
from apps.risk.models import EmergencyStop
from apps.risk.states import NotAllowed, Scope


def render_banner(user: User, *, oob: bool = False) -> str:
    """The banner as HTML, for the dashboard socket to push (an out-of-band swap) when anything risk-related changes."""
    return render_to_string("risk/_state_banner.html", {"banner": selectors.banner_for(user), "oob": oob})


@login_required
@require_GET
def banner(request: HttpRequest) -> HttpResponse:
    return HttpResponse(render_banner(request.user))


def _scope_from(request: HttpRequest) -> Scope | None:
    """The scope asked for: traders stop their own (or one own account); admins may name any scope."""
    form = request.POST
    kind = form.get("scope", "mine")
    if kind == "mine":
        return Scope.of_user(request.user.pk)
    if kind == "account":
        account = BrokerAccount.objects.filter(pk=form.get("account") or 0).first() if str(form.get("account", "")).isdigit() else None
        if account is None or (account.owner_id != request.user.pk and not states.is_admin(request.user)):
            return None  # another user's account is simply not found
        return Scope.of_account(account.pk)
    if not states.is_admin(request.user):
        return None
    if kind == "user":
        target = User.objects.filter(username=form.get("username", "")).first()
        return Scope.of_user(target.pk) if target else None
    if kind == "all":
        return Scope.everything()
    return None


def _own(request: HttpRequest, scope: Scope) -> bool:
    """A trader stopping their own trading needs no second factor: stopping must never be harder than trading."""
    if scope.kind == "user":
        return scope.user_id == request.user.pk
    return scope.kind == "account" and BrokerAccount.objects.filter(pk=scope.account_id, owner=request.user).exists()


@login_required
@require_POST
def emergency_stop(request: HttpRequest) -> HttpResponse:
    reason = request.POST.get("reason", "").strip()
    scope = _scope_from(request)
    if scope is None:
        raise Http404("scope not found")
    if not reason:
        return render(request, "risk/_emergency_result.html", {"error": _("긴급 정지 사유를 입력하세요.")}, status=400)
    if not _own(request, scope) and not two_factor.session_verified(request):
        error = _("다른 사용자나 전체를 정지하려면 먼저 2단계 인증을 하세요.")
        return render(request, "risk/_emergency_result.html", {"error": error}, status=403)
    trigger = EmergencyStop.Trigger.ADMIN if states.is_admin(request.user) else EmergencyStop.Trigger.TRADER
    try:
        run = emergency.trigger_stop(scope=scope, reason=reason, trigger=trigger, requested_by=request.user)
    except NotAllowed as exc:
        return render(request, "risk/_emergency_result.html", {"error": str(exc)}, status=403)
    return render(request, "risk/_emergency_result.html", selectors.run_progress(run))


@login_required
@require_GET
def emergency_stop_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.visible_runs(request.user).filter(pk=pk).first()
    if run is None:
        raise Http404("emergency stop not found")
    return render(request, "risk/_emergency_run.html", selectors.run_progress(run))
