from __future__ import annotations

from django.urls import path

from apps.marketdata import views

urlpatterns = [
    path("dashboard/watchlist", views.watchlist_add, name="watchlist-add"),
    path("dashboard/watchlist/remove", views.watchlist_remove, name="watchlist-remove"),
]
