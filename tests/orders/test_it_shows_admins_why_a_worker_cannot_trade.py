"""A worker whose broker login failed, or that logged in to the wrong server, leaves the reason where admins look."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from apps.accounts.models import Worker
from kiwoom_worker import protocol
from tests.orders.worker_socket import connect, hello

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("no_embedded_beat")]


async def worker_row(paper_worker) -> Worker:
    return await sync_to_async(Worker.objects.get)(pk=paper_worker.worker.pk)


async def test_a_failed_broker_login_is_recorded_and_the_link_closed(paper_worker) -> None:
    comm = await connect(paper_worker.token)
    report = protocol.login_failed(worker_version="0.1.0", backend="ocx", exit_code=5, message="login failed -101: 서버접속실패")
    await comm.send_to(text_data=protocol.encode(report))
    assert await comm.receive_output() == {"type": "websocket.close", "code": 1000}
    worker = await worker_row(paper_worker)
    assert worker.problem == "broker login failed: login failed -101: 서버접속실패 — worker exit code 5, ocx 0.1.0"
    assert worker.problem_at is not None and worker.channel_name == ""


async def test_the_wrong_server_is_recorded_whichever_side_noticed(paper_worker) -> None:
    comm = await connect(paper_worker.token)
    frame = await hello(comm, server="real")
    assert frame["code"] == protocol.E_MODE_MISMATCH
    assert "logged in to the real server, but this worker's token is for paper" in (await worker_row(paper_worker)).problem

    # The worker's own check (--expected-server) refuses before any hello, and says which server it found.
    comm = await connect(paper_worker.token)
    message = "Kiwoom logged in to the real server but this worker is configured for paper; refusing to start"
    await comm.send_to(text_data=protocol.encode(protocol.login_failed(worker_version="0.1.0", backend="ocx", exit_code=4, message=message, server="real")))
    await comm.receive_output()
    assert (await worker_row(paper_worker)).problem.startswith(f"broker login failed (logged in to the real server): {message}")


async def test_a_malformed_report_gets_an_error_frame_and_records_nothing(paper_worker) -> None:
    comm = await connect(paper_worker.token)
    bad = {**protocol.login_failed(worker_version="0.1.0", backend="ocx", exit_code=5, message="x"), "exit_code": "five"}
    await comm.send_to(text_data=json.dumps(bad))
    frame = json.loads(await comm.receive_from())
    assert (frame["type"], frame["code"]) == ("error", protocol.E_MALFORMED) and "exit_code" in frame["message"]
    too_long = protocol.login_failed(worker_version="0.1.0", backend="ocx", exit_code=5, message="x")
    too_long["message"] = "x" * (protocol.LOGIN_MESSAGE_MAX + 1)
    await comm.send_to(text_data=json.dumps(too_long))
    assert json.loads(await comm.receive_from())["code"] == protocol.E_MALFORMED
    assert (await worker_row(paper_worker)).problem == ""
    await comm.disconnect()


async def test_a_good_hello_clears_the_problem(paper_worker) -> None:
    await sync_to_async(Worker.objects.filter(pk=paper_worker.worker.pk).update)(problem="broker login failed: -101")
    comm = await connect(paper_worker.token)
    assert (await hello(comm))["type"] == "welcome"
    assert (await worker_row(paper_worker)).problem == ""
    await comm.disconnect()
