from __future__ import annotations

from django.contrib import admin

from apps.marketdata.models import LatestPrice, Symbol


@admin.register(Symbol)
class SymbolAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "market", "kind", "previous_close", "kospi200", "is_tradable", "suspended"]
    list_filter = ["market", "kind", "is_tradable", "suspended"]
    search_fields = ["code", "name"]
    readonly_fields = ["suspended"]  # the broker's master file sets it; admins use is_tradable


@admin.register(LatestPrice)
class LatestPriceAdmin(admin.ModelAdmin):
    list_display = ["symbol", "current_price", "change", "change_rate", "volume", "timestamp"]
