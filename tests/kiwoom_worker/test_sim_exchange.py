"""The sim paper exchange answers like Kiwoom's paper server and stays on the KRX grid."""

from __future__ import annotations

import pytest

from kiwoom_worker import market_rules, protocol
from kiwoom_worker.sim.exchange import Exchange, Reject
from kiwoom_worker.sim.symbols import SYMBOLS

ACCOUNT = "8100000111"


def exchange(seed: int = 3, **kwargs: object) -> Exchange:
    ex = Exchange(seed=seed, **kwargs)  # type: ignore[arg-type]
    ex.open_account(ACCOUNT)
    return ex


def order(**kwargs: object) -> dict[str, object]:
    return {"order_id": 1, "account": ACCOUNT, "symbol": "005930", "side": "buy", "quantity": 10, "hoga": "03", "price": 0, **kwargs}


def names(ex: Exchange) -> list[str]:
    return [e.name for e in ex.drain()]


def test_the_master_has_real_listings_on_the_tick_grid() -> None:
    assert {"005930", "005935", "069500", "247540", "0126Z0"} <= set(SYMBOLS)
    for code, s in SYMBOLS.items():
        assert market_rules.is_on_tick(s["previous_close"], s["kind"]), code


def test_a_market_order_gets_a_number_then_fills_with_mock_fees() -> None:
    ex = exchange()
    number = ex.place(order())
    events = ex.drain()
    assert [e.name for e in events][:2] == [protocol.ORDER_SUBMITTED, protocol.ORDER_ACCEPTED]
    assert events[1].data["broker_order_no"] == number == "0000001"
    fills = [e.data for e in events if e.name == protocol.ORDER_FILLED]
    assert sum(f["quantity"] for f in fills) == 10
    price = fills[0]["price"]
    assert fills[0]["fee"] == price * 10 * 35 // 10_000
    assert fills[0]["tax"] == 0


def test_large_orders_fill_in_pieces_with_increasing_fill_numbers() -> None:
    ex = exchange()
    ex.place(order(symbol="117580", quantity=5_000))
    for _ in range(100):
        ex.step()
    fills = [e.data for e in ex.drain() if e.name == protocol.ORDER_FILLED]
    assert [f["fill_no"] for f in fills] == [str(i) for i in range(1, len(fills) + 1)]
    assert sum(f["quantity"] for f in fills) == 5_000
    assert fills[-1]["remaining_quantity"] == 0
    assert len(fills) > 5


def test_a_resting_limit_order_can_be_cancelled() -> None:
    ex = exchange()
    lower = market_rules.price_band(SYMBOLS["005930"]["previous_close"]).lower
    number = ex.place(order(hoga="00", price=lower, quantity=3))
    assert protocol.ORDER_FILLED not in names(ex)
    ex.cancel({"account": ACCOUNT, "broker_order_no": number})
    canceled = ex.drain()
    assert (canceled[0].name, canceled[0].data["canceled_quantity"]) == (protocol.ORDER_CANCELED, 3)
    with pytest.raises(Reject):
        ex.cancel({"account": ACCOUNT, "broker_order_no": number})


def test_modify_creates_a_new_order_number() -> None:
    ex = exchange()
    lower = market_rules.price_band(SYMBOLS["005930"]["previous_close"]).lower
    number = ex.place(order(hoga="00", price=lower, quantity=3))
    ex.drain()
    ex.modify({"account": ACCOUNT, "broker_order_no": number, "price": lower + 100})
    replaced = ex.drain()[0].data
    assert replaced["broker_order_no"] == number
    assert replaced["new_broker_order_no"] != number
    assert ex.open_orders(ACCOUNT)["orders"][0]["broker_order_no"] == replaced["new_broker_order_no"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"symbol": "999999"}, "800050"),
        ({"hoga": "00", "price": 70_050}, "800080"),
        ({"hoga": "00", "price": 10_000}, "800090"),
        ({"hoga": "05", "price": 70_000}, "800060"),
        ({"quantity": 100_000}, "800033"),
        ({"side": "sell"}, "800034"),
        ({"account": "9999999999"}, "800100"),
        ({"price": 70_000}, "00Z237"),
    ],
)
def test_it_rejects_like_the_paper_server(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(Reject) as caught:
        exchange().place(order(**kwargs))
    assert caught.value.code == code


def test_prices_stay_on_the_grid_and_inside_the_band() -> None:
    ex = exchange(seed=11)
    for _ in range(2_000):
        ex.step()
        for code, s in SYMBOLS.items():
            price = ex.price(code)
            assert market_rules.is_on_tick(price, s["kind"])
            assert market_rules.price_band(s["previous_close"], s["kind"]).contains(price)


def test_the_same_seed_gives_the_same_path_and_fills() -> None:
    def run(seed: int) -> list[object]:
        ex = exchange(seed=seed)
        ex.place(order(symbol="117580", quantity=3_000))
        for _ in range(50):
            ex.step()
        return [(e.name, e.data.get("price"), e.data.get("quantity")) for e in ex.drain()] + [ex.price("005930")]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_state_round_trips_through_json() -> None:
    import json

    ex = exchange()
    ex.place(order(symbol="117580", quantity=3_000))
    ex.step()
    again = Exchange(seed=3, state=json.loads(json.dumps(ex.state)))
    assert again.state == ex.state
    assert again.balance(ACCOUNT) == ex.balance(ACCOUNT)
