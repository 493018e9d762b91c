"""Second-factor pages: enrol an authenticator app, and verify a session with a code."""

from __future__ import annotations

import base64

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.accounts import two_factor


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()) else "/"


@login_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    if two_factor.has_device(request.user):  # type: ignore[arg-type]
        return redirect(f"/account/2fa/verify?next={_next(request)}")
    device = two_factor.pending_device(request.user)  # type: ignore[arg-type]
    error, status = "", 200
    if request.method == "POST":
        if two_factor.confirm_enrolment(request, request.POST.get("token", "")):
            return redirect(_next(request))
        error, status = _("코드가 맞지 않습니다. 앱에 표시된 6자리 숫자를 다시 입력하세요."), 400
    context = {
        "qr": two_factor.provisioning_svg(device),
        "secret": base64.b32encode(device.bin_key).decode(),
        "config_url": device.config_url,
        "error": error,
        "next": _next(request),
    }
    return render(request, "registration/two_factor_setup.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if not two_factor.has_device(request.user):  # type: ignore[arg-type]
        return redirect(f"/account/2fa/setup?next={_next(request)}")
    error, status = "", 200
    if request.method == "POST":
        if two_factor.verify_session(request, request.POST.get("token", "")):
            return redirect(_next(request))
        error, status = _("코드가 맞지 않거나 이미 사용되었습니다."), 400
    return render(request, "registration/two_factor_verify.html", {"error": error, "next": _next(request)}, status=status)
