"""The `sim` backend: the paper exchange behind the Backend interface, persisted in the outbox database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kiwoom_worker import protocol
from kiwoom_worker.backend import Backend, CommandError, EventSink, LoginResult
from kiwoom_worker.outbox import Outbox
from kiwoom_worker.sim.exchange import Emitted, Exchange, Reject
from kiwoom_worker.sim.symbols import SYMBOLS

log = logging.getLogger("kiwoom_worker.sim")
STATE_KEY = "sim_exchange"


class SimBackend(Backend):
    name = "sim"
    # Commands apply synchronously, so the link records a command and its effects in one transaction.
    executes_atomically = True

    def __init__(
        self,
        *,
        outbox: Outbox,
        seed: int = 7,
        accounts: list[str] | None = None,
        initial_cash: int = 100_000_000,
        fee_profile: str = "kiwoom_mock",
        reported_server: str = "paper",
        tick_interval_ms: int = 150,
    ) -> None:
        self.outbox = outbox
        self.exchange = Exchange(seed=seed, fee_profile=fee_profile, initial_cash=initial_cash, state=outbox.get_state(STATE_KEY))
        self.configured_accounts = list(accounts or [])
        self.reported_server = reported_server
        self.interval_s = tick_interval_ms / 1000
        self.sink: EventSink | None = None
        self._clock: asyncio.Task[None] | None = None

    async def start(self, sink: EventSink) -> LoginResult:
        self.sink = sink
        with self.outbox.transaction():
            for number in self.configured_accounts:
                self.exchange.open_account(number)
            self._commit()
        self._clock = asyncio.create_task(self._run_clock(), name="sim-clock")
        accounts = sorted(self.exchange.state["accounts"])
        return LoginResult(server=self.reported_server, accounts=accounts, details={"user_id": "SIMUSER", "seed": self.exchange.seed})

    async def stop(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock

    async def execute(self, *, command_id: str, name: str, args: dict[str, Any]) -> None:
        with self.outbox.transaction():
            try:
                if name == protocol.PLACE_ORDER:
                    self.exchange.place(args)
                elif name == protocol.CANCEL_ORDER:
                    self.exchange.cancel(args)
                elif name == protocol.MODIFY_ORDER:
                    self.exchange.modify(args)
                elif name == protocol.QUERY_BALANCE:
                    self.exchange.out.append(Emitted(protocol.BALANCE, self.exchange.balance(str(args["account"]))))
                elif name == protocol.QUERY_OPEN_ORDERS:
                    self.exchange.out.append(Emitted(protocol.OPEN_ORDERS, self.exchange.open_orders(str(args["account"]))))
                elif name in (protocol.SUBSCRIBE, protocol.UNSUBSCRIBE):
                    self._subscription(name, [str(s) for s in args.get("symbols", [])])
            except Reject as exc:
                self.exchange.drain()
                raise CommandError(exc.code, exc.message) from None
            self._commit()

    async def reconcile(self, accounts: list[str]) -> None:
        with self.outbox.transaction():
            for number in accounts:
                self.exchange.open_account(number)
            out = self.exchange.out
            out.append(Emitted(protocol.SYMBOL_MASTER, {"symbols": list(SYMBOLS.values())}))
            for number in sorted(self.exchange.state["accounts"]):
                out.append(Emitted(protocol.BALANCE, self.exchange.balance(number)))
                out.append(Emitted(protocol.OPEN_ORDERS, self.exchange.open_orders(number)))
            self._commit()

    def _subscription(self, name: str, symbols: list[str]) -> None:
        current = set(self.exchange.state["subscribed"])
        known = {s for s in symbols if s in SYMBOLS}
        current = current | known if name == protocol.SUBSCRIBE else current - known
        self.exchange.state["subscribed"] = sorted(current)

    def _commit(self) -> None:
        """Emit what the exchange produced, plus a balance for every account that traded, with the new state."""
        if self.sink is None:
            raise RuntimeError("the sim backend was not started")
        emitted = self.exchange.drain()
        traded = sorted({str(e.data["account"]) for e in emitted if e.name == protocol.ORDER_FILLED})
        for item in emitted:
            self.sink.emit(item.name, item.data)
        for number in traded:
            self.sink.emit(protocol.BALANCE, self.exchange.balance(number))
        self.outbox.put_state(STATE_KEY, self.exchange.state)

    async def _run_clock(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                with self.outbox.transaction():
                    ticks = self.exchange.step()
                    self._commit()
            except Exception:
                log.exception("sim step failed")
                continue
            if ticks and self.sink is not None:
                self.sink.emit_ticks(ticks)
