"""Daphne + the real worker with the ocx backend hosting the control emulator: an API order is filled end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PyQt5.QtWidgets")

from bench.harness import Stack, build_stack, eventually
from kiwoom_worker.link import EXIT_MODE_MISMATCH

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    built = build_stack("embedded", tmp_path)
    try:
        built.start_server()
        built.start_ocx_worker([str(a["number"]) for a in built.demo["users"]["paper"]["accounts"] if a["mode"] == "paper"])
        yield built
    finally:
        built.stop_all()


def test_an_api_order_is_filled_through_the_ocx_backend(stack: Stack) -> None:
    token = stack.demo["tokens"]["paper"]
    account = next(a["id"] for a in stack.demo["users"]["paper"]["accounts"] if a["mode"] == "paper")
    # The reconcile after login (opw00018, opw00001, opt10075 under Kiwoom's query limits) reports the balance.
    eventually(
        lambda: stack.api("GET", "/api/accounts", token)[1][0]["balance_reported_at"],
        timeout_s=60,
        message=f"ocx worker connected ({stack.tail('worker', 30)})",
    )
    # The listings came from the control's master file (the database started empty of symbols).
    listed = {s["code"]: s for s in stack.api("GET", "/api/symbols?q=0", token)[1]}
    assert listed["005930"]["name"] == "삼성전자" and listed["069500"]["kind"] == "etf", listed
    # 거래정지 in the control's master file: the server denies the order before it reaches the worker.
    status, suspended = stack.api("POST", "/api/orders", token, {"account": account, "symbol": "000660", "side": "buy", "quantity": 1, "order_type": "market"})
    assert (suspended["status"], suspended["reason_code"]) == ("DENIED", "SYMBOL_SUSPENDED"), (status, suspended)
    status, order = stack.api("POST", "/api/orders", token, {"account": account, "symbol": "005930", "side": "buy", "quantity": 3, "order_type": "market"})
    assert status == 201, (order["reason_code"], order["reason_message"])
    final = eventually(
        lambda: (o := stack.api("GET", f"/api/orders/{order['id']}", token)[1])["status"] == "FILLED" and o,
        timeout_s=60,
        message=f"filled through the emulated control ({stack.tail('worker', 30)})",
    )
    assert final["filled_quantity"] == 3 and final["broker_order_no"]
    fills = [e for e in stack.api("GET", "/api/executions", token)[1] if e["order"] == order["id"]]
    assert sum(f["quantity"] for f in fills) == 3


@pytest.mark.parametrize("worker_checks", [True, False], ids=["worker_refuses", "platform_refuses"])
def test_a_login_on_the_real_server_never_serves_a_paper_token(tmp_path: Path, worker_checks: bool) -> None:
    """Kiwoom logged in to the real server (the 모의투자 box left unticked) while the token is for paper."""
    stack = build_stack("embedded", tmp_path)
    try:
        stack.start_server()
        accounts = [str(a["number"]) for a in stack.demo["users"]["paper"]["accounts"] if a["mode"] == "paper"]
        stack.start_ocx_worker(accounts, "--emulated-server", "real", expected_server="paper" if worker_checks else None)
        worker = stack.procs["worker"]
        exit_code = eventually(lambda: worker.poll(), timeout_s=60, message=f"worker exits ({stack.tail('worker', 30)})")
        assert exit_code == EXIT_MODE_MISMATCH, stack.tail("worker", 30)
        said = "this worker is configured for paper" if worker_checks else "token is for the paper server; the worker reported real"
        assert said in stack.tail("worker", 60)
        token = stack.demo["tokens"]["paper"]
        # Nothing from the real login reached the platform: no balance, not even the symbol master.
        assert all(not a["balance_reported_at"] for a in stack.api("GET", "/api/accounts", token)[1])
        assert stack.api("GET", "/api/symbols?q=0", token)[1] == []
        # Admins see why in Django admin → Workers, without the Windows PC's log.
        problems = stack.manage(
            "shell", "-c", "from apps.accounts.models import Worker; print(*Worker.objects.exclude(problem='').values_list('problem', flat=True))"
        )
        assert "real server" in problems and "paper" in problems, problems
    finally:
        stack.stop_all()
