"""The ocx Backend: the asyncio side the link talks to, handing every call to the Qt thread's Engine.

The Qt thread (the process's main thread, as QAxWidget requires) owns the control and the Engine;
this object lives on the link's asyncio thread and only ever reaches the engine through
``Engine.call``, awaiting the Future it returns.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kiwoom_worker import protocol
from kiwoom_worker.backend import Backend, CommandError, EventSink, LoginError, LoginResult
from kiwoom_worker.link import EXIT_LOGIN_FAILED, EXIT_MODE_MISMATCH
from kiwoom_worker.ocx.engine import Engine
from kiwoom_worker.ocx.limits import Priority

log = logging.getLogger(__name__)


class OcxBackend(Backend):
    name = "ocx"

    def __init__(self, engine: Engine, *, expected_server: str | None) -> None:
        self.engine = engine
        self.expected_server = expected_server
        self.login_accounts: set[str] = set()

    async def _on_qt(self, fn: Any) -> Any:
        return await asyncio.wrap_future(self.engine.call(fn))

    async def start(self, sink: EventSink) -> LoginResult:
        def attach_and_login() -> Any:
            self.engine.sink = sink
            self.engine.on_connection_lost = lambda: sink.fail(
                "the Kiwoom connection was lost (maintenance window or network); exiting so the supervisor logs in again", EXIT_LOGIN_FAILED
            )
            return self.engine.login()

        result: LoginResult = await self._on_qt(attach_and_login)
        if self.expected_server and result.server != self.expected_server:
            raise LoginError(
                f"Kiwoom logged in to the {result.server} server but this worker is configured for {self.expected_server}; refusing to start",
                exit_code=EXIT_MODE_MISMATCH,
                server=result.server,
            )
        await self._on_qt(self.engine.reregister)  # after a reconnect: the control forgot its registrations
        count = await self._on_qt(self.engine.emit_symbol_master)
        log.info("symbol master: %s listings sent", count)
        self.login_accounts = set(result.accounts)
        return result

    async def execute(self, *, command_id: str, name: str, args: dict[str, Any]) -> None:
        engine = self.engine
        if name == protocol.PLACE_ORDER:
            priority = Priority.EMERGENCY if args.get("origin") == "emergency" else Priority.ORDER
            await self._on_qt(lambda: engine.place(args, priority=priority))
        elif name == protocol.CANCEL_ORDER:
            await self._on_qt(lambda: engine.cancel(args))
        elif name == protocol.MODIFY_ORDER:
            await self._on_qt(lambda: engine.modify(args))
        elif name == protocol.QUERY_BALANCE:
            await self._on_qt(lambda: engine.query_balance(str(args["account"])))
        elif name == protocol.QUERY_OPEN_ORDERS:
            await self._on_qt(lambda: engine.query_open_orders(str(args["account"])))
        elif name == protocol.SUBSCRIBE:
            await self._on_qt(lambda: engine.subscribe([str(s) for s in args.get("symbols", [])]))
        elif name == protocol.UNSUBSCRIBE:
            await self._on_qt(lambda: engine.unsubscribe([str(s) for s in args.get("symbols", [])]))
        else:
            raise CommandError("UNKNOWN_COMMAND", f"the ocx backend does not know {name!r}")

    async def reconcile(self, accounts: list[str]) -> None:
        # Only accounts this Kiwoom login holds can be queried; the server ignores the rest of its scope.
        for account in [a for a in accounts if a in self.login_accounts]:
            await self._on_qt(lambda account=account: self.engine.query_balance(account))
            await self._on_qt(lambda account=account: self.engine.query_open_orders(account))

        def start_symbol_info() -> None:
            # Today's band base for what is held or working, so the server's price checks match the
            # exchange's. Answered as an event; nothing waits on it (many symbols take minutes of TR budget).
            self.engine.query_symbol_info(self.engine.held_symbols())

        await self._on_qt(start_symbol_info)

    async def stop(self) -> None:
        return None  # the control's session ends with the process (CommTerminate does nothing)
