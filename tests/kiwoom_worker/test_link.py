"""The worker's link against a small server that speaks the protocol: replay, gaps, dedupe, fatal answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Response

from kiwoom_worker import protocol
from kiwoom_worker.backend import Backend, EventSink, LoginError, LoginResult
from kiwoom_worker.link import EXIT_LOGIN_FAILED, EXIT_MODE_MISMATCH, EXIT_OK, EXIT_REPLACED, EXIT_TOKEN_REFUSED, Link
from kiwoom_worker.outbox import Outbox

pytestmark = pytest.mark.asyncio
TOKEN = "wk_test"


class CountingBackend(Backend):
    """Counts executions; each place_order emits one acceptance, like a broker would."""

    name = "test"

    def __init__(self) -> None:
        self.executed: list[str] = []
        self.sink: EventSink | None = None

    async def start(self, sink: EventSink) -> LoginResult:
        self.sink = sink
        return LoginResult(server="paper", accounts=["8100000111"])

    async def execute(self, *, command_id: str, name: str, args: dict[str, Any]) -> None:
        self.executed.append(command_id)
        assert self.sink is not None
        self.sink.emit(protocol.ORDER_ACCEPTED, {"order_id": args["order_id"], "broker_order_no": str(len(self.executed))})

    async def reconcile(self, accounts: list[str]) -> None:
        return None

    async def stop(self) -> None:
        return None


class FakeServer:
    """Applies events by (stream, seq) exactly once, acks them, and can misbehave on request."""

    def __init__(self) -> None:
        self.applied: dict[int, dict[str, Any]] = {}
        self.last_seq = 0
        self.connections = 0
        self.drop_after: int | None = None  # close the socket after this many events on the first connection
        self.gap_once = False
        self.commands: list[dict[str, Any]] = []
        self.hello_server = None
        self.mode = "paper"
        self.replace_after_welcome = False  # another connection with the same token took over
        self.login_reports: list[dict[str, Any]] = []
        self.received = asyncio.Event()

    def process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        if request.headers.get("Authorization") != f"Token {TOKEN}":
            return connection.respond(403, "forbidden\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        hello = json.loads(await ws.recv())
        if hello["type"] == protocol.LOGIN_FAILED:
            self.login_reports.append(protocol.decode(json.dumps(hello), allowed=protocol.WORKER_FRAMES).body)
            await ws.close()
            return
        self.hello_server = hello["server"]
        if hello["server"] != self.mode:
            await ws.send(protocol.encode(protocol.error(protocol.E_MODE_MISMATCH, "wrong server")))
            await ws.close(code=protocol.CLOSE_MODE_MISMATCH)
            return
        await ws.send(protocol.encode(protocol.welcome(worker="w", mode=self.mode, accounts=["8100000111"], last_seq=self.last_seq, heartbeat_s=1)))
        if self.replace_after_welcome:
            await ws.close(code=protocol.CLOSE_REPLACED)
            return
        for frame in self.commands:
            await ws.send(protocol.encode(frame))
        seen = 0
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] != "event":
                continue
            seq = msg["seq"]
            if self.gap_once and seq == self.last_seq + 1:
                self.gap_once = False
                await ws.send(protocol.encode(protocol.error(protocol.E_SEQ_GAP, "gap", expected=self.last_seq + 1)))
                continue
            if seq <= self.last_seq:
                await ws.send(protocol.encode(protocol.ack(seq)))
                continue
            if seq != self.last_seq + 1:
                await ws.send(protocol.encode(protocol.error(protocol.E_SEQ_GAP, "gap", expected=self.last_seq + 1)))
                continue
            self.applied[seq] = msg["data"]
            self.last_seq = seq
            self.received.set()
            seen += 1
            if self.drop_after is not None and self.connections == 1 and seen >= self.drop_after:
                return  # drop the socket without acknowledging
            await ws.send(protocol.encode(protocol.ack(seq)))


async def run_link(tmp_path: Path, server: FakeServer, backend: Backend, *, token: str = TOKEN, until: Any = None, timeout: float = 10) -> tuple[int, Outbox]:
    async with serve(server.handler, "127.0.0.1", 0, process_request=server.process_request) as srv:
        port = srv.sockets[0].getsockname()[1]
        outbox = Outbox(tmp_path / "outbox.sqlite3")
        link = Link(url=f"ws://127.0.0.1:{port}/", token=token, backend=backend, outbox=outbox)
        task = asyncio.create_task(link.run())
        if until is not None:
            async with asyncio.timeout(timeout):
                while not until(link):
                    await asyncio.sleep(0.02)
            link.stopping.set()
        async with asyncio.timeout(timeout):
            code = await task
        return code, outbox


async def test_a_refused_token_ends_the_worker_with_its_exit_code(tmp_path: Path) -> None:
    code, _ = await run_link(tmp_path, FakeServer(), CountingBackend(), token="wk_wrong")
    assert code == EXIT_TOKEN_REFUSED


async def test_a_worker_replaced_by_another_with_its_token_ends_instead_of_fighting_back(tmp_path: Path) -> None:
    server = FakeServer()
    server.replace_after_welcome = True
    code, _ = await run_link(tmp_path, server, CountingBackend())
    assert code == EXIT_REPLACED
    assert server.connections == 1, "it did not reconnect and take the route back"


class RefusedLoginBackend(CountingBackend):
    async def start(self, sink: EventSink) -> LoginResult:
        raise LoginError("login failed -101: 서버접속실패", exit_code=EXIT_LOGIN_FAILED)


async def test_a_failed_broker_login_is_reported_to_the_platform_then_ends_the_worker(tmp_path: Path) -> None:
    server = FakeServer()
    code, _ = await run_link(tmp_path, server, RefusedLoginBackend())
    assert code == EXIT_LOGIN_FAILED
    assert [(r["message"], r["exit_code"], r["backend"]) for r in server.login_reports] == [("login failed -101: 서버접속실패", EXIT_LOGIN_FAILED, "test")]
    assert server.hello_server is None, "no hello: nothing may be routed to a worker without a broker login"


async def test_a_failed_login_still_ends_the_worker_when_the_platform_is_unreachable(tmp_path: Path) -> None:
    link = Link(url="ws://127.0.0.1:9/ws/worker/", token=TOKEN, backend=RefusedLoginBackend(), outbox=Outbox(tmp_path / "outbox.sqlite3"))
    async with asyncio.timeout(15):
        assert await link.run() == EXIT_LOGIN_FAILED


async def test_a_login_on_the_wrong_server_ends_the_worker(tmp_path: Path) -> None:
    server = FakeServer()
    server.mode = "real"
    code, _ = await run_link(tmp_path, server, CountingBackend())
    assert code == EXIT_MODE_MISMATCH
    assert server.hello_server == "paper"


async def test_unacknowledged_events_are_replayed_once_after_a_drop(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3")
    for i in range(10):
        box.append(protocol.BALANCE, {"n": i}, "2026-01-01T00:00:00+09:00")
    box.close()
    server = FakeServer()
    server.drop_after = 4
    code, outbox = await run_link(tmp_path, server, CountingBackend(), until=lambda link: server.last_seq == 10 and link.outbox.pending_count() == 0)
    assert code == EXIT_OK
    assert server.connections >= 2
    assert [server.applied[s]["n"] for s in range(1, 11)] == list(range(10))
    assert outbox.pending() == []


async def test_a_gap_makes_the_worker_resend_from_the_expected_seq(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3")
    for i in range(3):
        box.append(protocol.BALANCE, {"n": i}, "2026-01-01T00:00:00+09:00")
    box.close()
    server = FakeServer()
    server.gap_once = True
    await run_link(tmp_path, server, CountingBackend(), until=lambda link: server.last_seq == 3)
    assert [server.applied[s]["n"] for s in (1, 2, 3)] == [0, 1, 2]


async def test_a_resent_command_is_executed_once(tmp_path: Path) -> None:
    server = FakeServer()
    place = protocol.command(command_id="cmd-1", name=protocol.PLACE_ORDER, args={"order_id": 7})
    server.commands = [place, place]
    server.drop_after = 1  # reconnect: the server sends the same command again
    backend = CountingBackend()
    await run_link(tmp_path, server, backend, until=lambda link: server.connections >= 2 and server.last_seq >= 1 and link.outbox.pending_count() == 0)
    assert backend.executed == ["cmd-1"]
    assert [d["order_id"] for d in server.applied.values()] == [7]


async def test_a_command_interrupted_mid_way_is_reported_as_unknown(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3")
    box.begin_command("cmd-9", protocol.PLACE_ORDER)  # recorded, never finished: the worker died here
    box.close()
    server = FakeServer()
    server.commands = [protocol.command(command_id="cmd-9", name=protocol.PLACE_ORDER, args={"order_id": 9})]
    backend = CountingBackend()
    await run_link(tmp_path, server, backend, until=lambda link: server.last_seq >= 1)
    assert backend.executed == []
    assert server.applied[1] == {"command_id": "cmd-9", "command": protocol.PLACE_ORDER, "order_id": 9}


async def test_a_backend_that_loses_its_broker_session_stops_the_link_with_its_exit_code(tmp_path: Path) -> None:
    class LosingBackend(CountingBackend):
        async def start(self, sink: EventSink) -> LoginResult:
            result = await super().start(sink)
            sink.fail("the Kiwoom connection was lost", 5)  # as the ocx engine does when GetConnectState turns 0
            return result

    outbox = Outbox(tmp_path / "outbox.sqlite3")
    link = Link(url="ws://127.0.0.1:9/ws/worker/", token=TOKEN, backend=LosingBackend(), outbox=outbox)
    assert await asyncio.wait_for(link.run(), 10) == 5
    outbox.close()
