"""The ocx backend's engine driving the control emulator through the same dynamicCall/signal surface.

Time is simulated (the engine and the emulator share one clock), so the rate limits are exercised
exactly and the tests take no wall time.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

pytest.importorskip("PyQt5.QtCore")

from kiwoom_worker import protocol
from kiwoom_worker.backend import CommandError, LoginError, LoginResult
from kiwoom_worker.link import EXIT_LOGIN_FAILED, EXIT_MODE_MISMATCH, EXIT_VERSION_UPDATE
from kiwoom_worker.ocx import dialogs
from kiwoom_worker.ocx.backend import OcxBackend
from kiwoom_worker.ocx.engine import Engine
from kiwoom_worker.ocx.limits import Priority
from tests.kiwoom_worker.ocx_emulator import Holding, KiwoomEmulator

ACCOUNT = "8100000111"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ticks: list[Any] = []
        self.failed: tuple[str, int] | None = None

    def emit(self, name: str, data: dict[str, Any]) -> None:
        self.events.append((name, data))

    def emit_ticks(self, ticks: list[Any]) -> None:
        self.ticks += ticks

    def fail(self, message: str, exit_code: int) -> None:
        self.failed = (message, exit_code)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]


@pytest.fixture
def rig() -> tuple[KiwoomEmulator, Engine, Sink, Clock]:
    clock, sink = Clock(), Sink()
    emulator = KiwoomEmulator(clock=clock)
    engine = Engine(emulator, sink, clock=clock)
    login = engine.login()
    assert login.result(timeout=1).server == "paper"
    return emulator, engine, sink, clock


def run(engine: Engine, clock: Clock, seconds: float, step: float = 0.01) -> None:
    """Turns of the Qt event loop on the simulated clock: the engine's timer, then the control's events."""
    end = clock.now + seconds
    while clock.now < end:
        engine.pump()
        engine.control.ocx.deliver()
        clock.now += step


def order(order_id: int, *, quantity: int = 10, order_type: str = "limit", price: int = 70_000, side: str = "buy") -> dict[str, Any]:
    hoga = "03" if order_type == "market" else "00"
    return {
        "order_id": order_id,
        "account": ACCOUNT,
        "symbol": "005930",
        "side": side,
        "quantity": quantity,
        "order_type": order_type,
        "hoga": hoga,
        "price": price,
    }


def test_login_reports_the_server_actually_logged_in_to() -> None:
    for server in ("paper", "real"):
        engine = Engine(KiwoomEmulator(server=server, accounts=("8100000111", "8100000222")), Sink())
        result = engine.login().result(timeout=1)
        assert (result.server, result.accounts) == (server, ["8100000111", "8100000222"])


def start_backend(server: str, expected_server: str | None) -> LoginResult:
    """OcxBackend.start on an asyncio thread while this thread plays the Qt thread, as on Windows."""
    engine = Engine(KiwoomEmulator(server=server), Sink())
    backend = OcxBackend(engine, expected_server=expected_server)
    outcome: list[Any] = []

    def link_thread() -> None:
        try:
            outcome.append(asyncio.run(backend.start(Sink())))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=link_thread)
    thread.start()
    while thread.is_alive():
        engine.pump()
        engine.control.ocx.deliver()
        thread.join(0.005)
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


def test_a_worker_set_for_paper_refuses_to_run_on_the_real_server_and_back() -> None:
    for server, expected in (("real", "paper"), ("paper", "real")):
        with pytest.raises(LoginError, match=f"logged in to the {server} server but this worker is configured for {expected}") as error:
            start_backend(server, expected)
        assert error.value.exit_code == EXIT_MODE_MISMATCH
    # Matching, or not configured (then the platform checks the hello against the token's mode).
    assert start_backend("real", "real").server == "real"
    assert start_backend("real", None).server == "real"


@pytest.mark.parametrize(("code", "exit_code"), [(-100, EXIT_LOGIN_FAILED), (-101, EXIT_LOGIN_FAILED), (-102, EXIT_VERSION_UPDATE)])
def test_login_errors_say_what_happened_and_how_to_exit(code: int, exit_code: int) -> None:
    with pytest.raises(LoginError) as error:
        Engine(KiwoomEmulator(login_code=code), Sink()).login().result(timeout=1)
    assert error.value.exit_code == exit_code and str(code) in str(error.value)


def test_a_login_that_never_answers_ends_with_a_clear_error() -> None:
    clock = Clock()
    engine = Engine(KiwoomEmulator(answer_login=False, clock=clock), Sink(), clock=clock)
    login = engine.login()
    run(engine, clock, 125, step=1)
    with pytest.raises(LoginError, match="version-update") as error:
        login.result(timeout=1)
    assert error.value.exit_code == EXIT_VERSION_UPDATE


def test_the_version_update_window_ends_the_login_at_once_with_its_own_exit_code() -> None:
    clock = Clock()
    opened_at = clock.now + 3  # the update window opens a few seconds into the login; OnEventConnect never comes
    engine = Engine(
        KiwoomEmulator(answer_login=False, clock=clock),
        Sink(),
        clock=clock,
        find_update_dialog=lambda: "opstarter" if clock.now >= opened_at else None,
    )
    login = engine.login()
    run(engine, clock, 2.5, step=0.1)
    assert not login.done()
    run(engine, clock, 2, step=0.1)
    assert login.done(), "found within a second of the window opening, not after the 120 s login timeout"
    with pytest.raises(LoginError, match="version-update window is open \\('opstarter'\\)") as error:
        login.result(timeout=0)
    assert error.value.exit_code == EXIT_VERSION_UPDATE


def test_update_windows_are_recognised_by_title() -> None:
    assert dialogs._matching_window(["Program Manager", "OpStarter"]) == "OpStarter"
    assert dialogs._matching_window(["업그레이드 확인"]) == "업그레이드 확인"
    assert dialogs._matching_window(["Open API Login", "영웅문4", ""]) is None


def test_order_number_accepted_partial_fills_complete_then_balance(rig) -> None:
    emulator, engine, sink, clock = rig
    sent = engine.place(order(1))
    run(engine, clock, 0.05)
    sent.result(timeout=1)
    [accepted] = sink.named(protocol.ORDER_ACCEPTED)
    number = accepted["broker_order_no"]
    emulator.fill(number, 4, 70_000)
    emulator.fill(number, 6, 69_900)
    fills = sink.named(protocol.ORDER_FILLED)
    assert [(f["order_id"], f["quantity"], f["price"], f["remaining_quantity"]) for f in fills] == [(1, 4, 70_000, 6), (1, 6, 69_900, 0)]
    assert fills[0]["fee"] == 70_000 * 4 * 35 // 10_000
    run(engine, clock, 1)  # the balance events (gubun 1) bring one coalesced balance query
    [balance] = sink.named(protocol.BALANCE)
    assert balance["positions"] == [{"symbol": "005930", "quantity": 10, "sellable_quantity": 10, "avg_price": balance["positions"][0]["avg_price"]}]


def test_chejan_before_tr_data_still_matches(rig) -> None:
    emulator, engine, sink, clock = rig
    emulator.reverse_chejan = True
    engine.place(order(2, order_type="market", price=0))
    run(engine, clock, 0.05)
    assert [name for name, _ in sink.events][:3] == [protocol.ORDER_SUBMITTED, protocol.ORDER_ACCEPTED, protocol.ORDER_FILLED]
    assert sink.named(protocol.ORDER_FILLED)[0]["order_id"] == 2
    assert sink.named(protocol.ORDER_EVENT_UNMATCHED) == []


def test_a_mock_server_reject_carries_the_message_from_on_receive_msg(rig) -> None:
    _emulator, engine, sink, clock = rig
    engine.place(order(3, quantity=10_000))  # 700,000,000 won against 100,000,000 of cash
    run(engine, clock, 0.05)
    [rejected] = sink.named(protocol.ORDER_REJECTED)
    assert rejected["order_id"] == 3 and "증거금 부족" in rejected["message"]


def test_price_types_the_mock_server_does_not_take_are_refused_before_send_order(rig) -> None:
    emulator, engine, _sink, clock = rig
    for hoga, code in (("06", "HOGA_NOT_ON_PAPER"), ("99", "INVALID_HOGA")):
        with pytest.raises(CommandError) as error:
            engine.place({**order(4), "hoga": hoga})  # 06 최유리지정가: real server only
        assert error.value.code == code
    assert emulator.sent_orders == []

    real = KiwoomEmulator(server="real", clock=clock)
    on_real = Engine(real, Sink(), clock=clock)
    on_real.login().result(timeout=1)
    on_real.place({**order(5), "hoga": "06"})  # allowed there, and sent without a price as Kiwoom requires
    run(on_real, clock, 0.05)
    assert [o.price for o in real.orders.values()] == [0]


def test_cancel_confirmed_then_a_late_fill_reaches_its_order(rig) -> None:
    emulator, engine, sink, clock = rig
    engine.place(order(4))
    run(engine, clock, 0.05)
    number = sink.named(protocol.ORDER_ACCEPTED)[0]["broker_order_no"]
    engine.cancel({"order_id": 4, "account": ACCOUNT, "symbol": "005930", "side": "buy", "broker_order_no": number, "quantity": 0})
    run(engine, clock, 0.05)
    [canceled] = sink.named(protocol.ORDER_CANCELED)
    assert (canceled["order_id"], canceled["broker_order_no"], canceled["canceled_quantity"]) == (4, number, 10)
    emulator.late_fill(number, 2, 70_000)
    [late] = sink.named(protocol.ORDER_FILLED)
    assert (late["order_id"], late["broker_order_no"], late["quantity"]) == (4, number, 2)


def test_modify_creates_a_new_number_linked_by_904(rig) -> None:
    emulator, engine, sink, clock = rig
    engine.place(order(5))
    run(engine, clock, 0.05)
    number = sink.named(protocol.ORDER_ACCEPTED)[0]["broker_order_no"]
    engine.modify({"order_id": 5, "account": ACCOUNT, "symbol": "005930", "side": "buy", "broker_order_no": number, "quantity": 0, "price": 69_500})
    run(engine, clock, 0.05)
    [replaced] = sink.named(protocol.ORDER_REPLACED)
    assert (replaced["order_id"], replaced["broker_order_no"], replaced["price"]) == (5, number, 69_500)
    emulator.fill(replaced["new_broker_order_no"], 10, 69_500)
    assert sink.named(protocol.ORDER_FILLED)[0]["order_id"] == 5


def test_a_burst_of_30_orders_goes_out_without_a_single_overflow_and_by_priority(rig) -> None:
    emulator, engine, sink, clock = rig
    futures = [engine.place(order(100 + i, quantity=1 + i)) for i in range(24)]
    futures += [engine.place(order(200 + i, side="buy"), priority=Priority.EMERGENCY) for i in range(6)]
    run(engine, clock, 7)
    assert all(f.done() and f.exception() is None for f in futures)
    assert emulator.overflows == 0
    sent_times = [t for t, _rq, code in emulator.sent_orders if code == 0]
    assert len(sent_times) == 30 and all(sum(1 for t in sent_times if start <= t < start + 1) <= 5 for start in sent_times)
    submitted = [e["order_id"] for e in sink.named(protocol.ORDER_SUBMITTED)]
    assert submitted == [200 + i for i in range(6)] + [100 + i for i in range(24)]


def test_positions_come_back_over_three_pages(rig) -> None:
    emulator, engine, sink, clock = rig
    emulator.accounts[ACCOUNT].holdings = {f"{n:06d}": Holding(n, 1_000) for n in range(1, 51)}
    done = engine.query_balance(ACCOUNT)
    run(engine, clock, 30, step=0.1)
    done.result(timeout=1)
    [balance] = sink.named(protocol.BALANCE)
    assert len(balance["positions"]) == 50 and balance["positions"][-1] == {"symbol": "000050", "quantity": 50, "sellable_quantity": 50, "avg_price": 1_000}
    assert emulator.calls.count("CommRqData") == 4  # three opw00018 pages and one opw00001


def test_a_hung_query_times_out_with_a_clear_error(rig) -> None:
    emulator, engine, _sink, clock = rig
    emulator.hang_queries = True
    done = engine.query_balance(ACCOUNT)
    run(engine, clock, 11, step=0.5)
    with pytest.raises(CommandError, match="TR_TIMEOUT") as error:
        done.result(timeout=1)
    assert "opw00018" in str(error.value)


def test_250_codes_registered_across_screens_ticks_flow_and_removal_stops_them(rig) -> None:
    emulator, engine, sink, _clock = rig
    codes = [f"{n:06d}" for n in range(1, 251)]
    assert engine.subscribe(codes) == codes  # no call over 100 codes, no screen past 200 (the emulator checks)
    assert emulator.registered() == set(codes) and len(emulator.real) == 3
    emulator.trade("000007", 10_100, -3, 500)
    [tick] = sink.ticks
    assert (tick.symbol, tick.price, tick.volume, tick.cum_volume) == ("000007", 10_100, -3, 500)
    engine.unsubscribe(codes)
    emulator.trade("000007", 10_200, 1, 501)
    assert emulator.registered() == set() and len(sink.ticks) == 1


def test_after_a_disconnect_every_code_is_registered_again(rig) -> None:
    emulator, engine, _sink, _clock = rig
    engine.subscribe(["005930", "000660"])
    emulator.disconnect()
    assert emulator.registered() == set()
    engine.login().result(timeout=1)
    engine.reregister()
    assert emulator.registered() == {"005930", "000660"}


def test_a_lost_connection_is_noticed_and_reported_once(rig) -> None:
    emulator, engine, _sink, clock = rig
    lost: list[bool] = []
    engine.on_connection_lost = lambda: lost.append(True)
    run(engine, clock, 3)
    assert lost == []
    emulator.disconnect()
    run(engine, clock, 5)
    assert lost == [True]


def test_the_symbol_master_comes_from_the_controls_master_file(rig) -> None:
    _emulator, engine, sink, _clock = rig
    assert engine.emit_symbol_master() == 6
    rows = {row["code"]: row for row in sink.named(protocol.SYMBOL_MASTER)[0]["symbols"]}
    assert rows["005930"] == {
        "code": "005930", "name": "삼성전자", "market": "KOSPI", "kind": "stock", "previous_close": 70_000, "kospi200": False, "suspended": False,
    }  # fmt: skip
    assert (rows["005935"]["kind"], rows["069500"]["kind"], rows["550001"]["kind"]) == ("preferred", "etf", "etn")
    assert rows["247540"]["market"] == "KOSDAQ" and rows["000660"]["suspended"] is True


def test_session_phases_arrive_as_market_status_events(rig) -> None:
    emulator, engine, sink, _clock = rig
    emulator.market_phase("0", now="084000", opens_in="002000")
    assert sink.named(protocol.MARKET_STATUS) == []  # not registered yet: nothing arrives
    engine.reregister()
    emulator.market_phase("0", now="084000", opens_in="002000")
    emulator.market_phase("3", now="090000")
    emulator.market_phase("2", now="152000")
    emulator.market_phase("s", now="153000")  # undocumented codes are passed on, not guessed
    phases = [(e["phase"], e["at"][11:19], e.get("opens_in")) for e in sink.named(protocol.MARKET_STATUS)]
    assert phases == [("pre_open", "08:40:00", "00:20:00"), ("open", "09:00:00", None), ("closing_auction", "15:20:00", None), ("kiwoom_s", "15:30:00", None)]
    assert all(e["at"].endswith("+09:00") for e in sink.named(protocol.MARKET_STATUS))


def test_fills_made_while_disconnected_come_back_as_order_totals_after_the_restart(rig) -> None:
    emulator, engine, sink, clock = rig
    engine.place(order(5, quantity=10))
    run(engine, clock, 0.05)
    [accepted] = sink.named(protocol.ORDER_ACCEPTED)
    number = accepted["broker_order_no"]
    emulator.fill(number, 4, 70_000)
    emulator.disconnect()
    emulator.fill(number, 6, 69_900, pieces=2)  # the exchange goes on; the control hears nothing, ever
    assert sum(f["quantity"] for f in sink.named(protocol.ORDER_FILLED)) == 4
    # The worker exits (code 5) and its supervisor starts a new one, which logs in and reconciles.
    fresh_sink = Sink()
    fresh = Engine(emulator, fresh_sink, clock=clock)
    fresh.login().result(timeout=1)
    done = fresh.query_open_orders(ACCOUNT)
    run(fresh, clock, 1)
    done.result(timeout=1)
    [report] = fresh_sink.named(protocol.OPEN_ORDERS)
    assert report["orders"] == []  # nothing open: the server must not take it for a cancel, hence the totals
    assert report["today"] == [{"broker_order_no": number, "symbol": "005930", "side": "buy", "filled_quantity": 10, "filled_amount": 4 * 70_000 + 6 * 69_900}]


def test_the_maintenance_window_ends_the_session_and_refuses_logins_until_it_is_over(rig) -> None:
    emulator, engine, sink, clock = rig
    lost: list[float] = []
    engine.on_connection_lost = lambda: lost.append(clock.now)
    engine.subscribe(["005930"])
    engine.place(order(1))
    run(engine, clock, 0.5)

    emulator.maintenance(minutes=10)
    run(engine, clock, 3, step=0.1)
    assert len(lost) == 1, "the dropped connection is noticed (no event comes from the control) and reported once"

    # A login inside the window (the supervisor's restart a minute later) fails as restartable, not as an update.
    clock.now += 60
    retry = engine.login()
    run(engine, clock, 0.1)
    with pytest.raises(LoginError, match="-101") as error:
        retry.result(timeout=0)
    assert error.value.exit_code == EXIT_LOGIN_FAILED

    # After the window: logged in again, the real-time codes registered anew, the resting order still there.
    clock.now += 600
    assert engine.login().result(timeout=1).server == "paper"
    engine.reregister()
    assert emulator.registered() == {"005930"}
    engine.query_open_orders(ACCOUNT)
    run(engine, clock, 1)
    [open_orders] = sink.named(protocol.OPEN_ORDERS)
    assert [o["remaining_quantity"] for o in open_orders["orders"]] == [10]


def test_todays_band_base_comes_from_opt10001_for_what_is_held_or_working(rig) -> None:
    emulator, engine, sink, clock = rig
    emulator.accounts[ACCOUNT].holdings["005930"] = Holding(10, 69_000)
    engine.place({**order(6, price=35_000, quantity=1), "symbol": "069500"})  # rests: a working order in the ETF
    run(engine, clock, 0.05)
    emulator.base_price["005930"] = 68_600  # ex-dividend: the band moves off yesterday's close of 70,000
    engine.query_balance(ACCOUNT)
    engine.query_open_orders(ACCOUNT)
    run(engine, clock, 3)
    assert engine.held_symbols() == ["005930", "069500"]

    engine.query_symbol_info([*engine.held_symbols(), "999990"])  # an unknown code is left out, not fatal
    run(engine, clock, 25, step=0.05)  # three queries under Kiwoom's query windows
    [info] = sink.named(protocol.SYMBOL_INFO)
    assert sorted(info["symbols"], key=lambda r: r["code"]) == [
        {"code": "005930", "name": "삼성전자", "base_price": 68_600, "upper_limit": 89_100, "lower_limit": 48_100, "last_price": 70_000},
        {"code": "069500", "name": "KODEX 200", "base_price": 35_000, "upper_limit": 45_500, "lower_limit": 24_500, "last_price": 35_000},
    ]
