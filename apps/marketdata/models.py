from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Symbol(models.Model):
    """A KRX listing from the worker's symbol master; previous_close anchors the ±30% band."""

    class Kind(models.TextChoices):
        STOCK = "stock", _("주식")
        PREFERRED = "preferred", _("우선주")
        ETF = "etf", "ETF"
        ETN = "etn", "ETN"

    code = models.CharField(max_length=6, primary_key=True)
    name = models.CharField(max_length=100)
    market = models.CharField(max_length=8)  # KOSPI, KOSDAQ, KONEX
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STOCK)
    previous_close = models.PositiveBigIntegerField()
    kospi200 = models.BooleanField(default=False)
    # Two switches: admins' own (is_tradable) and the exchange's 거래정지 from the broker's master file,
    # refreshed on every symbol master, so a worker never overwrites what an admin decided.
    is_tradable = models.BooleanField(default=True)
    suspended = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "symbols"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LatestPrice(models.Model):
    """The latest price per symbol (the user's `real_time_prices` table); history belongs in bars."""

    symbol = models.OneToOneField(Symbol, on_delete=models.CASCADE, primary_key=True, db_column="stock_code", related_name="latest_price")
    current_price = models.PositiveBigIntegerField()
    change = models.BigIntegerField(default=0)
    change_rate = models.DecimalField(max_digits=7, decimal_places=2, default=0)
    volume = models.BigIntegerField(default=0)
    timestamp = models.DateTimeField()

    class Meta:
        db_table = "real_time_prices"


class PriceBar(models.Model):
    """One-minute OHLCV bars for charts and strategies, built from ticks."""

    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE, related_name="bars")
    start = models.DateTimeField()  # the minute the bar covers, [start, start + 1 min)
    open = models.PositiveBigIntegerField()
    high = models.PositiveBigIntegerField()
    low = models.PositiveBigIntegerField()
    close = models.PositiveBigIntegerField()
    volume = models.BigIntegerField(default=0)

    class Meta:
        db_table = "price_bars"
        ordering = ["symbol", "start"]
        constraints = [models.UniqueConstraint(fields=["symbol", "start"], name="uniq_bar_minute")]


class Watch(models.Model):
    """A symbol on a user's watchlist; it keeps the symbol subscribed while it is there."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="watchlist")
    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE, related_name="watchers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "watchlist"
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "symbol"], name="uniq_watch")]


class Subscription(models.Model):
    """One reference-counted real-time subscription per symbol and mode; the worker registers what has refs."""

    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE, related_name="subscriptions")
    mode = models.CharField(max_length=8)
    refs = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "market_subscriptions"
        constraints = [models.UniqueConstraint(fields=["symbol", "mode"], name="uniq_subscription")]
