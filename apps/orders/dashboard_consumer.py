"""The dashboard's one WebSocket: a full snapshot on (re)connect, then re-rendered panels as orders change.

Bursts are coalesced: many order events within a short window cause one render, so a busy account
cannot queue up a render per fill.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from apps.orders.dashboard_selectors import account_for, snapshot
from apps.orders.notify import user_group

COALESCE_S = 0.1


def _render_panels(user: Any, account_id: str | None) -> str | None:
    account = account_for(user, account_id)
    if account is None:
        return None
    return render_to_string("dashboard/_panels.html", {"snap": snapshot(user, account), "oob": True})


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
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._push()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if getattr(self, "_pending", None):
            self._pending.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The socket only pushes; orders go through the HTTP views, which check CSRF.
        return

    async def dash_order(self, _message: dict[str, Any]) -> None:
        self._schedule()

    async def dash_account(self, _message: dict[str, Any]) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._push_later())

    async def _push_later(self) -> None:
        await asyncio.sleep(COALESCE_S)
        with contextlib.suppress(Exception):
            await self._push()

    async def _push(self) -> None:
        html = await database_sync_to_async(_render_panels)(self.user, self.account_id)
        if html is None:
            await self.close(code=4404)
            return
        await self.send(text_data=html)
