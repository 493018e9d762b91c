"""Starts the real platform as processes: Daphne, the sim worker and (on Postgres + Redis) a Celery worker.

Used by the end-to-end tests and the benchmarks alike. Two stacks: the embedded default (SQLite,
in-process Celery) and production wiring (Postgres + Redis with a separate Celery worker).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout_s}s")


def eventually(check: Any, *, timeout_s: float = 30, interval_s: float = 0.2, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"{message} not reached within {timeout_s}s (last value: {last!r})")


@dataclass
class Stack:
    name: str
    env: dict[str, str]
    var_dir: Path
    port: int = 0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    demo: dict[str, Any] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = self.var_dir / f"{name}.log"
        self.logs[name] = log
        with open(log, "ab") as fh:
            proc = subprocess.Popen(args, cwd=ROOT, env=env or self.env, stdout=fh, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def start_server(self) -> None:
        self.port = self.port or free_port()
        self._spawn("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "platform.asgi:application"])
        wait_for_port(self.port)

    def start_worker(self, *extra: str, name: str = "worker") -> None:
        env = {**self.env, "KIWOOM_WORKER_TOKEN": self.demo["worker_token"]}
        args = [sys.executable, "-m", "kiwoom_worker", "--backend", "sim", "--server", f"ws://127.0.0.1:{self.port}/ws/worker/"]
        args += ["--state-dir", str(self.var_dir / name), "--seed", "11", "--tick-interval-ms", "100", *extra]
        self._spawn(name, args, env)

    def start_ocx_worker(self, accounts: list[str], *extra: str, expected_server: str | None = "paper", supervised: bool = False) -> None:
        """The real worker with its ocx backend hosting the control emulator (tests/kiwoom_worker), paper token.

        ``supervised`` runs it under kiwoom_worker.supervise, as on the Windows PC (restarts 3 s apart).
        """
        env = {**self.env, "KIWOOM_WORKER_TOKEN": self.demo["worker_token"], "QT_QPA_PLATFORM": "offscreen"}
        runner = "tests.kiwoom_worker.run_ocx_emulated_worker"
        args = ["--server", f"ws://127.0.0.1:{self.port}/ws/worker/", "--state-dir", str(self.var_dir / "worker"), "--accounts", ",".join(accounts), *extra]
        if expected_server:
            args += ["--expected-server", expected_server]
        if supervised:
            supervisor = ["-m", "kiwoom_worker.supervise", "--worker-module", runner, "--retry-delay", "3", "--daily-restart", "off"]
            self._spawn("worker", [sys.executable, *supervisor, "--", *args], env)
        else:
            self._spawn("worker", [sys.executable, "-m", runner, *args], env)

    def start_celery(self) -> None:
        self._spawn("celery", [sys.executable, "-m", "celery", "-A", "platform", "worker", "--pool", "solo", "--concurrency", "1", "--loglevel", "INFO"])

    def start_beat(self) -> None:
        """Celery beat with the database scheduler: the schedules from the migrations, as admins see them."""
        args = [sys.executable, "-m", "celery", "-A", "platform", "beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler"]
        self._spawn("beat", [*args, "--loglevel", "INFO", "--schedule", str(self.var_dir / "celerybeat-schedule")])

    def set_risk_limits(self, username: str, mode: str, **values: object) -> dict[str, Any]:
        """Give one user their own risk limits (None removes a limit); returns the limits that now apply."""
        pairs = [f"{name}={'none' if value is None else value}" for name, value in values.items()]
        return json.loads(self.manage("risk_limits", "--mode", mode, "--user", username, *pairs))

    def stop(self, name: str, *, kill: bool = False) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.kill() if kill else proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.logs.get(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path and path.exists() else ""

    # HTTP helpers speaking to the real server.
    def api(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Token {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def _base_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"VAR_DIR": str(var_dir), "MARKET_HOURS": "always", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"})
    return env


def postgres_env(var_dir: Path) -> dict[str, str] | None:
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not redis_url or not database_url.startswith("postgres"):
        return None
    import psycopg2
    from cryptography.fernet import Fernet

    name = f"e2e_{uuid.uuid4().hex[:10]}"
    base, _, _ = database_url.rpartition("/")
    conn = psycopg2.connect(base + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    env = _base_env(var_dir)
    env.update(
        {
            "DATABASE_URL": f"{base}/{name}",
            "REDIS_URL": redis_url,
            "SECRET_KEY": "e2e-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "FERNET_KEYS": Fernet.generate_key().decode(),
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            # The test stacks speak plain HTTP on loopback; production keeps the redirect to HTTPS.
            "SECURE_SSL_REDIRECT": "0",
            "E2E_DATABASE": name,
        }
    )
    return env


def drop_database(env: dict[str, str]) -> None:
    import psycopg2

    base, _, _ = env["DATABASE_URL"].rpartition("/")
    conn = psycopg2.connect(base + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{env["E2E_DATABASE"]}" WITH (FORCE)')
    conn.close()


class ServicesMissing(RuntimeError):
    pass


def build_stack(kind: str, tmp_path: Path) -> Stack:
    """Migrate a fresh database, create the demo users, issue API tokens; processes are started by the caller."""
    var_dir = tmp_path / kind
    var_dir.mkdir(parents=True)
    if kind == "embedded":
        env = _base_env(var_dir)
    else:
        env = postgres_env(var_dir)
        if env is None:
            raise ServicesMissing("DATABASE_URL (postgres) and REDIS_URL are needed for the production-wiring stack")
    stack = Stack(kind, env, var_dir)
    stack.manage("migrate", "--verbosity", "0")
    stack.demo = json.loads(stack.manage("seed_demo", "--json"))
    # Users who may trade real money get tokens issued for it (the token stands in for their second factor).
    real = {u for u, info in stack.demo["users"].items() if info["level"] in ("real_trader", "admin")}
    stack.demo["tokens"] = {u: stack.manage("issue_api_token", u, *(["--real"] if u in real else [])).strip() for u in stack.demo["users"]}
    return stack
