"""python -m kiwoom_worker --backend sim|ocx --server ws://HOST:8000/ws/worker/ [options]

Every option can also come from an environment variable KIWOOM_WORKER_<OPTION> (e.g.
KIWOOM_WORKER_SERVER). The token is best given as KIWOOM_WORKER_TOKEN or in a file
(--token-file / KIWOOM_WORKER_TOKEN_FILE, mode 600) so it never shows in the process list.

Exit codes (for a supervisor): 0 stopped normally; 2 bad configuration; 3 token refused or revoked;
4 the broker login is on the other server than the token's mode; 5 login failed (restart may help);
6 the broker module needs a version update (restart after it is applied); 7 another worker connected
with the same token and took over (do not restart).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from kiwoom_worker.backend import Backend
from kiwoom_worker.link import EXIT_CONFIG, Link
from kiwoom_worker.outbox import Outbox


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"KIWOOM_WORKER_{name.upper().replace('-', '_')}", default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kiwoom_worker", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sim", "ocx"], default=_env("backend", "sim"))
    parser.add_argument("--server", default=_env("server", "ws://127.0.0.1:8000/ws/worker/"), help="the platform's worker endpoint")
    parser.add_argument("--token", default=_env("token"), help="prefer KIWOOM_WORKER_TOKEN or --token-file")
    parser.add_argument("--token-file", default=_env("token_file"))
    parser.add_argument("--state-dir", default=_env("state_dir"), help="outbox and sim state (default ./var/worker-<backend>)")
    parser.add_argument("--log-level", default=_env("log_level", "INFO"))
    parser.add_argument(
        "--stop-on-stdin-eof",
        action="store_true",
        help="stop cleanly when standard input closes (the supervisor's stop, and its death, on every OS)",
    )
    sim = parser.add_argument_group("sim backend")
    sim.add_argument("--seed", type=int, default=int(_env("seed", "7") or 7))
    sim.add_argument("--accounts", default=_env("accounts", ""), help="comma-separated account numbers; default: those the server scopes the token to")
    sim.add_argument("--initial-cash", type=int, default=int(_env("initial_cash", "100000000") or 0))
    sim.add_argument("--fee-profile", choices=["kiwoom_mock", "kiwoom_real"], default=_env("fee_profile", "kiwoom_mock"))
    sim.add_argument(
        "--reported-server", choices=["paper", "real"], default=_env("reported_server", "paper"), help="the server the sim claims to be logged in to"
    )
    sim.add_argument("--tick-interval-ms", type=int, default=int(_env("tick_interval_ms", "150") or 150))
    ocx = parser.add_argument_group("ocx backend (Windows)")
    ocx.add_argument(
        "--expected-server", choices=["paper", "real"], default=_env("expected_server"), help="refuse to run if Kiwoom logs in to the other server"
    )
    return parser.parse_args(argv)


def read_token(args: argparse.Namespace) -> str:
    if args.token:
        return str(args.token).strip()
    if args.token_file:
        return Path(args.token_file).read_text(encoding="utf-8").strip()
    raise SystemExit("no worker token: set KIWOOM_WORKER_TOKEN or --token-file (create one in Django admin → Workers)")


def build_backend(args: argparse.Namespace, outbox: Outbox, engine: Any = None) -> Backend:
    if args.backend == "sim":
        from kiwoom_worker.sim.backend import SimBackend

        accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
        return SimBackend(
            outbox=outbox,
            seed=args.seed,
            accounts=accounts,
            initial_cash=args.initial_cash,
            fee_profile=args.fee_profile,
            reported_server=args.reported_server,
            tick_interval_ms=args.tick_interval_ms,
        )
    from kiwoom_worker.ocx.backend import OcxBackend

    return OcxBackend(engine, expected_server=args.expected_server)


def _stop_when_stdin_closes(stop: Any) -> None:
    # A pipe from the supervisor: it closes it to stop the worker, and the OS closes it when the
    # supervisor dies, so a worker is never left running (and trading) without its supervisor.
    def watch() -> None:
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked inside the buffered reader
        # holds its lock, and the interpreter aborts on that lock when the worker exits on its own.
        with contextlib.suppress(OSError, ValueError):
            while os.read(sys.stdin.fileno(), 4096):
                pass
        logging.info("standard input closed: stopping")
        stop()

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


async def _main(args: argparse.Namespace, engine: Any = None) -> int:
    try:
        token = read_token(args)
    except (SystemExit, OSError) as exc:
        logging.error("%s", exc)
        return EXIT_CONFIG
    state_dir = Path(args.state_dir or f"var/worker-{args.backend}")
    outbox = Outbox(state_dir / "outbox.sqlite3")
    link = Link(url=args.server, token=token, backend=build_backend(args, outbox, engine), outbox=outbox)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, link.stopping.set)
        except (NotImplementedError, RuntimeError):
            # Windows, or the link's own thread under the Qt host: the default handlers end the process,
            # and the durable outbox makes that safe.
            pass
    if args.stop_on_stdin_eof:
        _stop_when_stdin_closes(lambda: loop.call_soon_threadsafe(link.stopping.set))
    try:
        return await link.run()  # a failed login is reported to the platform and becomes the exit code
    finally:
        outbox.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.backend == "ocx":
        if sys.platform != "win32":
            logging.error("the ocx backend hosts Kiwoom's 32-bit Open API+ control and runs only on Windows; use --backend sim here")
            return EXIT_CONFIG
        from kiwoom_worker.ocx.host import run_with_qt

        # The control needs the main thread (a Qt application); the link runs on its own thread.
        return run_with_qt(lambda engine: asyncio.run(_main(args, engine)))
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
