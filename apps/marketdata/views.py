"""Watchlist (HTMX) and bar history (REST): parse, call the service or selector, answer."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.marketdata import selectors, subscriptions
from apps.orders.notify import user_group_send
from kiwoom_worker.protocol import SYMBOL_RE


def _watchlist(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "marketdata/_watchlist.html", {"watchlist": selectors.watchlist_quotes(request.user.pk), "watch_error": error}, status=status)


@login_required
@require_POST
def watchlist_add(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("symbol", "").strip().upper()
    try:
        subscriptions.watch(user=request.user, symbol=code)
    except subscriptions.UnknownSymbol:
        return _watchlist(request, error=f"{code}: 종목을 찾을 수 없습니다.", status=422)
    user_group_send(request.user.pk, {"type": "dash.watchlist"})
    return _watchlist(request)


@login_required
@require_POST
def watchlist_remove(request: HttpRequest) -> HttpResponse:
    subscriptions.unwatch(user=request.user, symbol=request.POST.get("symbol", "").strip().upper())
    user_group_send(request.user.pk, {"type": "dash.watchlist"})
    return _watchlist(request)


class BarSerializer(serializers.Serializer):
    t = serializers.DateTimeField()
    o = serializers.IntegerField()
    h = serializers.IntegerField()
    l = serializers.IntegerField()  # noqa: E741 - OHLC's customary short names
    c = serializers.IntegerField()
    v = serializers.IntegerField()


def _moment(value: str | None, name: str, default: dt.datetime) -> dt.datetime:
    if not value:
        return default
    moment = parse_datetime(value)
    if moment is None or timezone.is_naive(moment):
        raise serializers.ValidationError({name: "must be ISO 8601 with an offset, e.g. 2026-11-23T09:00:00+09:00"})
    return moment


class BarList(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("symbol", str, required=True),
            OpenApiParameter("interval", str, enum=["1m"]),
            OpenApiParameter("from", str, description="ISO 8601 with offset; default 24 h ago"),
            OpenApiParameter("to", str, description="ISO 8601 with offset; default now"),
        ],
        responses=BarSerializer(many=True),
        summary="One-minute OHLCV bars",
    )
    def get(self, request: Request) -> Response:
        symbol = request.query_params.get("symbol", "").upper()
        if not SYMBOL_RE.match(symbol):
            raise serializers.ValidationError({"symbol": "a KRX code, ^[0-9A-Z]{6}$"})
        if request.query_params.get("interval", "1m") != "1m":
            raise serializers.ValidationError({"interval": "only 1m bars are kept"})
        now = timezone.now()
        end = _moment(request.query_params.get("to"), "to", now)
        start = _moment(request.query_params.get("from"), "from", end - dt.timedelta(days=1))
        if start >= end:
            raise serializers.ValidationError({"from": "must be before 'to'"})
        return Response(BarSerializer(selectors.bars(symbol=symbol, start=start, end=end), many=True).data)
