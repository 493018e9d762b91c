"""The supervisor restarts the worker when a restart can help, stops when a person must act, and starts it fresh each morning."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiwoom_worker.link import EXIT_CONFIG, EXIT_LOGIN_FAILED, EXIT_MODE_MISMATCH, EXIT_OK, EXIT_REPLACED, EXIT_TOKEN_REFUSED, EXIT_VERSION_UPDATE, KST
from kiwoom_worker.supervise import Policy, Supervisor, delay_after, next_daily_restart, parse_args

# A stand-in worker: counts its starts in a file and exits with the next code of a script; "wait"
# runs until its standard input closes (as the worker with --stop-on-stdin-eof), "stubborn" ignores that.
CHILD = """
import sys, time
from pathlib import Path
count = Path(sys.argv[1])
start = int(count.read_text() or 0) + 1 if count.exists() else 1
count.write_text(str(start))
codes = sys.argv[2].split(",")
print(f"worker start {start}", flush=True)
code = codes[min(start, len(codes)) - 1]
if code == "wait":
    sys.stdin.read()
    print("stdin closed: clean stop", flush=True)
    sys.exit(0)
if code == "stubborn":
    time.sleep(60)
sys.exit(int(code))
"""


def child(tmp_path: Path, codes: str) -> list[str]:
    return [sys.executable, "-c", CHILD, str(tmp_path / "starts"), codes]


def test_it_restarts_after_failed_logins_and_an_update_then_stops_when_the_token_is_refused(tmp_path: Path) -> None:
    policy = Policy(retry_delay_s=0.05, update_delay_s=0.1, daily_restart=None)
    supervisor = Supervisor(
        child(tmp_path, f"{EXIT_LOGIN_FAILED},{EXIT_LOGIN_FAILED},{EXIT_VERSION_UPDATE},-9,{EXIT_TOKEN_REFUSED}"), policy, log_dir=tmp_path / "logs"
    )
    assert supervisor.run() == EXIT_TOKEN_REFUSED
    assert supervisor.starts == 5
    [day] = (tmp_path / "logs").glob("worker-*.log")
    assert [line for line in day.read_text().splitlines() if line.startswith("worker start")] == [f"worker start {n}" for n in range(1, 6)]


@pytest.mark.parametrize("code", [EXIT_OK, EXIT_CONFIG, EXIT_TOKEN_REFUSED, EXIT_MODE_MISMATCH, EXIT_REPLACED])
def test_it_does_not_loop_on_what_a_person_has_to_fix(tmp_path: Path, code: int) -> None:
    supervisor = Supervisor(child(tmp_path, str(code)), Policy(retry_delay_s=0.01, daily_restart=None))
    assert supervisor.run() == code
    assert supervisor.starts == 1


def test_the_wait_doubles_while_runs_keep_failing_and_is_capped() -> None:
    policy = Policy(retry_delay_s=60, update_delay_s=180, max_delay_s=900)
    assert [delay_after(EXIT_LOGIN_FAILED, quick_failures=n, policy=policy) for n in range(1, 7)] == [60, 120, 240, 480, 900, 900]
    assert delay_after(EXIT_VERSION_UPDATE, quick_failures=1, policy=policy) == 180
    assert delay_after(1, quick_failures=1, policy=policy) == 60  # a crash
    assert {delay_after(code, quick_failures=1, policy=policy) for code in (EXIT_OK, EXIT_CONFIG, EXIT_TOKEN_REFUSED, EXIT_MODE_MISMATCH, EXIT_REPLACED)} == {
        None
    }


def test_the_daily_restart_is_the_next_one_in_korea_time() -> None:
    at = dt.time(7, 30)
    utc = dt.UTC
    # 06:00 KST is 21:00 UTC the day before: today's 07:30 KST is still ahead.
    assert next_daily_restart(dt.datetime(2026, 11, 29, 21, 0, tzinfo=utc), at) == dt.datetime(2026, 11, 30, 7, 30, tzinfo=KST)
    assert next_daily_restart(dt.datetime(2026, 11, 30, 8, 0, tzinfo=KST), at) == dt.datetime(2026, 12, 1, 7, 30, tzinfo=KST)
    assert next_daily_restart(dt.datetime(2026, 11, 30, 7, 30, tzinfo=KST), at) == dt.datetime(2026, 12, 1, 7, 30, tzinfo=KST)


def test_it_stops_the_running_worker_at_the_daily_restart_and_starts_it_fresh(tmp_path: Path) -> None:
    # A clock that reads 07:29:58 KST at the first start and runs at real speed.
    origin, begun = dt.datetime(2026, 11, 30, 7, 29, 58, tzinfo=KST), time.monotonic()
    supervisor = Supervisor(
        child(tmp_path, "wait"), Policy(retry_delay_s=30, daily_restart=dt.time(7, 30)), now=lambda: origin + dt.timedelta(seconds=time.monotonic() - begun)
    )
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(supervisor.run()))
    thread.start()
    deadline = time.monotonic() + 30
    while supervisor.starts < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = supervisor.starts
    supervisor.stopping.set()  # what Ctrl+C or the service manager's stop does
    thread.join(30)
    assert started == 2, "restarted once at 07:30, with no retry delay"
    assert outcome == [EXIT_OK] and not thread.is_alive()


def test_worker_options_go_after_the_double_dash() -> None:
    args, worker = parse_args(["--daily-restart", "off", "--log-dir", "logs", "--", "--backend", "ocx", "--expected-server", "paper"])
    assert args.daily_restart is None and args.log_dir == Path("logs")
    assert worker == ["--backend", "ocx", "--expected-server", "paper"]
    assert parse_args(["--daily-restart", "06:45"])[0].daily_restart == dt.time(6, 45)
    with pytest.raises(SystemExit):
        parse_args(["--daily-restart", "7h"])


def test_a_stop_closes_the_workers_input_first_and_terminates_only_a_worker_that_ignores_it(tmp_path: Path) -> None:
    for behaviour, said in (("wait", "stdin closed: clean stop"), ("stubborn", None)):
        logs = tmp_path / behaviour
        supervisor = Supervisor(child(logs, behaviour), Policy(daily_restart=None, stop_grace_s=1.0), log_dir=logs)
        logs.mkdir()
        thread = threading.Thread(target=supervisor.run)
        thread.start()
        deadline = time.monotonic() + 20
        while not (logs / "starts").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        supervisor.stopping.set()
        thread.join(20)
        assert not thread.is_alive()
        [day] = logs.glob("worker-*.log")
        assert (said in day.read_text()) if said else "clean stop" not in day.read_text()


def test_a_worker_outlives_no_supervisor(tmp_path: Path) -> None:
    """Killed supervisor (Task Scheduler's End, a crash): the real worker sees its input close and stops."""
    psutil = pytest.importorskip("psutil")
    worker = ["--backend", "sim", "--server", "ws://127.0.0.1:9/ws/worker/", "--token", "wk_unused", "--state-dir", str(tmp_path / "state")]
    supervisor = subprocess.Popen([sys.executable, "-m", "kiwoom_worker.supervise", "--daily-restart", "off", "--log-dir", str(tmp_path), "--", *worker])
    try:
        deadline = time.monotonic() + 30
        children: list = []
        while not children and time.monotonic() < deadline:
            children = psutil.Process(supervisor.pid).children()
            time.sleep(0.1)
        [running] = children
        assert "--stop-on-stdin-eof" in running.cmdline()
        supervisor.kill()
        supervisor.wait(10)
        running.wait(timeout=20)  # psutil.TimeoutExpired if the worker stayed behind
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    [day] = tmp_path.glob("worker-*.log")
    assert "standard input closed: stopping" in day.read_text()
