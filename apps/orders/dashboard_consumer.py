"""The dashboard's one WebSocket: a full snapshot on (re)connect, then re-rendered panels as orders change.

Bursts are coalesced: many order events within a short window cause one render, so a busy account
cannot queue up a render per fill. Quotes arrive pre-rendered per symbol; only the newest one per
symbol waits to be sent, so a slow client gets newer prices instead of a growing queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from apps.marketdata import fanout, hub
from apps.marketdata import selectors as market
from apps.marketdata.models import Watch
from apps.orders.dashboard_selectors import account_for, snapshot
from apps.orders.models import Position
from apps.orders.notify import ALL_DASHBOARDS, user_group
from apps.risk.views import render_banner

log = logging.getLogger(__name__)
COALESCE_S = 0.1
# Frames a dashboard may have unacknowledged (static/js/app.js acks every few) before quotes and panel
# renders wait for it. Twisted buffers whatever is written to a socket without limit, and a proxy in
# front would hide a full socket anyway, so only the client's own count bounds what waits for it.
ACK_WINDOW = 32


# Dashboard reads run on the thread pool (thread_sensitive=False), not Daphne's one shared sync thread,
# so two hundred dashboards reconnecting at once cannot hold up order events on the worker link.
def _render_panels(user: Any, account_id: str | None) -> str | None:
    account = account_for(user, account_id)
    if account is None:
        return None
    panels = render_to_string("dashboard/_panels.html", {"snap": snapshot(user, account), "oob": True})
    return panels + _render_watchlist(user)


def _render_watchlist(user: Any) -> str:
    return render_to_string("marketdata/_watchlist.html", {"watchlist": market.watchlist_quotes(user.pk), "oob": True})


def _shown_symbols(user: Any, account_id: str | None) -> set[str]:
    account = account_for(user, account_id)
    positions = set(Position.objects.filter(account=account).exclude(quantity=0).values_list("symbol", flat=True)) if account else set()
    shown = positions | set(Watch.objects.filter(user=user).values_list("symbol_id", flat=True))
    fanout.learn_names(shown)  # the quote hub renders rows without a query
    return shown


class DashboardConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake is refused
            return
        self.user = user
        self.account_id = (parse_qs(self.scope.get("query_string", b"").decode()).get("account") or [None])[0]
        self.group = user_group(user.pk)
        self._pending: asyncio.Task[None] | None = None
        self._init_quotes()
        self._symbols: set[str] = set()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(ALL_DASHBOARDS, self.channel_name)
        await self.accept()
        await self._follow_symbols()
        await self._push()

    def _init_quotes(self) -> None:
        self._quotes: dict[str, str] = {}
        self._last_sent: dict[str, float] = {}
        self._quote_arrived = asyncio.Event()
        self._quote_sender: asyncio.Task[None] | None = None
        self._frames_sent = 0
        self._frames_seen = 0
        self._acked = asyncio.Event()
        self._push_waiting = False

    def _window_full(self) -> bool:
        return self._frames_sent - self._frames_seen >= ACK_WINDOW

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        if text_data is not None or bytes_data is not None:
            self._frames_sent += 1
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(ALL_DASHBOARDS, self.channel_name)
            hub.unfollow(self._symbols, self._on_quote)
        for task in (getattr(self, "_pending", None), getattr(self, "_quote_sender", None)):
            if task is not None:
                task.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The one message a dashboard sends: {"seen": N}, the frames it has applied on this socket.

        Orders never come this way; they go through the HTTP views, which check CSRF.
        """
        try:
            seen = json.loads(text_data or "")["seen"]
        except (ValueError, TypeError, KeyError):
            seen = None
        if not isinstance(seen, int) or isinstance(seen, bool) or not 0 <= seen <= self._frames_sent:
            log.info("dashboard socket of user %s sent something other than a frame count; ignored", self.user.pk)
            return
        self._frames_seen = max(self._frames_seen, seen)
        if not self._window_full():
            self._acked.set()
            if self._push_waiting:
                self._push_waiting = False
                self._schedule()

    async def dash_order(self, _message: dict[str, Any]) -> None:
        self._schedule()

    async def dash_account(self, _message: dict[str, Any]) -> None:
        await self._follow_symbols()  # a fill may have opened or closed a position
        self._schedule()

    async def dash_watchlist(self, _message: dict[str, Any]) -> None:
        await self._follow_symbols()
        await self.send(text_data=await database_sync_to_async(_render_watchlist, thread_sensitive=False)(self.user))

    async def dash_risk(self, _message: dict[str, Any]) -> None:
        """A trading state, an emergency stop's step or an alert changed: re-render this user's banner."""
        html = await database_sync_to_async(render_banner, thread_sensitive=False)(self.user, oob=True)
        await self.send(text_data=html)

    def _on_quote(self, code: str, html: str) -> None:
        """Called by this process's quote hub; keeps only the newest row per symbol until it is sent."""
        self._quotes[code] = html
        self._quote_arrived.set()
        if self._quote_sender is None or self._quote_sender.done():
            self._quote_sender = asyncio.create_task(self._send_quotes())

    async def _send_quotes(self) -> None:
        """Send each symbol's newest quote as soon as its slot allows: at most N a second per symbol.

        A quote that must wait is replaced by newer ones meanwhile, so what is sent is always the newest
        value, and a slow socket holds back one fragment per symbol, never a queue. A quote that is due
        goes out at once even while another symbol waits for its slot.
        """
        # The worker link already spaces each symbol's quotes by 1/N s; this only guards against two links
        # publishing the same symbol, so Redis jitter of a few milliseconds does not hold a quote back.
        interval = 0.8 / max(settings.QUOTE_UPDATES_PER_S, 1)
        while True:
            await asyncio.sleep(0)  # let quotes from the same delivery arrive, then send them in one frame
            while self._window_full():
                self._acked.clear()
                await self._acked.wait()  # newer quotes replace the held ones meanwhile
            self._quote_arrived.clear()
            now = time.monotonic()
            due = [code for code in self._quotes if now - self._last_sent.get(code, 0.0) >= interval]
            if due:
                html = "".join(self._quotes.pop(code) for code in due)
                for code in due:
                    self._last_sent[code] = now
                await self.send(text_data=html)
            if not self._quotes:
                return
            wait = min(self._last_sent[code] + interval for code in self._quotes) - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quote_arrived.wait(), max(wait, 0.001))

    async def _follow_symbols(self) -> None:
        wanted = await database_sync_to_async(_shown_symbols, thread_sensitive=False)(self.user, self.account_id)
        hub.follow(wanted - self._symbols, self._on_quote)
        hub.unfollow(self._symbols - wanted, self._on_quote)
        self._symbols = wanted

    def _schedule(self) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._push_later())

    async def _push_later(self) -> None:
        await asyncio.sleep(COALESCE_S)
        with contextlib.suppress(Exception):
            await self._push()

    async def _push(self) -> None:
        if self._window_full():
            self._push_waiting = True  # rendered when the client catches up: then it gets the newest state
            return
        html = await database_sync_to_async(_render_panels, thread_sensitive=False)(self.user, self.account_id)
        if html is None:
            await self.close(code=4404)
            return
        await self.send(text_data=html)
