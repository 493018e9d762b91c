"""The worker link: one WebSocket per worker at /ws/worker/ (docs/protocol.md).

Thin on purpose: authenticate, parse a frame, call a service, answer. Frames of one connection are
handled one at a time, so events are applied in sequence order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import close_old_connections

from apps.accounts import services as accounts
from apps.marketdata import fanout, hub, ingest, subscriptions
from apps.orders import broker_sync, embedded_beat
from apps.orders import services as orders
from kiwoom_worker import protocol

log = logging.getLogger(__name__)
HEARTBEAT_S = 5
PRICE_FLUSH_S = 0.25


def _bearer(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() in ("token", "bearer") else ""
    return ""


class WorkerConsumer(AsyncWebsocketConsumer):
    worker_id: int | None = None
    worker_name = ""
    mode = ""
    stream_id = ""
    greeted = False

    async def connect(self) -> None:
        worker = await database_sync_to_async(accounts.authenticate_worker)(_bearer(self.scope))
        if worker is None:
            log.warning("worker connection refused: missing, wrong or revoked token")
            await self.close()  # before accept: the handshake is answered with 403
            return
        self.worker_id, self.worker_name, self.mode = worker.pk, worker.name, worker.mode
        self.malformed = 0
        self.ingest = ingest.TickIngest()
        self.last_heartbeat_write = 0.0
        self.fanout_timer: asyncio.TimerHandle | None = None
        self.fanout_tasks: set[asyncio.Task[None]] = set()
        await self.accept()
        self.flusher = asyncio.create_task(self._flush_loop())
        embedded_beat.ensure_started()

    async def disconnect(self, code: int) -> None:
        if self.worker_id is not None:
            self.flusher.cancel()
            if self.fanout_timer is not None:
                self.fanout_timer.cancel()
            await database_sync_to_async(accounts.register_disconnect)(worker_id=self.worker_id, channel_name=self.channel_name)
            await self._flush_prices()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"")
        try:
            frame = protocol.decode(raw, allowed=protocol.WORKER_FRAMES, max_bytes=settings.WORKER_MAX_FRAME_BYTES)
        except protocol.ProtocolError as exc:
            self.malformed += 1
            await self._send(protocol.error(exc.code, exc.message, **exc.extra))
            return
        if frame.type == protocol.HELLO:
            await self._hello(frame)
        elif frame.type == protocol.LOGIN_FAILED:
            await self._login_failed(frame)
        elif not self.greeted:
            await self._send(protocol.error(protocol.E_HELLO_FIRST, "send hello before anything else", ref=frame.id))
        elif frame.type == protocol.EVENT:
            await self._event(frame)
        elif frame.type == protocol.TICKS:
            await self._ticks(frame)
        elif frame.type == protocol.HEARTBEAT:
            await self._heartbeat()

    async def _hello(self, frame: protocol.Parsed) -> None:
        hello = frame.body
        if hello["server"] != self.mode:
            # The one rule that keeps a paper order off the real server and the reverse.
            log.error("worker %s logged in to the %s server but its token is for %s; closing", self.worker_name, hello["server"], self.mode)
            await database_sync_to_async(accounts.record_wrong_server)(worker_id=self.worker_id, reported_server=hello["server"], mode=self.mode)
            await self._send(
                protocol.error(protocol.E_MODE_MISMATCH, f"token is for the {self.mode} server; the worker reported {hello['server']}", ref=frame.id)
            )
            await self.close(code=protocol.CLOSE_MODE_MISMATCH)
            return
        result = await database_sync_to_async(accounts.register_hello)(worker_id=self.worker_id, channel_name=self.channel_name, hello=hello)
        if result.replaced_channel:
            await self.channel_layer.send(result.replaced_channel, {"type": "worker.replaced"})
        self.stream_id, self.greeted = hello["stream_id"], True
        await self._send(protocol.welcome(worker=self.worker_name, mode=self.mode, accounts=result.accounts, last_seq=result.last_seq, heartbeat_s=HEARTBEAT_S))
        if result.ignored_accounts:
            await self._send(
                protocol.error(protocol.E_ACCOUNT_SCOPE, f"accounts outside this token's scope are ignored: {', '.join(result.ignored_accounts)}", ref=frame.id)
            )
        await database_sync_to_async(orders.resend_unanswered)(result.worker)
        await database_sync_to_async(subscriptions.resubscribe)(result.worker)

    async def _login_failed(self, frame: protocol.Parsed) -> None:
        problem = await database_sync_to_async(accounts.record_failed_login)(worker_id=self.worker_id, report=frame.body)
        log.error("worker %s: %s", self.worker_name, problem)
        await self.close(code=1000)

    async def _event(self, frame: protocol.Parsed) -> None:
        body = frame.body
        try:
            outcome = await database_sync_to_async(broker_sync.apply_worker_event)(
                worker_id=self.worker_id, stream_id=self.stream_id, seq=body["seq"], name=body["event"], data=body["data"], at=body["at"]
            )
        except Exception:
            # Nothing was committed (one transaction); the worker replays this event after reconnecting.
            log.exception("applying event seq %s from %s failed; closing so the worker replays it", body["seq"], self.worker_name)
            await self.close(code=1011)
            return
        if outcome.status == "gap":
            await self._send(protocol.error(protocol.E_SEQ_GAP, f"expected seq {outcome.expected}, got {body['seq']}", ref=frame.id, expected=outcome.expected))
            return
        if outcome.status == "rejected":
            await self._send(protocol.error(protocol.E_REJECTED, outcome.reason, ref=frame.id, seq=body["seq"]))
        await self._send(protocol.ack(body["seq"]))

    async def _ticks(self, frame: protocol.Parsed) -> None:
        for row in frame.body["ticks"]:
            try:
                self.ingest.add(protocol.parse_tick(row))
            except protocol.ProtocolError as exc:
                ingest.STATS["dropped_malformed"] += 1
                log.warning("malformed tick dropped from %s: %s", self.worker_name, exc.message)
        await self._fan_out()

    async def _flush_loop(self) -> None:
        # Dashboards get quotes as ticks arrive and as held-back slots open (_fan_out); the database every PRICE_FLUSH_S.
        while True:
            await asyncio.sleep(PRICE_FLUSH_S)
            try:
                await self._flush_prices()
            except Exception:
                log.exception("price flush failed; the next one carries newer values")

    async def _fan_out(self) -> None:
        loop = asyncio.get_running_loop()
        fresh, next_slot = self.ingest.take_due(loop.time(), 1 / max(settings.QUOTE_UPDATES_PER_S, 1))
        if next_slot is not None and (self.fanout_timer is None or self.fanout_timer.when() > next_slot):
            if self.fanout_timer is not None:
                self.fanout_timer.cancel()
            self.fanout_timer = loop.call_at(next_slot, self._slot_opened)
        if fresh:
            # One message to every Daphne process's quote hub, which renders and serves its own dashboards.
            await hub.publish(fanout.quotes_of(fresh))

    def _slot_opened(self) -> None:
        self.fanout_timer = None
        task = asyncio.create_task(self._fan_out())
        self.fanout_tasks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._fan_out_done)

    def _fan_out_done(self, task: asyncio.Task[None]) -> None:
        self.fanout_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("quote fan-out failed; the next ticks carry newer values", exc_info=task.exception())

    async def _flush_prices(self) -> None:
        latest, bars = self.ingest.take()
        if latest or bars:
            # Off the shared sync thread, so a bulk write never delays order events on this link.
            await database_sync_to_async(ingest.flush, thread_sensitive=False)(latest, bars)

    async def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_heartbeat_write >= HEARTBEAT_S:
            self.last_heartbeat_write = now
            still_valid = await database_sync_to_async(_heartbeat_and_check)(self.worker_id, self.channel_name)
            if not still_valid:
                await self.close(code=protocol.CLOSE_REVOKED)

    # Messages from the channel layer.
    async def worker_command(self, message: dict[str, Any]) -> None:
        await self._send(message["frame"])

    async def worker_replaced(self, _message: dict[str, Any]) -> None:
        await self.close(code=protocol.CLOSE_REPLACED)

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=protocol.encode(frame))


def _heartbeat_and_check(worker_id: int, channel_name: str) -> bool:
    close_old_connections()
    accounts.record_heartbeat(worker_id=worker_id, channel_name=channel_name)
    return accounts.authenticate_worker_id(worker_id)
