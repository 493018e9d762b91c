"""python -m kiwoom_worker.supervise [--daily-restart 07:30] [--log-dir DIR] [-- worker options]

Keeps one worker running on the Windows PC. The worker exits rather than limp on (a dropped Kiwoom
connection, a refused login, the version-update window), because the control cannot be trusted to log
in again inside the same process; this loop decides what happens next from the exit code:

- 5 (login failed, connection lost; also Kiwoom's maintenance windows) and crashes: start again after
  a delay that doubles while runs keep failing quickly;
- 6 (version update): start again after a longer wait, so Kiwoom's updater can finish first;
- 0, 2, 3, 4, 7 (stopped, bad configuration, token refused, wrong server, replaced by another worker
  with the same token): stop, and exit with that code,
  because repeating would not help and a person has to act.

Every morning at --daily-restart (Korea time) the worker is stopped and started fresh, so the trading
day begins on a new login after Kiwoom's overnight maintenance. Worker options go after ``--``; the
worker also reads its KIWOOM_WORKER_* environment variables, which the child inherits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kiwoom_worker.link import (
    EXIT_CONFIG,
    EXIT_LOGIN_FAILED,
    EXIT_MODE_MISMATCH,
    EXIT_OK,
    EXIT_REPLACED,
    EXIT_TOKEN_REFUSED,
    EXIT_VERSION_UPDATE,
    KST,
)

log = logging.getLogger("kiwoom_worker.supervise")

# A person has to act on these; restarting would repeat the same refusal every minute.
FINAL_EXITS = {
    EXIT_OK: "the worker stopped normally",
    EXIT_CONFIG: "bad configuration (check the KIWOOM_WORKER_* settings and the token file)",
    EXIT_TOKEN_REFUSED: "the platform refused the worker token (revoked or wrong: create a new one in the admin)",
    EXIT_MODE_MISMATCH: "Kiwoom logged in to the other server than the token's mode (tick or untick 모의투자 at login)",
    EXIT_REPLACED: "another worker connected with the same token and took over (stop the second one, or give it its own token)",
}


@dataclass(frozen=True)
class Policy:
    retry_delay_s: float = 60.0
    update_delay_s: float = 180.0
    max_delay_s: float = 900.0
    healthy_after_s: float = 600.0  # a run this long resets the doubling
    stop_grace_s: float = 20.0  # for each of: the clean stop, then terminate()
    daily_restart: dt.time | None = dt.time(7, 30)


def delay_after(code: int, *, quick_failures: int, policy: Policy) -> float | None:
    """Seconds to wait before the next start, or None to stop for good."""
    if code in FINAL_EXITS:
        return None
    base = policy.update_delay_s if code == EXIT_VERSION_UPDATE else policy.retry_delay_s
    return min(base * 2 ** max(quick_failures - 1, 0), max(base, policy.max_delay_s))


def next_daily_restart(now: dt.datetime, at: dt.time) -> dt.datetime:
    local = now.astimezone(KST)
    candidate = dt.datetime.combine(local.date(), at, tzinfo=KST)
    return candidate if candidate > local else candidate + dt.timedelta(days=1)


def describe(code: int) -> str:
    if code in FINAL_EXITS:
        return FINAL_EXITS[code]
    if code == EXIT_LOGIN_FAILED:
        return "login failed or the Kiwoom connection was lost"
    if code == EXIT_VERSION_UPDATE:
        return "Kiwoom's module needs its version update"
    return f"the worker crashed (exit {code})"


class Supervisor:
    def __init__(
        self,
        command: list[str],
        policy: Policy,
        *,
        log_dir: Path | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(KST),
    ) -> None:
        self.command = command
        self.policy = policy
        self.log_dir = log_dir
        self.now = now
        self.stopping = threading.Event()
        self.starts = 0

    def run(self) -> int:
        quick_failures = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            code, planned = self._run_once()
            if self.stopping.is_set():
                return EXIT_OK
            if planned:
                log.info("daily restart: the worker starts fresh")
                quick_failures = 0
                continue
            quick_failures = quick_failures + 1 if time.monotonic() - started < self.policy.healthy_after_s else 1
            delay = delay_after(code, quick_failures=quick_failures, policy=self.policy)
            if delay is None:
                log.log(logging.INFO if code == EXIT_OK else logging.ERROR, "worker exited %s: %s; not restarting", code, describe(code))
                return code
            log.warning("worker exited %s: %s; starting again in %.0f s", code, describe(code), delay)
            self.stopping.wait(delay)
        return EXIT_OK

    def _run_once(self) -> tuple[int, bool]:
        """Run the worker until it exits (its code, False) or the daily restart is due (its code, True)."""
        restart_at = next_daily_restart(self.now(), self.policy.daily_restart) if self.policy.daily_restart else None
        output = self._output()
        try:
            self.starts += 1
            log.info("starting the worker (start %s): %s", self.starts, " ".join(self.command))
            # The command is this Python running kiwoom_worker with the operator's own options, no shell.
            with subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT if output else None) as proc:  # noqa: S603
                while True:
                    try:
                        return proc.wait(timeout=1.0), False
                    except subprocess.TimeoutExpired:
                        pass
                    if self.stopping.is_set() or (restart_at is not None and self.now() >= restart_at):
                        return self._stop(proc), not self.stopping.is_set()
        finally:
            if output is not None:
                output.close()

    def _stop(self, proc: subprocess.Popen[bytes]) -> int:
        # Closing its standard input stops the worker cleanly on every OS (--stop-on-stdin-eof); a worker
        # still in its login gets terminate(), which on Windows ends it at once. The durable outbox makes
        # either safe: unsent events go out after the next start.
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            return proc.wait(timeout=self.policy.stop_grace_s)
        except subprocess.TimeoutExpired:
            proc.terminate()
        try:
            return proc.wait(timeout=self.policy.stop_grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def _output(self) -> IO[bytes] | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # One file per Korean trading day; the daily restart moves the worker on to the next one.
        return (self.log_dir / f"worker-{self.now():%Y-%m-%d}.log").open("ab")


def _clock_time(value: str) -> dt.time | None:
    if value.lower() in {"", "off", "none"}:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time like 07:30 (or 'off')") from None


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    own, worker = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(prog="python -m kiwoom_worker.supervise", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--daily-restart", type=_clock_time, default=Policy.daily_restart, help="Korea time, HH:MM, or 'off' (default 07:30)")
    parser.add_argument("--retry-delay", type=float, default=Policy.retry_delay_s, help="seconds before a restart after exit 5 or a crash")
    parser.add_argument("--update-delay", type=float, default=Policy.update_delay_s, help="seconds before a restart after exit 6")
    parser.add_argument("--max-delay", type=float, default=Policy.max_delay_s, help="cap of the doubling delay")
    parser.add_argument("--log-dir", type=Path, help="write the worker's output to DIR/worker-YYYY-MM-DD.log")
    parser.add_argument("--worker-module", default="kiwoom_worker", help="the module run as the worker (the tests run the control emulator's)")
    return parser.parse_args(own), worker


def main(argv: list[str] | None = None) -> int:
    args, worker_args = parse_args(sys.argv[1:] if argv is None else argv)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log_dir / "supervisor.log", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", handlers=handlers)
    policy = Policy(retry_delay_s=args.retry_delay, update_delay_s=args.update_delay, max_delay_s=args.max_delay, daily_restart=args.daily_restart)
    supervisor = Supervisor([sys.executable, "-m", args.worker_module, *worker_args, "--stop-on-stdin-eof"], policy, log_dir=args.log_dir)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: supervisor.stopping.set())
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
