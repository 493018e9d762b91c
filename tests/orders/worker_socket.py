"""A worker's side of /ws/worker/ in-process, for the consumer's tests."""

from __future__ import annotations

import json

from channels.testing import WebsocketCommunicator

from apps.orders.worker_consumer import WorkerConsumer
from kiwoom_worker import protocol


async def connect(token: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(WorkerConsumer.as_asgi(), "/ws/worker/", headers=[(b"authorization", f"Token {token}".encode())])
    connected, _ = await comm.connect()
    assert connected
    return comm


async def hello(comm: WebsocketCommunicator, *, server: str = "paper", accounts: list[str] | None = None, stream: str = "s1") -> dict:
    await comm.send_to(text_data=protocol.encode(protocol.hello(worker_version="t", backend="sim", server=server, accounts=accounts or [], stream_id=stream)))
    return json.loads(await comm.receive_from())
