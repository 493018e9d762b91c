"""Reference-counted subscriptions reach the worker; quotes reach dashboards conflated."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.accounts import services as account_services
from apps.marketdata import hub, subscriptions
from apps.marketdata.models import Subscription
from apps.orders.dashboard_consumer import ACK_WINDOW, DashboardConsumer
from apps.orders.worker_consumer import WorkerConsumer
from kiwoom_worker import protocol

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _no_embedded_beat(settings) -> None:
    settings.EMBEDDED_BEAT = False


async def worker_socket(token: str, accounts: list[str]) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(WorkerConsumer.as_asgi(), "/ws/worker/", headers=[(b"authorization", f"Token {token}".encode())])
    assert (await comm.connect())[0]
    await comm.send_to(text_data=protocol.encode(protocol.hello(worker_version="t", backend="sim", server="paper", accounts=accounts, stream_id="s")))
    assert json.loads(await comm.receive_from())["type"] == "welcome"
    return comm


async def settled(comm: WebsocketCommunicator) -> WebsocketCommunicator:
    assert await comm.receive_nothing(timeout=0.5)  # the hello's resends and re-registrations are done
    return comm


async def commands(comm: WebsocketCommunicator) -> list[tuple[str, list[str]]]:
    out = []
    while not await comm.receive_nothing(timeout=0.3):
        frame = json.loads(await comm.receive_from())
        if frame["type"] == "command":
            out.append((frame["command"], frame["args"].get("symbols")))
    return out


def refs(code: str) -> int:
    sub = Subscription.objects.filter(symbol_id=code, mode="paper").first()
    return sub.refs if sub else 0


async def test_refcounts_across_two_traders_and_a_position(paper_trader, outsider, symbols) -> None:
    new = await sync_to_async(account_services.create_worker)(name="w", mode="paper", accounts=[paper_trader.paper, outsider.paper])
    comm = await settled(await worker_socket(new.token, [paper_trader.paper.account_number]))
    await sync_to_async(subscriptions.watch)(user=paper_trader.user, symbol="005930")
    await sync_to_async(subscriptions.watch)(user=outsider.user, symbol="005930")
    await sync_to_async(subscriptions.position_opened)(symbol="005930", mode="paper")
    assert await commands(comm) == [("subscribe", ["005930"])]  # only the first reference registers
    assert await sync_to_async(refs)("005930") == 3
    await sync_to_async(subscriptions.unwatch)(user=paper_trader.user, symbol="005930")
    await sync_to_async(subscriptions.unwatch)(user=outsider.user, symbol="005930")
    assert await commands(comm) == []  # the position still needs it
    await sync_to_async(subscriptions.position_closed)(symbol="005930", mode="paper")
    assert await commands(comm) == [("unsubscribe", ["005930"])]
    await comm.disconnect()


async def test_everything_is_registered_again_after_a_reconnect(paper_trader, symbols) -> None:
    new = await sync_to_async(account_services.create_worker)(name="w", mode="paper", accounts=[paper_trader.paper])
    await sync_to_async(subscriptions.watch)(user=paper_trader.user, symbol="000660")
    await sync_to_async(subscriptions.watch)(user=paper_trader.user, symbol="005930")
    comm = await worker_socket(new.token, [paper_trader.paper.account_number])
    assert await commands(comm) == [("subscribe", ["000660", "005930"])]
    await comm.disconnect()


async def test_a_burst_reaches_a_dashboard_as_a_few_updates_with_the_last_value(paper_trader, symbols) -> None:
    await sync_to_async(subscriptions.watch)(user=paper_trader.user, symbol="005930")
    dash = WebsocketCommunicator(DashboardConsumer.as_asgi(), f"/ws/dashboard/?account={paper_trader.paper.pk}")
    dash.scope["user"] = paper_trader.user
    assert (await dash.connect())[0]
    await dash.receive_from()  # the snapshot
    for i in range(1_000):
        hub.deliver({"005930": (70_000 + i, i, 0.01 * i, 1_000 + i)})
        if i % 100 == 0:
            await asyncio.sleep(0)
    frames = []
    while not await dash.receive_nothing(timeout=0.3):
        frames.append(await dash.receive_from())
    assert 1 <= len(frames) <= 20
    assert 'id="quote-005930"' in frames[-1]
    assert '<td class="up">70,999</td>' in frames[-1] and "<td>1,999</td>" in frames[-1]
    await dash.disconnect()


async def test_anonymous_dashboards_are_refused() -> None:
    from django.contrib.auth.models import AnonymousUser

    dash = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    dash.scope["user"] = AnonymousUser()
    assert not (await dash.connect())[0]


async def test_a_dashboard_that_stops_acknowledging_gets_newer_values_not_a_backlog(paper_trader, symbols, settings) -> None:
    """Past the window of unacknowledged frames nothing more is written for that client (Daphne would
    buffer it without limit); held quotes are replaced by newer ones, and an ack releases the newest."""
    settings.QUOTE_UPDATES_PER_S = 100  # many frames quickly; the window, not the rate, must stop them
    codes = ["005930", "000660", "247540"]
    for code in codes:
        await sync_to_async(subscriptions.watch)(user=paper_trader.user, symbol=code)
    dash = WebsocketCommunicator(DashboardConsumer.as_asgi(), f"/ws/dashboard/?account={paper_trader.paper.pk}")
    dash.scope["user"] = paper_trader.user
    assert (await dash.connect())[0]
    await dash.receive_from()  # the snapshot: frame 1
    frames = 1
    for i in range(3_000):  # far more than the window: a quote every few milliseconds per symbol
        hub.deliver({codes[i % 3]: (70_000 + i, 100, 0.1, i)})
        await asyncio.sleep(0.005 if i % 10 == 0 else 0)
    while not await dash.receive_nothing(timeout=0.3):
        await dash.receive_from()
        frames += 1
    assert frames == ACK_WINDOW  # then it stopped writing, however many quotes came
    await dash.send_to(text_data=json.dumps({"seen": frames}))
    released = ""
    while not await dash.receive_nothing(timeout=0.6):
        released += await dash.receive_from()
    for offset, code in enumerate(codes):  # the newest value of each symbol, not the backlog
        newest = 2_997 + offset
        assert f"<td>{newest:,}</td>" in released and released.count(f'id="quote-{code}"') == 1
    await dash.disconnect()


async def test_a_dashboard_message_other_than_a_frame_count_is_ignored(paper_trader, symbols) -> None:
    await sync_to_async(subscriptions.watch)(user=paper_trader.user, symbol="005930")
    dash = WebsocketCommunicator(DashboardConsumer.as_asgi(), f"/ws/dashboard/?account={paper_trader.paper.pk}")
    dash.scope["user"] = paper_trader.user
    assert (await dash.connect())[0]
    await dash.receive_from()
    for junk in ["not json", '{"seen": "5"}', '{"seen": 999}', '{"seen": true}', "[]"]:
        await dash.send_to(text_data=junk)
    assert await dash.receive_nothing(timeout=0.3)  # nothing answered, nothing broken
    hub.deliver({"005930": (71_000, 1_000, 1.43, 5)})
    assert "71,000" in await dash.receive_from()
    await dash.disconnect()
