"""`make run`: the whole platform on one machine — Daphne plus the sim worker over a real WebSocket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from apps.accounts import services
from apps.accounts.demo import PAPER_WORKER, seed_demo
from apps.accounts.models import Worker


def _wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.2)
    return False


class Command(BaseCommand):
    help = "Migrate, create the demo users, start Daphne and the sim worker, and print the URL."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed", type=int, default=7, help="the sim exchange's random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        var_dir = Path(settings.VAR_DIR)
        var_dir.mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0)
        demo = seed_demo()
        token_file = var_dir / "sim-worker.token"
        token = demo.worker_token
        if token is None and not token_file.exists():
            token = services.rotate_worker_token(worker=Worker.objects.get(name=PAPER_WORKER))
        if token is not None:
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(token)

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "platform.settings"}
        env.setdefault("MARKET_HOURS", settings.MARKET_HOURS)
        # Every entry point runs as `python -m ...` from the repository root (see README: the `platform` package).
        root = str(settings.BASE_DIR)
        daphne = subprocess.Popen([sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "platform.asgi:application"], cwd=root, env=env)  # noqa: S603
        if not _wait_for_port(host, port, 30):
            daphne.terminate()
            raise CommandError(f"Daphne did not start listening on {host}:{port}")
        worker_env = {**env, "KIWOOM_WORKER_TOKEN_FILE": str(token_file)}
        worker = subprocess.Popen(  # noqa: S603
            [
                sys.executable, "-m", "kiwoom_worker", "--backend", "sim",
                "--server", f"ws://{host}:{port}/ws/worker/",
                "--state-dir", str(var_dir / "worker-sim"),
                "--seed", str(options["seed"]),
            ],
            cwd=root,
            env=worker_env,
        )  # fmt: skip

        self._print_banner(demo, host, port)
        stop = False

        def _stop(_signum: int, _frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop:
                if daphne.poll() is not None:
                    raise CommandError(f"Daphne exited with code {daphne.returncode}")
                if worker.poll() is not None:
                    self.stderr.write(f"the sim worker exited with code {worker.returncode}; restarting it in 2 s")
                    time.sleep(2)
                    worker = subprocess.Popen(worker.args, cwd=root, env=worker_env)  # noqa: S603
                time.sleep(0.5)
        finally:
            for proc in (worker, daphne):
                if proc.poll() is None:
                    proc.terminate()
            for proc in (worker, daphne):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def _print_banner(self, demo: Any, host: str, port: int) -> None:
        self.stdout.write("")
        self.stdout.write("Demo users (a password is shown only when the user is first created; then it is never shown again):")
        for user in demo.users:
            self.stdout.write(f"  {user.username:<7} {user.level:<13} {user.password or '(password unchanged)'}")
        if settings.TWO_FACTOR_REQUIRED:
            self.stdout.write(
                "The admin site and real-money orders ask for a TOTP code: the first visit shows a QR code to enrol any authenticator app "
                f"(http://{host}:{port}/account/2fa/setup)."
            )
        if settings.MARKET_HOURS == "always":
            self.stdout.write("The session clock is simulated (MARKET_HOURS=always): orders fill at any hour. Use MARKET_HOURS=krx for the real KRX calendar.")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Platform running: http://{host}:{port}/   (admin: http://{host}:{port}/admin/, API schema: /api/schema/)"))
        self.stdout.write("Press Ctrl-C to stop.")
