"""The real worker (link, outbox, ocx backend, Qt host) with the control emulator in place of Kiwoom's OCX.

    python -m tests.kiwoom_worker.run_ocx_emulated_worker --server ws://... --accounts 8100000111 [worker options]
        [--exchange-dir DIR]

For end-to-end tests on Linux (QT_QPA_PLATFORM=offscreen); on Windows the same code hosts QAxWidget.

With ``--exchange-dir`` the emulated exchange outlives the worker's process, as Kiwoom's does: its
orders, fills, holdings and cash are kept in ``DIR/state.json``, and a test drives it by appending
JSON lines to ``DIR/commands.jsonl``:

    {"op": "fill", "order": "0000001", "quantity": 3, "price": 70000, "pieces": 1}
    {"op": "trade", "code": "005930", "price": 70100, "volume": 10, "cumulative": 1000}
    {"op": "base_price", "code": "005930", "price": 68600}   (기준가 of the next day, e.g. ex-dividend)
    {"op": "disconnect"}

Commands written while no worker runs are carried out when the next one starts, before it logs in:
the exchange kept filling while the worker was down, and the control never replays those events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from kiwoom_worker.__main__ import _main, parse_args
from kiwoom_worker.ocx.host import run_with_qt
from tests.kiwoom_worker.ocx_emulator import KiwoomEmulator

log = logging.getLogger("emulated-exchange")


class PersistentExchange:
    """The emulator plus its state file and command inbox."""

    def __init__(self, emulator: KiwoomEmulator, directory: Path) -> None:
        self.emulator = emulator
        self.state_path = directory / "state.json"
        self.commands_path = directory / "commands.jsonl"
        directory.mkdir(parents=True, exist_ok=True)
        self.applied = 0
        self._seen_size = -1
        if self.state_path.exists():
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            emulator.restore(state["exchange"])
            self.applied = state["commands_applied"]
        self.run_commands()

    def run_commands(self) -> bool:
        try:
            size = self.commands_path.stat().st_size
        except FileNotFoundError:
            return False
        if size == self._seen_size:
            return False
        self._seen_size = size
        lines = [line for line in self.commands_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        pending = lines[self.applied :]
        for line in pending:
            self.applied += 1
            try:
                self._apply(json.loads(line))
            except Exception:  # an exception escaping a Qt slot would abort the process
                log.exception("exchange command %s failed", line)
        return bool(pending)

    def _apply(self, command: dict[str, Any]) -> None:
        log.info("exchange command %s", command)
        op = command["op"]
        if op == "fill":
            self.emulator.fill(command["order"], int(command["quantity"]), int(command["price"]), pieces=int(command.get("pieces", 1)))
        elif op == "trade":
            self.emulator.trade(command["code"], int(command["price"]), int(command["volume"]), int(command["cumulative"]))
        elif op == "base_price":
            self.emulator.base_price[command["code"]] = int(command["price"])
        elif op == "disconnect":
            self.emulator.disconnect()
        else:
            raise ValueError(f"unknown exchange command {op!r}")
        self.save()

    def after_pump(self) -> None:
        if self.emulator.deliver() | self.run_commands():
            self.save()

    def save(self) -> None:
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"exchange": self.emulator.snapshot(), "commands_applied": self.applied}), encoding="utf-8")
        os.replace(temporary, self.state_path)


def main() -> int:
    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--exchange-dir", type=Path)
    own.add_argument("--emulated-server", choices=["paper", "real"], help="the server the emulated login lands on (default: --expected-server, else paper)")
    extra, rest = own.parse_known_args(sys.argv[1:])
    args = parse_args(["--backend", "ocx", *rest])
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    accounts = tuple(a for a in args.accounts.split(",") if a)
    exchange: PersistentExchange | None = None

    def make_control() -> KiwoomEmulator:
        nonlocal exchange
        emulator = KiwoomEmulator(server=extra.emulated_server or args.expected_server or "paper", accounts=accounts)
        if extra.exchange_dir is not None:
            exchange = PersistentExchange(emulator, extra.exchange_dir)
        return emulator

    def after_pump(emulator: KiwoomEmulator) -> None:
        if exchange is not None:
            exchange.after_pump()
        else:
            emulator.deliver()

    return run_with_qt(lambda engine: asyncio.run(_main(args, engine)), make_control=make_control, after_pump=after_pump)


if __name__ == "__main__":
    sys.exit(main())
