"""The worker's side of the link (docs/protocol.md): hello, replay, acks, commands, ticks, heartbeats.

One WebSocket at a time; on any disconnect it reconnects with backoff and replays what the server
has not acknowledged. Fatal answers (token refused, wrong server) end the process with a distinct code.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections import deque
from typing import Any
from zoneinfo import ZoneInfo

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from kiwoom_worker import __version__, protocol
from kiwoom_worker.backend import Backend, CommandError, LoginError, LoginResult
from kiwoom_worker.outbox import DONE, NEW, Outbox

log = logging.getLogger("kiwoom_worker.link")
KST = ZoneInfo("Asia/Seoul")

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_TOKEN_REFUSED = 3
EXIT_MODE_MISMATCH = 4
EXIT_LOGIN_FAILED = 5
# Kiwoom's module wants a version update (or login never answered): restart the process after the update.
EXIT_VERSION_UPDATE = 6
# Another process connected with this token and the server moved the route to it: two workers must
# never carry the same accounts, so the older one ends and its supervisor leaves it ended.
EXIT_REPLACED = 7

TICK_FLUSH_S = 0.05
TICK_BATCH = 500
WELCOME_TIMEOUT_S = 15
REPORT_TIMEOUT_S = 10
BACKOFF_CAP_S = 10.0
ORDER_COMMANDS = {
    protocol.PLACE_ORDER: protocol.ORDER_REJECTED,
    protocol.MODIFY_ORDER: protocol.ORDER_REJECTED,
    protocol.CANCEL_ORDER: protocol.CANCEL_REJECTED,
}


class Fatal(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def now_iso() -> str:
    return dt.datetime.now(KST).isoformat(timespec="milliseconds")


class Link:
    """Implements EventSink for the backend and drives the WebSocket."""

    def __init__(self, *, url: str, token: str, backend: Backend, outbox: Outbox) -> None:
        self.url, self.token, self.backend, self.outbox = url, token, backend, outbox
        self.login: LoginResult | None = None
        self.accounts: list[str] = []
        self.stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._ticks: deque[protocol.Tick] = deque(maxlen=50_000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sent_upto = 0
        self.connections = 0
        self._fatal: Fatal | None = None

    # EventSink -------------------------------------------------------------------------------
    def emit(self, name: str, data: dict[str, Any]) -> None:
        self.outbox.append(name, data, now_iso())
        self._poke()

    def emit_ticks(self, ticks: list[protocol.Tick]) -> None:
        # A bounded deque: if the server is away, old ticks fall off and the newest survive.
        self._ticks.extend(ticks)

    def fail(self, message: str, exit_code: int) -> None:
        self._fatal = Fatal(message, exit_code)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.stopping.set)

    def _poke(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # Lifecycle -------------------------------------------------------------------------------
    async def run(self) -> int:
        self._loop = asyncio.get_running_loop()
        try:
            self.login = await self.backend.start(self)
        except LoginError as exc:
            log.error("login failed: %s", exc)
            exit_code = exc.exit_code or EXIT_LOGIN_FAILED
            await self._report_login_failure(exc, exit_code)
            return exit_code
        attempt = 0
        try:
            while not self.stopping.is_set():
                try:
                    async with self._connect(open_timeout=10) as ws:
                        attempt = 0
                        self.connections += 1
                        await self._session(ws)
                except InvalidStatus as exc:
                    if exc.response.status_code in (401, 403):
                        raise Fatal("the server refused the worker token (wrong, revoked or missing)", EXIT_TOKEN_REFUSED) from None
                    log.warning("handshake answered HTTP %s; retrying", exc.response.status_code)
                except (OSError, ConnectionClosed, TimeoutError) as exc:
                    log.warning("link down: %s", exc)
                if self.stopping.is_set():
                    break
                attempt += 1
                delay = min(BACKOFF_CAP_S, 0.25 * 2**attempt) * random.uniform(0.5, 1.0)  # full jitter keeps restarts apart
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
        except Fatal as exc:
            log.error("%s", exc)
            return exc.exit_code
        finally:
            await self.backend.stop()
        if self._fatal is not None:
            log.error("%s", self._fatal)
            return self._fatal.exit_code
        return EXIT_OK

    def _connect(self, *, open_timeout: float) -> connect:
        return connect(self.url, additional_headers={"Authorization": f"Token {self.token}"}, max_size=None, open_timeout=open_timeout)

    async def _report_login_failure(self, exc: LoginError, exit_code: int) -> None:
        """Tell the platform why this worker will not connect, so admins see it; best effort, one try."""
        frame = protocol.login_failed(worker_version=__version__, backend=self.backend.name, exit_code=exit_code, message=str(exc), server=exc.server)
        try:
            async with asyncio.timeout(REPORT_TIMEOUT_S):
                async with self._connect(open_timeout=REPORT_TIMEOUT_S) as ws:
                    await ws.send(protocol.encode(frame))
                    with contextlib.suppress(ConnectionClosed):
                        await ws.recv()  # the server closes once it has recorded it
        except (OSError, ConnectionClosed, InvalidStatus, TimeoutError) as report_error:
            log.warning("could not report the failed login to the platform: %s", report_error)

    async def _session(self, ws: ClientConnection) -> None:
        if self.login is None:
            raise RuntimeError("run() logs in before the first session")
        accounts = sorted(set(self.login.accounts) | set(self.accounts))
        await ws.send(
            protocol.encode(
                protocol.hello(
                    worker_version=__version__,
                    backend=self.backend.name,
                    server=self.login.server,
                    accounts=accounts,
                    stream_id=self.outbox.stream_id,
                    login=self.login.details,
                )
            )
        )
        welcome = await self._welcome(ws)
        self.outbox.ack(welcome["last_seq"])
        self._sent_upto = welcome["last_seq"]
        self.accounts = [a for a in welcome["accounts"] if isinstance(a, str)]
        log.info("connected as %s (%s); replaying from seq %s", welcome.get("worker"), welcome["mode"], self._sent_upto + 1)
        tasks = [
            asyncio.create_task(self._sender(ws)),
            asyncio.create_task(self._receiver(ws)),
            asyncio.create_task(self._tick_flusher(ws)),
            asyncio.create_task(self._heartbeat(ws, int(welcome.get("heartbeat_s", 5)))),
            asyncio.create_task(self.stopping.wait()),
        ]
        await self.backend.reconcile(self.accounts)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _welcome(self, ws: ClientConnection) -> dict[str, Any]:
        try:
            raw = await asyncio.wait_for(ws.recv(), WELCOME_TIMEOUT_S)
        except ConnectionClosed as exc:
            self._check_close(exc)
            raise
        parsed = protocol.decode(raw, allowed=protocol.SERVER_FRAMES)
        if parsed.type == protocol.ERROR:
            if parsed.body.get("code") == protocol.E_MODE_MISMATCH:
                raise Fatal(f"the server refused this broker login: {parsed.body.get('message')}", EXIT_MODE_MISMATCH)
            raise ConnectionError(f"server answered hello with {parsed.body}")
        if parsed.type != protocol.WELCOME:
            raise ConnectionError(f"expected welcome, got {parsed.type}")
        return parsed.body

    def _check_close(self, exc: ConnectionClosed) -> None:
        self._check_close_code(exc.rcvd.code if exc.rcvd else None)

    def _check_close_code(self, code: int | None) -> None:
        if code == protocol.CLOSE_MODE_MISMATCH:
            raise Fatal("the server closed the link: the broker login is on the other server than this token's mode", EXIT_MODE_MISMATCH)
        if code == protocol.CLOSE_REPLACED:
            raise Fatal("another worker connected with this token and took over; this one stops (is a second worker running?)", EXIT_REPLACED)
        if code in (protocol.CLOSE_REVOKED, protocol.CLOSE_UNAUTHORIZED, protocol.CLOSE_FORBIDDEN):
            raise Fatal(f"the server closed the link with {code}: token revoked or refused", EXIT_TOKEN_REFUSED)

    # Tasks ---------------------------------------------------------------------------------------
    async def _sender(self, ws: ClientConnection) -> None:
        try:
            while True:
                self._wake.clear()
                for stored in self.outbox.pending(after=self._sent_upto):
                    await ws.send(protocol.encode(protocol.event(seq=stored.seq, name=stored.name, data=stored.data, at=stored.at)))
                    self._sent_upto = stored.seq
                if not self.outbox.pending(after=self._sent_upto, limit=1):
                    await self._wake.wait()
        except ConnectionClosed as exc:
            self._check_close(exc)
            raise

    async def _receiver(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    parsed = protocol.decode(raw, allowed=protocol.SERVER_FRAMES)
                except protocol.ProtocolError as exc:
                    log.error("server sent a bad frame (%s): %s", exc.code, exc.message)
                    continue
                if parsed.type == protocol.ACK:
                    self.outbox.ack(parsed.body["seq"])
                elif parsed.type == protocol.COMMAND:
                    await self._command(parsed)
                elif parsed.type == protocol.ERROR:
                    self._server_error(parsed.body)
        except ConnectionClosed as exc:
            self._check_close(exc)
            raise
        self._check_close_code(ws.close_code)
        raise ConnectionError("server closed the link")

    def _server_error(self, body: dict[str, Any]) -> None:
        if body.get("code") == protocol.E_SEQ_GAP and isinstance(body.get("expected"), int):
            log.warning("server expects seq %s; resending from there", body["expected"])
            self._sent_upto = min(self._sent_upto, body["expected"] - 1)
            self._wake.set()
        else:
            log.warning("server error %s: %s", body.get("code"), body.get("message"))

    async def _command(self, parsed: protocol.Parsed) -> None:
        name, args, command_id = parsed.body["command"], parsed.body["args"], parsed.id
        if getattr(self.backend, "executes_atomically", False):
            # The sim applies a command synchronously: recording it, its effects and their events commit together.
            with self.outbox.transaction():
                state = self.outbox.begin_command(command_id, name)
                if state == NEW:
                    await self._execute(command_id, name, args)
                    self.outbox.finish_command(command_id)
        else:
            state = self.outbox.begin_command(command_id, name)
            if state == NEW:
                await self._execute(command_id, name, args)
                self.outbox.finish_command(command_id)
        if state not in (NEW, DONE):
            # Recorded but never finished: the worker stopped mid-way, so the broker may or may not have it.
            self.emit(protocol.COMMAND_OUTCOME_UNKNOWN, {"command_id": command_id, "command": name, "order_id": args.get("order_id")})
        self._poke()

    async def _execute(self, command_id: str, name: str, args: dict[str, Any]) -> None:
        try:
            await self.backend.execute(command_id=command_id, name=name, args=args)
        except CommandError as exc:
            if name in ORDER_COMMANDS:
                self.emit(ORDER_COMMANDS[name], {"order_id": args.get("order_id"), "code": exc.code, "message": exc.message})
            else:
                log.warning("command %s %s refused: %s", name, command_id, exc)

    async def _tick_flusher(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(TICK_FLUSH_S)
            while self._ticks:
                batch = [self._ticks.popleft() for _ in range(min(TICK_BATCH, len(self._ticks)))]
                await ws.send(protocol.encode(protocol.ticks(batch)))

    async def _heartbeat(self, ws: ClientConnection, every_s: int) -> None:
        while True:
            await asyncio.sleep(max(every_s, 1))
            await ws.send(protocol.encode(protocol.frame(protocol.HEARTBEAT, outbox_pending=self.outbox.pending_count())))
