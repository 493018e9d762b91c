"""The real worker (link, outbox, ocx backend, Qt host) with the control emulator in place of Kiwoom's OCX.

    python -m tests.kiwoom_worker.run_ocx_emulated_worker --server ws://... --accounts 8100000111 [worker options]

For end-to-end tests on Linux (QT_QPA_PLATFORM=offscreen); on Windows the same code hosts QAxWidget.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from kiwoom_worker.__main__ import _main, parse_args
from kiwoom_worker.ocx.host import run_with_qt
from tests.kiwoom_worker.ocx_emulator import KiwoomEmulator


def main() -> int:
    args = parse_args(["--backend", "ocx", *sys.argv[1:]])
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    accounts = tuple(a for a in args.accounts.split(",") if a)
    return run_with_qt(
        lambda engine: asyncio.run(_main(args, engine)),
        make_control=lambda: KiwoomEmulator(server=args.expected_server or "paper", accounts=accounts),
        after_pump=lambda emulator: emulator.deliver(),
    )


if __name__ == "__main__":
    sys.exit(main())
