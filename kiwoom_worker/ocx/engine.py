"""The part of the ocx backend that lives on the Qt thread owning the control.

Everything that touches the control happens here, on that one thread: the asyncio side hands work
over through ``call`` (a thread-safe queue drained by ``pump``, which a QTimer runs every few
milliseconds) and gets a Future back. Orders and queries go through the scheduler (Kiwoom's limits,
priorities), real-time codes through the screen manager, order events through the correlator.
Nothing here waits without a deadline: a login, a query page or a reject reason that never comes
is reported, not hung on.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from kiwoom_worker import protocol
from kiwoom_worker.backend import CommandError, EventSink, LoginError, LoginResult
from kiwoom_worker.link import EXIT_LOGIN_FAILED, EXIT_VERSION_UPDATE
from kiwoom_worker.ocx import dialogs, fields
from kiwoom_worker.ocx.chejan import Correlator, Sent, Working
from kiwoom_worker.ocx.control import HOGA_CODES, LOGIN_ERRORS, ORDER_TYPES, PAPER_HOGAS, PRICED_HOGAS, Control, op_err
from kiwoom_worker.ocx.limits import Job, Priority, Scheduler
from kiwoom_worker.ocx.screens import ScreenManager, ScreensExhausted

log = logging.getLogger(__name__)
LOGIN_TIMEOUT_S = 120.0
TR_TIMEOUT_S = 10.0
REJECT_REASON_WAIT_S = 2.0
CONNECTION_CHECK_S = 2.0
DIALOG_CHECK_S = 1.0
OVERFLOW = {-308, -200}


@dataclass
class Query:
    """A TR request in flight, page by page (prev_next "2" asks for the next page)."""

    trcode: str
    inputs: dict[str, str]
    rows: list[dict[str, str]]
    fields_single: tuple[str, ...]
    fields_multi: tuple[str, ...]
    done: Callable[[dict[str, str], list[dict[str, str]]], None]
    future: Future[Any]
    screen: str = ""
    single: dict[str, str] = field(default_factory=dict)
    sent_at: float | None = None


class Engine:
    def __init__(
        self,
        ocx: Any,
        sink: EventSink | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        unmatched_after_s: float = 10.0,
        find_update_dialog: Callable[[], str | None] = dialogs.find_update_dialog,
    ) -> None:
        self.control = Control(ocx)
        self.find_update_dialog = find_update_dialog
        self._dialog_checked_at = 0.0
        self.sink: EventSink = sink if sink is not None else _NoSink()
        self.clock = clock
        self.scheduler = Scheduler()
        self.screens = ScreenManager()
        self.correlator = Correlator(unmatched_after_s=unmatched_after_s)
        self._inbox: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._login: tuple[Future[LoginResult], float] | None = None
        self._order_screens: dict[str, str] = {}  # rqname -> screen, released when the number arrives
        self._no_number: dict[str, float] = {}  # rqname -> when a blank order number came; the reason follows in OnReceiveMsg
        self._queries: dict[str, Query] = {}
        self._balance_due: set[str] = set()
        self._held: dict[tuple[str, str], set[str]] = {}  # (account, "positions" | "orders") -> symbols
        self._on_expire: dict[int, Callable[[CommandError], None]] = {}
        self._seq = 0
        # Set by the backend: called once when the control reports the connection gone.
        self.on_connection_lost: Callable[[], None] | None = None
        self._logged_in = False
        self.server: str | None = None  # from GetServerGubun at login
        self._state_checked_at = 0.0
        self._market_screen: str | None = None
        ocx.OnEventConnect.connect(self._on_connect)
        ocx.OnReceiveTrData.connect(self._on_tr_data)
        ocx.OnReceiveMsg.connect(self._on_msg)
        ocx.OnReceiveChejanData.connect(self._on_chejan)
        ocx.OnReceiveRealData.connect(self._on_real)

    # From other threads -------------------------------------------------------------------------
    def call(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` on the Qt thread at the next pump; its Future carries the result or the exception."""
        future: Future[Any] = Future()
        self._inbox.put((fn, future))
        return future

    # The Qt thread's heartbeat (a QTimer calls it) ---------------------------------------------------
    def pump(self) -> None:
        while True:
            try:
                fn, future = self._inbox.get_nowait()
            except queue.Empty:
                break
            try:
                result = fn()
            except Exception as exc:
                future.set_exception(exc)
            else:
                if isinstance(result, Future):
                    result.add_done_callback(lambda done, future=future: _chain(done, future))
                else:
                    future.set_result(result)
        now = self.clock()
        for expired in self.scheduler.expire(now):
            log.error("%s not sent within its deadline (waited %.1f s)", expired.job.label, expired.waited_s)
            fail = self._on_expire.pop(expired.job.seq, None)
            if fail is not None:
                fail(CommandError("TIMEOUT", f"{expired.job.label}: not sent in time"))
        while True:
            job, _wait = self.scheduler.next_ready(now)
            if job is None:
                break
            try:
                job.run()
            except Exception as exc:
                # An exception escaping a Qt slot aborts the process (PyQt5): report the one job instead.
                log.exception("%s failed", job.label)
                fail = self._on_expire.pop(job.seq, None)
                if fail is not None:
                    fail(CommandError("INTERNAL", f"{job.label}: {exc}"))
        for name, data in self.correlator.expire(now=now):
            self.sink.emit(name, data)
        self._expire_waits(now)
        self._check_connection(now)

    def _check_connection(self, now: float) -> None:
        # The control raises no event when its connection drops (maintenance at about 05:05, a network
        # cut); GetConnectState says so. Checked every couple of seconds, reported once.
        if not self._logged_in or now - self._state_checked_at < CONNECTION_CHECK_S:
            return
        self._state_checked_at = now
        if self.control.connect_state() == 0:
            self._logged_in = False
            log.error("the Kiwoom connection is gone")
            if self.on_connection_lost is not None:
                self.on_connection_lost()

    def _expire_waits(self, now: float) -> None:
        if self._login is not None and now - self._dialog_checked_at >= DIALOG_CHECK_S:
            self._dialog_checked_at = now
            title = self.find_update_dialog()
            if title is not None:
                future, _ = self._login
                self._login = None
                message = f"Kiwoom's version-update window is open ({title!r}): the module must be updated; exiting so the update can run"
                future.set_exception(LoginError(message, exit_code=EXIT_VERSION_UPDATE))
        if self._login is not None and now - self._login[1] > LOGIN_TIMEOUT_S:
            future, _ = self._login
            self._login = None
            future.set_exception(LoginError("no answer to the login (is Kiwoom's version-update dialog open?)", exit_code=EXIT_VERSION_UPDATE))
        for rqname, since in list(self._no_number.items()):
            if now - since > REJECT_REASON_WAIT_S:
                del self._no_number[rqname]
                self._emit_all(self.correlator.order_number(rqname, "", "주문번호 없음 (거부 사유 미수신)", now=now))
        for rqname, query in list(self._queries.items()):
            if query.sent_at is not None and now - query.sent_at > TR_TIMEOUT_S:
                self._end_query(rqname)
                query.future.set_exception(CommandError("TR_TIMEOUT", f"{query.trcode}: no answer in {TR_TIMEOUT_S:.0f} s"))

    def _emit_all(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for name, data in events:
            self.sink.emit(name, data)

    def _rqname(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}:{self._seq}"

    # Login -------------------------------------------------------------------------------------------
    def login(self) -> Future[LoginResult]:
        future: Future[LoginResult] = Future()
        self._login = (future, self.clock())
        code = self.control.comm_connect()
        if code != 0 and self._login is not None:
            self._login = None
            future.set_exception(LoginError(f"CommConnect refused: {op_err(code)}", exit_code=EXIT_LOGIN_FAILED))
        return future

    def _on_connect(self, code: int) -> None:
        if self._login is None:
            return
        future, _ = self._login
        self._login = None
        if code != 0:
            exit_code = EXIT_VERSION_UPDATE if code == -102 else EXIT_LOGIN_FAILED
            future.set_exception(LoginError(f"login failed {code}: {LOGIN_ERRORS.get(code, op_err(code))}", exit_code=exit_code))
            return
        self._logged_in = True
        server = self.server = "paper" if self.control.is_paper_server() else "real"
        accounts = self.control.accounts()
        future.set_result(LoginResult(server=server, accounts=accounts, details={"login_code": code, "user_id": self.control.login_info("USER_ID")}))

    # Orders ------------------------------------------------------------------------------------------
    def place(self, args: dict[str, Any], *, priority: Priority = Priority.ORDER) -> Future[None]:
        hoga = str(args.get("hoga") or ("03" if args.get("order_type") == "market" else "00"))
        # Refused here, with a reason, rather than sent for the control or the mock server to garble or reject.
        if hoga not in HOGA_CODES:
            raise CommandError("INVALID_HOGA", f"거래구분 {hoga!r} is not one of Kiwoom's codes")
        if self.server == "paper" and hoga not in PAPER_HOGAS:
            raise CommandError("HOGA_NOT_ON_PAPER", f"the mock server (모의투자) takes 지정가 00 and 시장가 03 only, not {hoga}")
        price = int(args.get("price") or 0) if hoga in PRICED_HOGAS else 0
        if hoga in PRICED_HOGAS and price <= 0:
            raise CommandError("PRICE_REQUIRED", f"거래구분 {hoga} needs a price")
        call = Sent(args.get("order_id"), "new", str(args["account"]), str(args["symbol"]), str(args["side"]), int(args["quantity"]), price)
        return self._order(priority, call, ORDER_TYPES[("new", call.side)], hoga, "")

    def cancel(self, args: dict[str, Any]) -> Future[None]:
        original = str(args["broker_order_no"])
        call = Sent(args.get("order_id"), "cancel", str(args["account"]), str(args["symbol"]), str(args["side"]), int(args.get("quantity") or 0), 0, original)
        return self._order(Priority.CANCEL, call, ORDER_TYPES[("cancel", call.side)], "00", original)

    def modify(self, args: dict[str, Any]) -> Future[None]:
        original = str(args["broker_order_no"])
        call = Sent(
            args.get("order_id"),
            "modify",
            str(args["account"]),
            str(args["symbol"]),
            str(args["side"]),
            int(args.get("quantity") or 0),
            int(args["price"]),
            original,
        )
        return self._order(Priority.ORDER, call, ORDER_TYPES[("modify", call.side)], "00", original)

    def _order(self, priority: Priority, call: Sent, order_type: int, hoga: str, original: str) -> Future[None]:
        future: Future[None] = Future()
        rqname = self._rqname("order")
        sender = _OrderSend(self, rqname, call, order_type, hoga, original, future)
        job = self.scheduler.submit(priority, sender.send, now=self.clock(), label=f"{call.kind} {call.symbol} ({rqname})", timeout_s=30)
        sender.job = job
        self._on_expire[job.seq] = sender.fail
        return future

    def _on_tr_data(self, screen: str, rqname: str, trcode: str, record: str, prev_next: str, *_rest: Any) -> None:
        if rqname in self._order_screens:
            self.screens.release_request_screen(self._order_screens.pop(rqname))
            number = self.control.comm_data(trcode, rqname, 0, "주문번호")
            if not number:
                self._no_number[rqname] = self.clock()  # the reason comes in OnReceiveMsg right after
                return
            self._emit_all(self.correlator.order_number(rqname, number, "", now=self.clock()))
        elif rqname in self._queries:
            self._on_query_page(rqname, trcode, prev_next)

    def _on_msg(self, screen: str, rqname: str, trcode: str, message: str) -> None:
        if rqname in self._no_number:
            del self._no_number[rqname]
            self._emit_all(self.correlator.order_number(rqname, "", message.strip(), now=self.clock()))

    def _on_chejan(self, gubun: str, _count: int, _fids: str) -> None:
        try:
            if gubun == "0":
                event = fields.order_event({fid: self.control.chejan_data(fid) for fid in fields.ORDER_FIDS})
                self._emit_all(self.correlator.chejan(event, now=self.clock()))
            elif gubun == "1":
                balance = fields.balance_event({fid: self.control.chejan_data(fid) for fid in fields.BALANCE_FIDS})
                self._balance_soon(balance.account)
        except fields.FieldError:
            log.exception("Chejan event %s could not be read; dropped (reconciliation covers it)", gubun)

    # Real time ---------------------------------------------------------------------------------------
    def subscribe(self, symbols: list[str]) -> list[str]:
        try:
            calls = self.screens.add(symbols)
        except ScreensExhausted as exc:
            raise CommandError("SCREENS_EXHAUSTED", str(exc)) from None
        for call in calls:
            self.control.set_real_reg(call.screen, list(call.codes), list(fields.TRADE_FIDS), call.opt)
        return sorted(self.screens.registered())

    def unsubscribe(self, symbols: list[str]) -> list[str]:
        for call in self.screens.remove(symbols):
            self.control.set_real_remove(call.screen, call.code)
        return sorted(self.screens.registered())

    def reregister(self) -> None:
        """After a (re)login: the session phases, then every code; the control forgot its registrations."""
        if self._market_screen is None:
            self._market_screen = self.screens.acquire_request_screen()  # kept for the whole session
        self.control.set_real_reg(self._market_screen, [""], list(fields.MARKET_FIDS), "0")
        for call in self.screens.replay():
            self.control.set_real_reg(call.screen, list(call.codes), list(fields.TRADE_FIDS), call.opt)

    def emit_symbol_master(self) -> int:
        """KOSPI and KOSDAQ listings from the control's master file, as one symbol_master event."""
        etfs = set(self.control.codes_in_market(fields.ETF_MARKET))
        rows = []
        for market_no, market in fields.LISTED_MARKETS:
            for symbol in self.control.codes_in_market(market_no):
                try:
                    row = fields.listing(
                        symbol,
                        self.control.master_name(symbol),
                        self.control.master_last_price(symbol),
                        self.control.master_state(symbol),
                        market=market,
                        etfs=etfs,
                    )
                except fields.FieldError:
                    log.warning("master entry for %s unreadable; skipped", symbol)
                    continue
                if row is not None:
                    rows.append(row)
        if rows:
            self.sink.emit(protocol.SYMBOL_MASTER, {"symbols": rows})
        return len(rows)

    def _on_real(self, code: str, real_type: str, _data: str) -> None:
        if real_type == "장시작시간":
            self._on_market_status(code)
            return
        if real_type != "주식체결" or self.screens.screen_of(code) is None:
            return  # data for a code nobody registered (a late one after removal) is ignored
        try:
            values = {fid: self.control.real_data(code, fid) for fid in fields.TRADE_FIDS}
            self.sink.emit_ticks([fields.trade_tick(code, values, dt.datetime.now(fields.KST).date())])
        except fields.FieldError:
            log.warning("unreadable trade for %s dropped", code)

    def _on_market_status(self, key: str) -> None:
        try:
            values = {fid: self.control.real_data(key, fid) for fid in fields.MARKET_FIDS}
            self.sink.emit(protocol.MARKET_STATUS, fields.market_status(values, dt.datetime.now(fields.KST).date()))
        except (fields.FieldError, KeyError):
            log.warning("unreadable 장시작시간 event dropped")

    # Queries -----------------------------------------------------------------------------------------
    def query_balance(self, account: str) -> Future[None]:
        """opw00018 (positions, every page) then opw00001 (cash): one balance event for the server."""
        future: Future[None] = Future()

        def with_cash(_single: dict[str, str], rows: list[dict[str, str]]) -> None:
            positions = [
                {
                    "symbol": fields.code(r["종목번호"]),
                    "quantity": fields.level(r["보유수량"]),
                    "sellable_quantity": fields.level(r["매매가능수량"]),
                    "avg_price": fields.level(r["매입가"]),
                }
                for r in rows
            ]

            def finish(single: dict[str, str], _rows: list[dict[str, str]]) -> None:
                self._held[(account, "positions")] = {p["symbol"] for p in positions if p["quantity"]}
                cash = fields.level(single["예수금"])
                self.sink.emit(
                    protocol.BALANCE,
                    {
                        "account": account,
                        "cash": cash,
                        "orderable_cash": fields.level(single["주문가능금액"]),
                        "d2_cash": fields.level(single["d+2추정예수금"]),
                        "positions": positions,
                    },
                )
                future.set_result(None)

            self._query(
                "opw00001",
                {"계좌번호": account, "비밀번호": "", "비밀번호입력매체구분": "00", "조회구분": "2"},
                ("예수금", "d+2추정예수금", "주문가능금액"),
                (),
                finish,
                future,
            )

        self._query(
            "opw00018",
            {"계좌번호": account, "비밀번호": "", "비밀번호입력매체구분": "00", "조회구분": "1"},
            (),
            ("종목번호", "보유수량", "매입가", "매매가능수량"),
            with_cash,
            future,
        )
        return future

    def query_open_orders(self, account: str) -> Future[None]:
        """opt10075 for every order of the day (every page): the working ones, and each order's fill totals.

        The totals are how fills made while the control was disconnected reach the server: Kiwoom
        never replays their Chejan events, so without them a filled order would look cancelled.
        """
        future: Future[None] = Future()

        def finish(_single: dict[str, str], rows: list[dict[str, str]]) -> None:
            orders, today = [], []
            for row in rows:
                if "취소" in row["주문구분"]:
                    continue  # a cancel's own row carries no fills
                number, side = row["주문번호"], "sell" if "매도" in row["주문구분"] else "buy"
                quantity, remaining = fields.level(row["주문수량"]), fields.level(row["미체결수량"])
                filled, amount = fields.level(row["체결량"] or "0"), fields.level(row["체결누계금액"] or "0")
                symbol = fields.code(row["종목코드"])
                today.append({"broker_order_no": number, "symbol": symbol, "side": side, "filled_quantity": filled, "filled_amount": amount})
                if remaining <= 0:
                    continue
                orders.append(
                    {
                        "broker_order_no": number,
                        "symbol": symbol,
                        "side": side,
                        "quantity": quantity,
                        "remaining_quantity": remaining,
                        "price": fields.level(row["주문가격"]),
                    }
                )
                # Known from now on, so their Chejan events match (the server maps the number to its order).
                self.correlator.adopt(number, Working(None, account, symbol, side, quantity, filled=filled))
            self._held[(account, "orders")] = {o["symbol"] for o in orders}
            self.sink.emit(protocol.OPEN_ORDERS, {"account": account, "orders": orders, "today": today})
            future.set_result(None)

        inputs = {"계좌번호": account, "전체종목구분": "0", "매매구분": "0", "종목코드": "", "체결구분": "0"}
        multi = ("주문번호", "종목코드", "주문수량", "미체결수량", "주문가격", "주문구분", "체결량", "체결누계금액")
        self._query("opt10075", inputs, (), multi, finish, future)
        return future

    def query_symbol_info(self, symbols: list[str]) -> Future[None]:
        """opt10001 for each symbol, answered as one symbol_info event.

        기준가 is the base of today's ±30% band: the previous close on most days, but adjusted on an
        ex-rights or ex-dividend day, when the master file's last price would put the band in the wrong
        place. A symbol whose query fails is left out (and logged); the others are still reported.
        """
        future: Future[None] = Future()
        rows: list[dict[str, Any]] = []
        waiting = {"count": len(symbols)}

        def one_done(done: Future[None]) -> None:
            if done.exception() is not None:
                log.warning("opt10001 failed: %s", done.exception())
            waiting["count"] -= 1
            if waiting["count"] == 0:
                if rows:
                    self.sink.emit(protocol.SYMBOL_INFO, {"symbols": rows})
                future.set_result(None)

        if not symbols:
            future.set_result(None)
        for symbol in symbols:
            one: Future[None] = Future()

            def answered(single: dict[str, str], _rows: list[dict[str, str]], symbol: str = symbol, one: Future[None] = one) -> None:
                if not single["기준가"].strip():
                    one.set_exception(CommandError("NO_DATA", f"opt10001 {symbol}: no 기준가 (unknown code?)"))
                    return
                rows.append(
                    {
                        "code": symbol,
                        "name": single["종목명"].strip(),
                        "base_price": fields.level(single["기준가"]),
                        "upper_limit": fields.level(single["상한가"]),
                        "lower_limit": fields.level(single["하한가"]),
                        "last_price": fields.level(single["현재가"]),
                    }
                )
                one.set_result(None)

            one.add_done_callback(one_done)
            self._query("opt10001", {"종목코드": symbol}, ("종목명", "기준가", "상한가", "하한가", "현재가"), (), answered, one)
        return future

    def held_symbols(self) -> list[str]:
        """Symbols of the positions and working orders the last reconciliation reported."""
        return sorted(set().union(*self._held.values())) if self._held else []

    def _balance_soon(self, account: str) -> None:
        if account in self._balance_due:
            return  # one refresh covers every balance event until it runs
        self._balance_due.add(account)

        def run() -> None:
            self._balance_due.discard(account)
            self.query_balance(account)

        self.scheduler.submit(Priority.QUERY, run, now=self.clock(), label=f"balance {account}")

    def _query(
        self, trcode: str, inputs: dict[str, str], single: tuple[str, ...], multi: tuple[str, ...], done: Callable[..., None], future: Future[Any]
    ) -> None:
        rqname = self._rqname(trcode)
        self._queries[rqname] = Query(trcode, inputs, [], single, multi, done, future)
        self._send_page(rqname, prev_next=0)

    def _send_page(self, rqname: str, *, prev_next: int) -> None:
        query = self._queries[rqname]

        def send() -> None:
            self._on_expire.pop(job.seq, None)
            for name, value in query.inputs.items():
                self.control.set_input_value(name, value)
            query.screen = query.screen or self.screens.acquire_request_screen()
            query.sent_at = self.clock()
            code = self.control.comm_rq_data(rqname, query.trcode, prev_next, query.screen)
            if code in OVERFLOW and self.scheduler.overflowed(job, now=self.clock(), penalty_s=17.0):
                query.sent_at = None
                return
            if code != 0:
                self._end_query(rqname)
                query.future.set_exception(CommandError(str(code), f"{query.trcode}: {op_err(code)}"))

        job = self.scheduler.submit(Priority.QUERY, send, now=self.clock(), label=f"{query.trcode} ({rqname})")
        self._on_expire[job.seq] = lambda error: self._fail_query(rqname, error)

    def _on_query_page(self, rqname: str, trcode: str, prev_next: str) -> None:
        query = self._queries[rqname]
        query.sent_at = None
        query.single.update({name: self.control.comm_data(trcode, rqname, 0, name) for name in query.fields_single})
        if query.fields_multi:
            for index in range(self.control.repeat_count(trcode, rqname)):
                query.rows.append({name: self.control.comm_data(trcode, rqname, index, name) for name in query.fields_multi})
        if prev_next.strip() == "2":
            self._send_page(rqname, prev_next=2)
            return
        self._end_query(rqname)
        try:
            query.done(query.single, query.rows)
        except Exception as exc:
            query.future.set_exception(exc)

    def _end_query(self, rqname: str) -> None:
        query = self._queries.pop(rqname, None)
        if query is not None and query.screen:
            self.screens.release_request_screen(query.screen)


@dataclass
class _OrderSend:
    engine: Engine
    rqname: str
    call: Sent
    order_type: int
    hoga: str
    original: str
    future: Future[None]
    job: Job | None = None

    def send(self) -> None:
        engine = self.engine
        if self.job is not None:
            engine._on_expire.pop(self.job.seq, None)
        screen = engine.screens.acquire_request_screen()
        engine.correlator.sent(self.rqname, self.call)
        engine._order_screens[self.rqname] = screen
        code = engine.control.send_order(
            self.rqname, screen, self.call.account, self.order_type, self.call.symbol, self.call.quantity, self.call.price, self.hoga, self.original
        )
        if code == 0:
            if self.call.kind == "new":
                engine.sink.emit(protocol.ORDER_SUBMITTED, {"order_id": self.call.order_id})
            self.future.set_result(None)
            return
        engine.screens.release_request_screen(engine._order_screens.pop(self.rqname))
        engine.correlator.forget(self.rqname)
        if code in OVERFLOW and self.job is not None and engine.scheduler.overflowed(self.job, now=engine.clock()):
            log.warning("%s answered %s despite the limiter; retrying once after the window", self.rqname, code)
            return
        self.fail(CommandError(str(code), op_err(code)))

    def fail(self, error: CommandError) -> None:
        if not self.future.done():
            self.future.set_exception(error)


def _chain(source: Future[Any], target: Future[Any]) -> None:
    if source.exception() is not None:
        target.set_exception(source.exception())  # type: ignore[arg-type]
    else:
        target.set_result(source.result())


class _NoSink:
    """Before the link attaches its sink (the backend's start), there is nothing to report."""

    def emit(self, name: str, data: dict[str, Any]) -> None:
        log.warning("event %s before the link was attached: %s", name, data)

    def emit_ticks(self, ticks: list[Any]) -> None:
        return None
