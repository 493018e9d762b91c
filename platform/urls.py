from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import views as account_views
from apps.marketdata import views as market_views
from apps.orders import api, health

api_patterns = [
    path("accounts", api.AccountList.as_view(), name="api-accounts"),
    path("orders", api.OrderList.as_view(), name="api-orders"),
    path("orders/<int:pk>", api.OrderDetail.as_view(), name="api-order"),
    path("positions", api.PositionList.as_view(), name="api-positions"),
    path("executions", api.ExecutionList.as_view(), name="api-executions"),
    path("symbols", api.SymbolList.as_view(), name="api-symbols"),
    path("bars", market_views.BarList.as_view(), name="api-bars"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the page needs no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.healthz, name="healthz"),
    path("account/2fa/setup", account_views.setup, name="two-factor-setup"),
    path("account/2fa/verify", account_views.verify, name="two-factor-verify"),
    path("", include("apps.marketdata.urls")),
    path("", include("apps.orders.dashboard_urls")),
    path("", include("apps.risk.urls")),
]
