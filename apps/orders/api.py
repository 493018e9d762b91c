"""The REST API: parse, call a service or selector, answer. Money is integer KRW."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from apps.accounts import two_factor
from apps.accounts.models import BrokerAccount
from apps.marketdata import selectors as market_selectors
from apps.orders import selectors, services
from apps.orders.models import Execution, Order, OrderStatus, OrderType, Origin, Position, Side
from apps.risk.pretrade import DenyCode


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": getattr(exc, "default_code", "error"), "detail": response.data["detail"]}
    return response


class AccountSerializer(serializers.ModelSerializer):
    account_number = serializers.CharField(source="masked_number", read_only=True)

    class Meta:
        model = BrokerAccount
        fields = ["id", "mode", "label", "account_number", "cash", "orderable_cash", "d2_cash", "balance_reported_at"]


class OrderSerializer(serializers.ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(read_only=True)
    average_fill_price = serializers.FloatField(read_only=True, allow_null=True)
    remaining_quantity = serializers.IntegerField(read_only=True)
    original_order = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Order
        fields = [
            "id", "client_order_id", "account", "mode", "symbol", "side", "quantity", "order_type", "hoga_code", "price",
            "status", "filled_quantity", "remaining_quantity", "canceled_quantity", "average_fill_price", "fees", "taxes",
            "broker_order_no", "original_order", "reason_code", "reason_message", "origin",
            "created_at", "updated_at", "submitted_at", "accepted_at", "done_at",
        ]  # fmt: skip


class OrderCreateSerializer(serializers.Serializer):
    account = serializers.IntegerField(min_value=1)
    symbol = serializers.CharField(max_length=12, help_text="KRX code, ^[0-9A-Z]{6}$ (e.g. 005930, 0126Z0)")
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
    order_type = serializers.ChoiceField(choices=OrderType.choices)
    price = serializers.IntegerField(min_value=1, required=False, allow_null=True, help_text="KRW, on the tick grid; limit orders only")
    client_order_id = serializers.CharField(max_length=64, required=False, allow_blank=False, help_text="Idempotency key: a repeat returns the same order")


class PositionSerializer(serializers.ModelSerializer):
    average_price = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Position
        fields = ["id", "account", "symbol", "quantity", "average_price", "cost_basis", "realized_pnl", "broker_quantity", "broker_reported_at", "updated_at"]


class ExecutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Execution
        fields = ["id", "order", "account", "trade_date", "broker_order_no", "fill_no", "symbol", "side", "price", "quantity", "fee", "tax", "executed_at"]


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise serializers.ValidationError({name: "must be an integer"}) from None


class AccountList(APIView):
    @extend_schema(responses=AccountSerializer(many=True), summary="The caller's broker accounts")
    def get(self, request: Request) -> Response:
        return Response(AccountSerializer(selectors.accounts_of(request.user), many=True).data)


class OrderList(APIView):
    @extend_schema(responses=OrderSerializer(many=True), summary="The caller's orders, newest first")
    def get(self, request: Request) -> Response:
        status_filter = request.query_params.get("status")
        if status_filter and status_filter not in OrderStatus.values:
            raise serializers.ValidationError({"status": f"must be one of {', '.join(OrderStatus.values)}"})
        qs = selectors.orders_of(request.user, account_id=_int_param(request, "account"), status=status_filter)[:500]
        return Response(OrderSerializer(qs, many=True).data)

    @extend_schema(
        request=OrderCreateSerializer,
        responses={
            201: OrderSerializer,
            200: OpenApiResponse(OrderSerializer, description="Same client_order_id as an earlier order: that order"),
            403: OpenApiResponse(OrderSerializer, description="Stored as DENIED: no permission for this mode, or a real order without a second factor"),
            404: OpenApiResponse(description="No such account for the caller"),
            422: OpenApiResponse(OrderSerializer, description="Stored as DENIED by a pre-trade check; see reason_code"),
        },
        summary="Place an order",
    )
    def post(self, request: Request) -> Response:
        form = OrderCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            result = services.submit_order(
                user=request.user,
                account_id=data["account"],
                symbol=data["symbol"],
                side=data["side"],
                quantity=data["quantity"],
                order_type=data["order_type"],
                price=data.get("price"),
                client_order_id=data.get("client_order_id"),
                origin=Origin.API,
                second_factor=two_factor.session_verified(request),
            )
        except services.OrderNotFound as exc:
            raise Http404(str(exc)) from None
        order = result.order
        if not result.created:
            code = status.HTTP_200_OK
        elif order.status == OrderStatus.DENIED:
            forbidden = order.reason_code in (DenyCode.PERMISSION_DENIED, DenyCode.SECOND_FACTOR_REQUIRED)
            code = status.HTTP_403_FORBIDDEN if forbidden else status.HTTP_422_UNPROCESSABLE_ENTITY
        else:
            code = status.HTTP_201_CREATED
        return Response(OrderSerializer(order).data, status=code)


class OrderDetail(APIView):
    @extend_schema(responses={200: OrderSerializer, 404: OpenApiResponse(description="Not found for the caller")}, summary="One order")
    def get(self, request: Request, pk: int) -> Response:
        order = selectors.order_of(request.user, pk)
        if order is None:
            raise Http404("order not found")
        return Response(OrderSerializer(order).data)

    @extend_schema(
        responses={
            202: OrderSerializer,
            404: OpenApiResponse(description="Not found for the caller"),
            409: OpenApiResponse(description="The order is no longer cancelable"),
        },
        summary="Cancel an order",
    )
    def delete(self, request: Request, pk: int) -> Response:
        try:
            order = services.cancel_order(user=request.user, order_id=pk)
        except services.OrderNotFound:
            raise Http404("order not found") from None
        except services.OrderNotCancelable as exc:
            return Response({"error": "not_cancelable", "detail": str(exc), "status": exc.order.status}, status=status.HTTP_409_CONFLICT)
        return Response(OrderSerializer(order).data, status=status.HTTP_202_ACCEPTED)


class PositionList(APIView):
    @extend_schema(responses=PositionSerializer(many=True), summary="The caller's open positions")
    def get(self, request: Request) -> Response:
        return Response(PositionSerializer(selectors.positions_of(request.user, account_id=_int_param(request, "account")), many=True).data)


class ExecutionList(APIView):
    @extend_schema(responses=ExecutionSerializer(many=True), summary="The caller's fills, newest first")
    def get(self, request: Request) -> Response:
        qs = selectors.executions_of(request.user, account_id=_int_param(request, "account"))[:500]
        return Response(ExecutionSerializer(qs, many=True).data)


class SymbolSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    market = serializers.CharField()
    kind = serializers.CharField()
    previous_close = serializers.IntegerField()
    lower_limit = serializers.IntegerField()
    upper_limit = serializers.IntegerField()
    last_price = serializers.IntegerField(allow_null=True)


class SymbolList(APIView):
    @extend_schema(responses=SymbolSerializer(many=True), summary="Tradable KRX symbols with today's price band (search by code or name with ?q=)")
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        rows = market_selectors.symbol_quotes(query=query, limit=50)
        return Response(SymbolSerializer(rows, many=True).data)
