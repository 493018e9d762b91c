"""Market-data throughput and latency through the real server.

    python -m bench.ticks [--quick] [--symbols 2000] [--dashboards 200] [--watch 20] [--offered 20000]

Starts Daphne (on Postgres + Redis when DATABASE_URL/REDIS_URL are set, else the embedded default),
connects a load generator that speaks the worker protocol, and reports in one JSON object:

* ingest_ticks_per_s: ticks the server parses and folds into latest prices and bars, sent as fast
  as it takes them; the final latest prices and bars are checked against what was sent;
* reference_ticks_per_s: the same frames against a bare asyncio WebSocket server that only parses them;
* dashboard_p50_ms / dashboard_p99_ms: tick sent → quote received, with N dashboards each watching
  M symbols, at a fixed offered tick rate (--quick: 30 s in all, a 10 s dashboard phase);
* server_cpu_percent / server_peak_rss_mb: of the Daphne process over the whole run, and its RSS over
  the first and last tenth of the dashboard phase (a full run's phase lasts 10 minutes: memory flat?).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from bench.harness import ROOT, Stack, build_stack, drop_database
from kiwoom_worker import market_rules, protocol

BATCH = 500
CLIENT_PROCESSES = 4
KST = dt.timezone(dt.timedelta(hours=9))
# A quote row's code and its last cell, the cumulative volume, which the generator uses as a sequence
# number: prices wrap around inside the band on a long run, sequence numbers never repeat.
QUOTE_RE = re.compile(r'id="quote-([0-9A-Z]{6})".*?<td>([0-9,]+)</td></tr>', re.S)


def symbol_master(count: int) -> list[dict[str, Any]]:
    # Synthetic listings (codes that real KRX never issues) so the run covers a whole market's breadth.
    return [{"code": f"Z{i:05d}", "name": f"벤치{i}", "market": "KOSPI", "kind": "stock", "previous_close": 100_000, "kospi200": False} for i in range(count)]


def now_kst() -> str:
    return dt.datetime.now(KST).isoformat(timespec="milliseconds")


def tick_row(code: str, price: int, at: str, seq: int = 0) -> list[Any]:
    return [code, price, price - 100_000, round((price - 100_000) / 1_000, 2), 1, seq, at]


class Prices:
    """Walks each symbol one tick at a time inside its band, so every sent value is recognisable."""

    def __init__(self, codes: list[str]) -> None:
        band = market_rules.price_band(100_000)
        self.low, self.high = band.lower, band.upper
        self.current = dict.fromkeys(codes, 100_000)

    def next(self, code: str) -> int:
        price = self.current[code] + 100
        self.current[code] = price if price <= self.high else self.low
        return self.current[code]


def ticks_frames(codes: list[str], prices: Prices, count: int) -> list[str]:
    frames, rows = [], []
    at = now_kst()
    for i in range(count):
        code = codes[i % len(codes)]
        rows.append(tick_row(code, prices.next(code), at))
        if len(rows) == BATCH:
            frames.append(json.dumps(protocol.frame(protocol.TICKS, ticks=rows)))
            rows = []
    if rows:
        frames.append(json.dumps(protocol.frame(protocol.TICKS, ticks=rows)))
    return frames


async def _sync(ws: Any, seq: int) -> None:
    """Frames are handled in order, so the ack of an event sent after the ticks means all ticks were taken."""
    await ws.send(
        protocol.encode(
            protocol.event(seq=seq, name=protocol.MARKET_STATUS, data={"market": "BENCH", "phase": "open", "at": "now"}, at="2026-01-01T09:00:00+09:00")
        )
    )
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") == "ack" and frame.get("seq") == seq:
            return


async def measure_ingest(url: str, token: str | None, codes: list[str], ticks: int) -> tuple[float, Prices]:
    prices = Prices(codes)
    frames = ticks_frames(codes, prices, ticks)
    headers = {"Authorization": f"Token {token}"} if token else {}
    async with connect(url, additional_headers=headers, max_size=None) as ws:
        await ws.send(protocol.encode(protocol.hello(worker_version="bench", backend="sim", server="paper", accounts=[], stream_id=f"bench-{time.time_ns()}")))
        welcome = json.loads(await ws.recv())
        seq = welcome.get("last_seq", 0) + 1
        await ws.send(
            protocol.encode(protocol.event(seq=seq, name=protocol.SYMBOL_MASTER, data={"symbols": symbol_master(len(codes))}, at="2026-01-01T09:00:00+09:00"))
        )
        while json.loads(await ws.recv()).get("type") != "ack":
            pass
        start = time.perf_counter()
        for frame in frames:
            await ws.send(frame)
        await _sync(ws, seq + 1)
        return ticks / (time.perf_counter() - start), prices


async def reference_server(port: int) -> Any:
    async def handler(ws: Any) -> None:
        async for raw in ws:
            frame = protocol.decode(raw, allowed=protocol.WORKER_FRAMES)
            if frame.type == protocol.HELLO:
                await ws.send(protocol.encode(protocol.welcome(worker="ref", mode="paper", accounts=[], last_seq=0, heartbeat_s=5)))
            elif frame.type == protocol.TICKS:
                for row in frame.body["ticks"]:
                    protocol.parse_tick(row)
            elif frame.type == protocol.EVENT:
                await ws.send(protocol.encode(protocol.ack(frame.body["seq"])))

    return await serve(handler, "127.0.0.1", port, max_size=None)


def prepare_dashboards(stack: Stack, codes: list[str], dashboards: int, watch: int) -> list[tuple[str, list[str]]]:
    """Users with watchlists and logged-in sessions, made in one Django process."""
    script = f"""
import json
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from apps.accounts.models import BrokerAccount
from apps.marketdata import subscriptions
codes = {codes!r}
out = []
for i in range({dashboards}):
    user = get_user_model().objects.create_user(username=f"bench{{i}}", password="x")
    BrokerAccount.objects.create(owner=user, mode="paper", account_number=f"{{70000000 + i}}11")
    watched = [codes[(i * {watch} + j) % len(codes)] for j in range({watch})]
    for code in watched:
        subscriptions.watch(user=user, symbol=code)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    out.append([session.session_key, watched])
print(json.dumps(out))
"""
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=600, check=True)
    return [(key, watched) for key, watched in json.loads(out.stdout.strip().splitlines()[-1])]


def _client_process(port: int, base_url: str, keys: list[str], seconds: float, out: Any) -> None:
    """Dashboard clients in their own process, so the load generator and the clients do not share a core."""

    async def main() -> tuple[array, array]:
        # Flat arrays, not tuples: millions of small tracked objects made the garbage collector pause
        # these clients for long stretches of a 10-minute run, and the pauses showed up as latency.
        seqs, times = array("q"), array("d")
        deadline = time.time() + seconds

        async def client(session_key: str) -> None:
            headers = {"Cookie": f"sessionid={session_key}", "Origin": base_url}
            async with connect(f"ws://127.0.0.1:{port}/ws/dashboard/", additional_headers=headers, max_size=None) as ws:
                await ws.recv()  # snapshot
                frames = 1
                while time.time() < deadline:
                    try:
                        text = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    now = time.time()
                    for _code, seq in QUOTE_RE.findall(text):
                        seqs.append(int(seq.replace(",", "")))
                        times.append(now)
                    frames += 1
                    if frames % 4 == 0:  # as the dashboard's script does: the server holds back past a window
                        await ws.send(json.dumps({"seen": frames}))

        await asyncio.gather(*(client(k) for k in keys), return_exceptions=True)
        return seqs, times

    out.send(asyncio.run(main()))
    out.close()


async def measure_dashboards(
    stack: Stack, token: str, codes: list[str], sessions: list[tuple[str, list[str]]], offered: int, seconds: float, profile: str | None = None
) -> list[float]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    keys = [key for key, _ in sessions]
    groups = [keys[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    pipes, procs = [], []
    for group in groups:
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_client_process, args=(stack.port, stack.base_url, group, seconds + 4, sender))
        proc.start()
        pipes.append(receiver)
        procs.append(proc)
    await asyncio.sleep(3)  # connected and subscribed
    clients = [psutil.Process(proc.pid) for proc in procs]
    for client in clients:
        client.cpu_percent()
    spy = None
    if profile:
        # Sampled for the dashboard phase only; --format raw gives collapsed stacks a script can rank.
        spy = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(stack.procs["daphne"].pid),
                "--format",
                "raw",
                "--output",
                profile,
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    prices = Prices(codes)
    async with connect(f"ws://127.0.0.1:{stack.port}/ws/worker/", additional_headers={"Authorization": f"Token {token}"}, max_size=None) as ws:
        await ws.send(protocol.encode(protocol.hello(worker_version="bench", backend="sim", server="paper", accounts=[], stream_id=f"dash-{time.time_ns()}")))
        await ws.recv()
        # Like a real worker, start sending ticks once the server has said which codes to register.
        while json.loads(await asyncio.wait_for(ws.recv(), 30)).get("command") != "subscribe":
            pass
        per_frame = max(1, offered // 50)  # a frame every 20 ms, like a worker's batching
        frame_sent_at = array("d")  # tick number n (from 1) went out in frame (n - 1) // per_frame
        begin = time.perf_counter()
        sent = 0
        while time.perf_counter() - begin < seconds:
            rows = []
            at = now_kst()
            frame_sent_at.append(time.time())
            for _ in range(per_frame):
                code = codes[sent % len(codes)]
                sent += 1
                rows.append(tick_row(code, prices.next(code), at, sent))
            await ws.send(protocol.encode(protocol.frame(protocol.TICKS, ticks=rows)))
            await asyncio.sleep(max(0.0, begin + sent / offered - time.perf_counter()))
        achieved = sent / (time.perf_counter() - begin)
    measure_dashboards.client_cpu = sum(c.cpu_percent() for c in clients)  # type: ignore[attr-defined]
    if spy is not None:
        spy.wait(timeout=60)
    latencies = []
    for receiver in pipes:
        seqs, times = await asyncio.to_thread(receiver.recv)
        for seq, received in zip(seqs, times, strict=True):
            frame = (seq - 1) // per_frame
            if seq > 0 and frame < len(frame_sent_at):
                latencies.append((received - frame_sent_at[frame]) * 1000)
    for proc in procs:
        proc.join(timeout=10)
    measure_dashboards.achieved = achieved  # type: ignore[attr-defined]
    return latencies


def verify(stack: Stack, prices: Prices, token: str) -> bool:
    """The stored latest price and the last bar's close of sampled symbols equal the last values sent."""
    deadline = time.monotonic() + 10  # the final flush happens a moment after the last frame
    while not (ok := _matches(stack, prices, token)) and time.monotonic() < deadline:
        time.sleep(0.25)
    return ok


def _matches(stack: Stack, prices: Prices, token: str) -> bool:
    sample = list(prices.current)[:: max(1, len(prices.current) // 25)]
    for code in sample:
        quote = stack.api("GET", f"/api/symbols?q={code}", token)[1]
        if not quote or quote[0]["last_price"] != prices.current[code]:
            return False
        bars = stack.api("GET", f"/api/bars?symbol={code}", token)[1]
        if not bars or bars[-1]["c"] != prices.current[code]:
            return False
    return True


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak_rss = 0
        self.cpu: list[float] = []
        self.rss: list[tuple[float, int]] = []
        self.running = True

    def run(self) -> None:
        self.proc.cpu_percent()
        while self.running:
            time.sleep(0.5)
            try:
                rss = self.proc.memory_info().rss
                self.peak_rss = max(self.peak_rss, rss)
                self.rss.append((time.monotonic(), rss))
                self.cpu.append(self.proc.cpu_percent())
            except psutil.NoSuchProcess:
                return


async def run(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    token = stack.demo["worker_token"]
    api_token = stack.demo["tokens"]["paper"]
    codes = [s["code"] for s in symbol_master(args.symbols)]
    sampler = Sampler(stack.procs["daphne"].pid)
    sampler.start()
    ingest_rate, prices = await measure_ingest(f"ws://127.0.0.1:{stack.port}/ws/worker/", token, codes, args.ingest_ticks)
    correct = await asyncio.to_thread(verify, stack, prices, api_token)
    port = stack.port + 1
    server = await reference_server(port)
    reference_rate, _ = await measure_ingest(f"ws://127.0.0.1:{port}/", None, codes, args.ingest_ticks)
    server.close()
    sessions = prepare_dashboards(stack, codes, args.dashboards, args.watch)
    phase_start = time.monotonic()
    latencies = await measure_dashboards(stack, token, codes, sessions, args.offered, args.seconds, args.profile)
    sampler.running = False
    phase = [rss for at, rss in sampler.rss if at >= phase_start]
    phase_cpu = [cpu for (at, _), cpu in zip(sampler.rss, sampler.cpu, strict=False) if at >= phase_start + 3]
    window = max(1, len(phase) // 10)  # first and last tenth of the dashboard phase: is memory flat?
    latencies.sort()
    return {
        "stack": stack.name,
        "symbols": args.symbols,
        "ingest_ticks_per_s": round(ingest_rate),
        "ingest_values_correct": correct,
        "reference_ticks_per_s": round(reference_rate),
        "ingest_fraction_of_reference": round(ingest_rate / reference_rate, 3),
        "dashboards": args.dashboards,
        "watched_per_dashboard": args.watch,
        "offered_ticks_per_s": args.offered,
        "achieved_ticks_per_s": round(getattr(measure_dashboards, "achieved", 0)),
        "dashboard_updates_received": len(latencies),
        "dashboard_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "dashboard_p99_ms": round(latencies[int(len(latencies) * 0.99)], 1) if latencies else None,
        "server_cpu_percent": round(statistics.mean(sampler.cpu), 1) if sampler.cpu else None,
        "server_cpu_percent_dashboard_phase": round(statistics.mean(phase_cpu), 1) if phase_cpu else None,
        "dashboard_clients_cpu_percent": round(getattr(measure_dashboards, "client_cpu", 0), 1),
        "server_peak_rss_mb": round(sampler.peak_rss / 2**20, 1),
        "server_rss_first_tenth_mb": round(statistics.mean(phase[:window]) / 2**20, 1) if phase else None,
        "server_rss_last_tenth_mb": round(statistics.mean(phase[-window:]) / 2**20, 1) if phase else None,
        "dashboard_phase_s": args.seconds,
        "cpu_count": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 30-second version of the same run")
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--dashboards", type=int, default=200)
    parser.add_argument("--watch", type=int, default=20)
    parser.add_argument("--offered", type=int, default=20_000, help="ticks per second during the dashboard phase")
    parser.add_argument("--minutes", type=float, default=None, help="length of the dashboard phase (default 10 min; --quick: 10 s)")
    parser.add_argument("--profile", default=None, help="write py-spy's collapsed stacks of the server for the dashboard phase to this file")
    args = parser.parse_args()
    args.seconds = args.minutes * 60 if args.minutes else (10 if args.quick else 600)
    args.ingest_ticks = 100_000 if args.quick else 1_000_000
    kind = "postgres_redis" if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL") else "embedded"
    with tempfile.TemporaryDirectory() as tmp:
        stack = build_stack(kind, Path(tmp))
        stack.env["LOG_LEVEL"] = "WARNING"
        try:
            stack.start_server()
            print(json.dumps(asyncio.run(run(args, stack))))
        finally:
            stack.stop_all()
            if kind == "postgres_redis":
                drop_database(stack.env)


if __name__ == "__main__":
    main()
