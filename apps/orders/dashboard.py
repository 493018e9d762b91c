"""The trader dashboard: thin views over the order service and the dashboard selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts import two_factor
from apps.marketdata import selectors as market
from apps.orders import services
from apps.orders.dashboard_selectors import account_for, snapshot
from apps.orders.models import Origin
from apps.risk import selectors as risk
from kiwoom_worker import market_rules


def _tick_tables() -> dict[str, object]:
    # The order ticket snaps prices with the same tables the server validates against.
    return {"stock": market_rules.STOCK_TICKS, "fund": market_rules.FUND_TICKS, "fund_kinds": sorted(market_rules.FUND_KINDS)}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    account = account_for(request.user, request.GET.get("account"))
    if request.GET.get("account") and account is None:
        raise Http404("account not found")
    context = {
        "snap": snapshot(request.user, account),
        "symbols": market.symbol_quotes(limit=500),
        "tick_tables": _tick_tables(),
        "watchlist": market.watchlist_quotes(request.user.pk),
        "banner": risk.banner_for(request.user),
        "may_stop": risk.may_press_emergency_stop(request.user),
        "needs_second_factor": account is not None and account.mode == "real" and not two_factor.session_verified(request),
    }
    return render(request, "dashboard/index.html", context)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@login_required
@require_POST
def place_order(request: HttpRequest) -> HttpResponse:
    form = request.POST
    account = account_for(request.user, form.get("account"))
    if account is None:
        raise Http404("account not found")
    quantity, price = _int(form.get("quantity")), _int(form.get("price"))
    side, order_type = form.get("side", ""), form.get("order_type", "")
    problems = []
    if quantity is None:
        problems.append(_("수량을 숫자로 입력하세요."))
    if side not in ("buy", "sell"):
        problems.append(_("매수/매도를 선택하세요."))
    if order_type not in ("limit", "market"):
        problems.append(_("주문 유형을 선택하세요."))
    if problems:
        return render(request, "dashboard/_ticket_result.html", {"problems": problems}, status=400)
    result = services.submit_order(
        user=request.user,
        account_id=account.pk,
        symbol=form.get("symbol", ""),
        side=side,
        quantity=quantity or 0,
        order_type=order_type,
        price=price if order_type == "limit" else None,
        client_order_id=form.get("client_order_id") or None,
        origin=Origin.MANUAL,
        second_factor=two_factor.session_verified(request),
    )
    return render(request, "dashboard/_ticket_result.html", {"order": result.order})


@login_required
@require_POST
def cancel_order(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        order = services.cancel_order(user=request.user, order_id=pk)
        message = _("취소를 요청했습니다.") if order.status == "PENDING_CANCEL" else _("취소되었습니다.")
    except services.OrderNotFound:
        raise Http404("order not found") from None
    except services.OrderNotCancelable as exc:
        message = str(exc)
    context = {"message": message}
    return render(request, "dashboard/_cancel_result.html", context)
