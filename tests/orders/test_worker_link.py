"""The worker link over a WebSocket: authentication, bad frames, sequencing, replays, commands."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.accounts import services as account_services
from apps.accounts.models import Worker
from apps.orders import services
from apps.orders.models import Execution, Order, OrderStatus, Position
from apps.orders.worker_consumer import WorkerConsumer
from kiwoom_worker import protocol
from tests.orders.worker_socket import connect, hello

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("no_embedded_beat")]
NOW = "2026-03-02T10:00:00+09:00"


async def send_event(comm: WebsocketCommunicator, seq: int, name: str, data: dict) -> list[dict]:
    await comm.send_to(text_data=protocol.encode(protocol.event(seq=seq, name=name, data=data, at=NOW)))
    frames = [json.loads(await comm.receive_from())]
    while frames[-1]["type"] != "ack" and frames[-1].get("code") != protocol.E_SEQ_GAP:
        frames.append(json.loads(await comm.receive_from()))
    return frames


async def test_it_refuses_a_wrong_or_missing_token(paper_worker) -> None:
    for headers in ([(b"authorization", b"Token wk_wrong")], []):
        comm = WebsocketCommunicator(WorkerConsumer.as_asgi(), "/ws/worker/", headers=headers)
        connected, _ = await comm.connect()
        assert not connected
    revoked = paper_worker.worker
    await sync_to_async(account_services.revoke_worker)(worker=revoked)
    comm = WebsocketCommunicator(WorkerConsumer.as_asgi(), "/ws/worker/", headers=[(b"authorization", f"Token {paper_worker.token}".encode())])
    connected, _ = await comm.connect()
    assert not connected


async def test_a_worker_on_the_wrong_server_is_closed(paper_worker) -> None:
    comm = await connect(paper_worker.token)
    frame = await hello(comm, server="real")
    assert frame["code"] == protocol.E_MODE_MISMATCH
    closed = await comm.receive_output()
    assert closed == {"type": "websocket.close", "code": protocol.CLOSE_MODE_MISMATCH}
    worker = await sync_to_async(Worker.objects.get)(pk=paper_worker.worker.pk)
    assert worker.channel_name == ""


async def test_bad_frames_get_error_frames_and_the_connection_survives(paper_worker, settings) -> None:
    settings.WORKER_MAX_FRAME_BYTES = 2048
    comm = await connect(paper_worker.token)
    for raw, code in [
        ("not json", protocol.E_MALFORMED),
        ("[1,2]", protocol.E_MALFORMED),
        (json.dumps({"v": 9, "type": "hello", "id": "x"}), protocol.E_VERSION),
        (json.dumps({"v": 1, "type": "launch", "id": "x"}), protocol.E_UNKNOWN_TYPE),
        (json.dumps({"v": 1, "type": "event", "id": "x", "seq": 1, "event": "order_filled", "data": {}, "at": NOW}), protocol.E_HELLO_FIRST),
        ("x" * 4096, protocol.E_TOO_LARGE),
    ]:
        await comm.send_to(text_data=raw)
        assert json.loads(await comm.receive_from())["code"] == code
    welcome = await hello(comm)
    assert welcome["type"] == "welcome"
    await comm.disconnect()


async def test_events_apply_once_in_sequence(paper_worker, paper_trader, symbols, market_always) -> None:
    order = (
        await sync_to_async(services.submit_order)(
            user=paper_trader.user, account_id=paper_trader.paper.pk, symbol="005930", side="buy", quantity=10, order_type="market"
        )
    ).order
    comm = await connect(paper_worker.token)
    welcome = await hello(comm, accounts=[paper_trader.paper.account_number])
    assert welcome["last_seq"] == 0
    assert paper_trader.paper.account_number in welcome["accounts"]
    command = json.loads(await comm.receive_from())  # the queued order is dispatched after the hello
    assert command["type"] == "command" and command["command"] == "place_order"
    assert command["args"]["order_id"] == order.pk and command["args"]["hoga"] == "03"

    account = paper_trader.paper.account_number
    accepted = {"order_id": order.pk, "account": account, "broker_order_no": "0000001", "symbol": "005930", "side": "buy", "quantity": 10, "price": 0}
    fill = {
        "order_id": order.pk,
        "account": account,
        "broker_order_no": "0000001",
        "fill_no": "1",
        "symbol": "005930",
        "side": "buy",
        "price": 70_100,
        "quantity": 4,
        "fee": 98,
        "tax": 0,
        "executed_at": NOW,
        "remaining_quantity": 6,
    }

    gap = await send_event(comm, 3, protocol.ORDER_ACCEPTED, accepted)
    assert gap[-1]["code"] == protocol.E_SEQ_GAP and gap[-1]["expected"] == 1
    assert (await sync_to_async(Order.objects.get)(pk=order.pk)).status == OrderStatus.SUBMITTED

    ack = (await send_event(comm, 1, protocol.ORDER_ACCEPTED, accepted))[-1]
    assert (ack["type"], ack["seq"]) == ("ack", 1)
    assert (await send_event(comm, 2, protocol.ORDER_FILLED, fill))[-1]["seq"] == 2
    # The same seq again (a replay after a reconnect) is acknowledged and ignored.
    assert (await send_event(comm, 2, protocol.ORDER_FILLED, fill))[-1]["seq"] == 2
    # The same fill under a new seq (a worker re-emitting it) is de-duplicated by its fill number.
    await send_event(comm, 3, protocol.ORDER_FILLED, fill)
    second = {**fill, "fill_no": "2", "quantity": 6, "remaining_quantity": 0}
    await send_event(comm, 4, protocol.ORDER_FILLED, second)

    order = await sync_to_async(Order.objects.get)(pk=order.pk)
    position = await sync_to_async(Position.objects.get)(account=paper_trader.paper, symbol="005930")
    assert (order.status, order.filled_quantity, order.broker_order_no) == (OrderStatus.FILLED, 10, "0000001")
    assert await sync_to_async(Execution.objects.filter(order=order).count)() == 2
    assert position.quantity == 10 and position.cost_basis == 701_000
    await comm.disconnect()

    # After a reconnect the server tells the worker where its stream stands.
    comm = await connect(paper_worker.token)
    assert (await hello(comm, accounts=[account]))["last_seq"] == 4
    await comm.disconnect()


async def test_an_event_that_cannot_apply_is_refused_whole_and_the_stream_moves_on(paper_worker, paper_trader, outsider, symbols, market_always) -> None:
    comm = await connect(paper_worker.token)
    await hello(comm)
    bogus = {
        "order_id": 999_999,
        "account": paper_trader.paper.account_number,
        "broker_order_no": "1",
        "symbol": "005930",
        "side": "buy",
        "quantity": 1,
        "price": 1,
    }
    frames = await send_event(comm, 1, protocol.ORDER_ACCEPTED, bogus)
    assert frames[0]["code"] == protocol.E_REJECTED and frames[-1]["type"] == "ack"
    out_of_scope = {"account": "1234567890", "cash": 1, "positions": []}
    frames = await send_event(comm, 2, protocol.BALANCE, out_of_scope)
    assert frames[0]["code"] == protocol.E_REJECTED
    balance = {
        "account": paper_trader.paper.account_number,
        "cash": 5_000_000,
        "orderable_cash": 4_000_000,
        "d2_cash": 5_000_000,
        "positions": [{"symbol": "005930", "quantity": 3}],
    }
    assert (await send_event(comm, 3, protocol.BALANCE, balance))[-1]["seq"] == 3
    position = await sync_to_async(Position.objects.get)(account=paper_trader.paper, symbol="005930")
    assert position.broker_quantity == 3 and position.quantity == 0
    await comm.disconnect()


async def test_a_cancel_goes_to_the_worker_holding_the_order(paper_worker, paper_trader, symbols, market_always) -> None:
    comm = await connect(paper_worker.token)
    await hello(comm, accounts=[paper_trader.paper.account_number])
    order = (
        await sync_to_async(services.submit_order)(
            user=paper_trader.user, account_id=paper_trader.paper.pk, symbol="005930", side="buy", quantity=1, order_type="limit", price=49_000
        )
    ).order
    place = json.loads(await comm.receive_from())
    assert place["args"]["order_id"] == order.pk
    accepted = {
        "order_id": order.pk,
        "account": paper_trader.paper.account_number,
        "broker_order_no": "0000009",
        "symbol": "005930",
        "side": "buy",
        "quantity": 1,
        "price": 49_000,
    }
    await send_event(comm, 1, protocol.ORDER_ACCEPTED, accepted)
    await sync_to_async(services.cancel_order)(user=paper_trader.user, order_id=order.pk)
    cancel = json.loads(await comm.receive_from())
    assert (cancel["command"], cancel["args"]["broker_order_no"]) == ("cancel_order", "0000009")
    await send_event(
        comm,
        2,
        protocol.ORDER_CANCELED,
        {"order_id": order.pk, "account": paper_trader.paper.account_number, "broker_order_no": "0000009", "canceled_quantity": 1},
    )
    order = await sync_to_async(Order.objects.get)(pk=order.pk)
    assert (order.status, order.canceled_quantity) == (OrderStatus.CANCELED, 1)
    await comm.disconnect()
