"""A stand-in for Kiwoom's Open API+ control, for tests on Linux: QtCore only, same calls, same signals.

The ocx backend drives it through ``dynamicCall`` and its signals exactly as it drives the real
QAxWidget. It keeps Kiwoom's rules the backend must live with: 5 orders a second (-308), 5 queries
a second and the burst penalty (-200), at most 100 codes per SetRealReg and 200 screens, mock
trading only with hoga 00 and 03, order numbers in OnReceiveTrData (blank on a reject, the reason in
OnReceiveMsg after it), Chejan 접수/체결/확인 with signed, zero-padded strings, "A"-prefixed codes,
opw00018 in pages (prev_next "2"), and, on request, Chejan *before* TrData, hung queries and a
dropped connection.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from PyQt5.QtCore import QObject, pyqtSignal

from kiwoom_worker import market_rules


class RuleBroken(AssertionError):
    """The backend did something the real control would punish or garble (the test fails)."""


@dataclass
class EmuOrder:
    number: str
    account: str
    code: str
    side: str
    quantity: int
    price: int
    hoga: str
    filled: int = 0
    fills: int = 0
    fees: int = 0
    amount: int = 0  # 체결누계금액

    @property
    def unfilled(self) -> int:
        return self.quantity - self.filled


@dataclass
class Holding:
    quantity: int
    average: int


@dataclass
class EmuAccount:
    cash: int = 100_000_000
    holdings: dict[str, Holding] = field(default_factory=dict)


def signed(value: int, reference: int | None = None, width: int = 0) -> str:
    """How the control formats numbers: a sign against the reference (or the value's own sign), zero-padded."""
    sign = ""
    if reference is not None:
        sign = "+" if value > reference else "-" if value < reference else ""
    elif value < 0:
        sign = "-"
    return sign + str(abs(value)).zfill(width)


class KiwoomEmulator(QObject):
    OnEventConnect = pyqtSignal(int)
    OnReceiveTrData = pyqtSignal(str, str, str, str, str, int, str, str, str)
    OnReceiveRealData = pyqtSignal(str, str, str)
    OnReceiveChejanData = pyqtSignal(str, int, str)
    OnReceiveMsg = pyqtSignal(str, str, str, str)

    def __init__(
        self, *, server: str = "paper", accounts: tuple[str, ...] = ("8100000111",), login_code: int = 0, clock: Any = time.monotonic, answer_login: bool = True
    ) -> None:
        super().__init__()
        self.clock = clock
        self.answer_login = answer_login  # False: the version-update dialog is up and OnEventConnect never comes
        self.server, self.login_code = server, login_code
        self.accounts = {a: EmuAccount() for a in accounts}
        self.connected = False
        self.maintenance_until = float("-inf")
        self.orders: dict[str, EmuOrder] = {}
        self.next_number = 1
        self.reverse_chejan = False  # emit Chejan before TrData (Kiwoom's 역전현상 under load)
        self.hang_queries = False
        self.page_size = 20
        self.order_times: deque[float] = deque()
        self.query_times: deque[float] = deque()
        self.penalty_until = 0.0
        self.sent_orders: list[tuple[float, str, int]] = []  # (when, rqname, return code)
        self.overflows = 0
        self.real: dict[str, set[str]] = {}  # screen -> codes
        self.request_screens: set[str] = set()
        self.inputs: dict[str, str] = {}
        self._tr: dict[str, dict[str, Any]] = {}  # rqname -> answer being read
        self._chejan: dict[int, str] = {}
        self._real_now: dict[str, dict[int, str]] = {}
        self.calls: list[str] = []
        self._cursor: dict[str, int] = {}
        self._later: deque[Any] = deque()
        # The control's master file: market number -> codes, and code -> (name, last price, state).
        self.markets: dict[str, list[str]] = {"0": ["005930", "005935", "069500", "000660"], "10": ["247540", "550001"], "8": ["069500"]}
        self.master: dict[str, tuple[str, str, str]] = {
            "005930": ("삼성전자", "70000", "증거금20%|담보대출|신용가능"),
            "005935": ("삼성전자우", "58000", "증거금20%|담보대출|신용가능"),
            "069500": ("KODEX 200", "35000", "증거금100%"),
            "000660": ("SK하이닉스", "180000", "증거금40%|거래정지"),
            "247540": ("에코프로비엠", "250000", "증거금40%"),
            "550001": ("신한 레버리지 WTI원유 선물 ETN", "9000", "증거금100%"),
        }
        self.market_screen: str | None = None
        self.prices: dict[str, int] = {code: int(entry[1]) for code, entry in self.master.items()}
        self.previous_close: dict[str, int] = dict(self.prices)
        self.base_price: dict[str, int] = dict(self.prices)  # 기준가: differs from the close on an ex-dividend day

    # The one entry point, as QAxBase has it ------------------------------------------------------
    def dynamicCall(self, signature: str, *args: Any) -> Any:
        name = signature.split("(")[0]
        self.calls.append(name)
        if name == "SendOrder":
            (args,) = args  # nine arguments travel as one list
        return getattr(self, "_" + name)(*args)

    # Login -----------------------------------------------------------------------------------------
    def _CommConnect(self) -> int:
        if not self.answer_login:
            return 0
        code = -101 if self.clock() < self.maintenance_until else self.login_code  # 서버접속 실패 while Kiwoom is down
        if code == 0:
            self.connected = True
        self.OnEventConnect.emit(code)
        return 0

    def _GetConnectState(self) -> int:
        return 1 if self.connected else 0

    def _GetLoginInfo(self, tag: str) -> str:
        if tag in ("ACCNO", "ACCLIST"):
            return "".join(a + ";" for a in self.accounts)
        if tag == "GetServerGubun":
            return "1" if self.server == "paper" else ""
        return {"USER_ID": "emu", "USER_NAME": "에뮬레이터", "ACCOUNT_CNT": str(len(self.accounts))}.get(tag, "")

    def _KOA_Functions(self, function: str, argument: str) -> str:
        return self._GetLoginInfo("GetServerGubun") if function == "GetServerGubun" else ""

    def disconnect(self) -> None:
        """The connection drops (maintenance window, network): registrations are gone, calls fail."""
        self.connected = False
        self.real.clear()

    def maintenance(self, minutes: float) -> None:
        """Kiwoom's servers go down (daily about 05:05, early on Sundays): connection gone, logins refused until it ends."""
        self.maintenance_until = self.clock() + minutes * 60
        self.disconnect()

    # Orders --------------------------------------------------------------------------------------
    def _SendOrder(self, rqname: str, screen: str, account: str, order_type: int, code: str, quantity: int, price: int, hoga: str, original: str) -> int:
        now = self.clock()
        if not self.connected:
            return -106
        while self.order_times and self.order_times[0] <= now - 1.0:
            self.order_times.popleft()
        if len(self.order_times) >= 5:
            self.overflows += 1
            self.sent_orders.append((now, rqname, -308))
            return -308
        self.order_times.append(now)
        self.sent_orders.append((now, rqname, 0))
        self._check_screen(screen)
        if account not in self.accounts:
            return -302
        trcode = {1: "KOA_NORMAL_BUY_KP_ORD", 2: "KOA_NORMAL_SELL_KP_ORD", 3: "KOA_NORMAL_KP_CANCEL", 4: "KOA_NORMAL_KP_CANCEL"}.get(
            order_type, "KOA_NORMAL_KP_MODIFY"
        )
        if self.server == "paper" and hoga not in ("00", "03"):
            self._later.append(lambda: self._answer_order(screen, rqname, trcode, "", "[00Z237] 모의투자 단가를 입력하지 않는 호가입니다."))
            return 0
        if order_type == 1 and hoga == "00" and price * quantity > self.accounts[account].cash:
            self._later.append(lambda: self._answer_order(screen, rqname, trcode, "", "[00Z301] 모의투자 증거금 부족으로 주문이 거부되었습니다."))
            return 0
        number = f"{self.next_number:07d}"
        self.next_number += 1
        if order_type in (1, 2):
            order = EmuOrder(number, account, code, "buy" if order_type == 1 else "sell", quantity, price, hoga)
            self.orders[number] = order
            chejan = [lambda: self._emit_order(order, "접수")]
            if hoga == "03":
                chejan.append(lambda: self.fill(number, order.quantity, self.prices[code]))
            self._sequence(screen, rqname, trcode, number, "[00Z112] 모의투자 정상처리 되었습니다", chejan)
            return 0
        target = self.orders.get(original)
        if target is None or target.unfilled == 0:
            self._later.append(lambda: self._answer_order(screen, rqname, trcode, "", "[800200] 모의투자 취소할 원주문이 없습니다"))
            return 0
        if order_type in (3, 4):
            canceled = target.unfilled if quantity == 0 else min(quantity, target.unfilled)
            target.quantity -= canceled
            division = "매수취소" if target.side == "buy" else "매도취소"
            confirm = {904: original, 905: division, 900: str(canceled), 902: "0"}
            self._sequence(screen, rqname, trcode, number, "[00Z112] 모의투자 정상처리 되었습니다", [lambda: self._emit_confirm(number, target, confirm)])
            return 0
        replacement = EmuOrder(number, target.account, target.code, target.side, target.unfilled, price, target.hoga)
        target.quantity = target.filled
        self.orders[number] = replacement
        division = "+매수정정" if target.side == "buy" else "-매도정정"
        confirm = {904: original, 905: division, 900: str(replacement.quantity), 901: str(price), 902: str(replacement.quantity)}
        self._sequence(screen, rqname, trcode, number, "[00Z112] 모의투자 정상처리 되었습니다", [lambda: self._emit_confirm(number, replacement, confirm)])
        return 0

    def _sequence(self, screen: str, rqname: str, trcode: str, number: str, message: str, chejan: list) -> None:
        # Like the real control, events come later, from the event loop, never inside the call itself.
        answer = [lambda: self._answer_order(screen, rqname, trcode, number, message)]
        self._later += chejan + answer if self.reverse_chejan else answer + chejan

    def deliver(self) -> bool:
        """The Qt event loop's turn: deliver the events queued since the last one (True if there were any)."""
        delivered = bool(self._later)
        while self._later:
            self._later.popleft()()
        return delivered

    def _answer_order(self, screen: str, rqname: str, trcode: str, number: str, message: str) -> None:
        self._tr[rqname] = {"single": {"주문번호": number}}
        self.OnReceiveTrData.emit(screen, rqname, trcode, "", "0", 0, "", "", "")
        self.OnReceiveMsg.emit(screen, rqname, trcode, message)
        self._tr.pop(rqname, None)

    def _chejan_emit(self, gubun: str, values: dict[int, str]) -> None:
        if not self.connected:
            return  # the exchange still fills, but a disconnected control hears nothing and never replays it
        self._chejan = values
        self.OnReceiveChejanData.emit(gubun, len(values), ";".join(map(str, values)))
        self._chejan = {}

    def _order_values(self, order: EmuOrder, status: str) -> dict[int, str]:
        division = "+매수" if order.side == "buy" else "-매도"
        return {
            9201: order.account, 9203: order.number, 9001: "A" + order.code, 913: status, 900: str(order.quantity),
            901: str(order.price), 902: str(order.unfilled), 904: "0000000", 905: division, 908: time.strftime("%H%M%S"),
            909: "", 910: "", 911: str(order.filled), 915: "", 938: str(order.fees), 939: "0",
        }  # fmt: skip

    def _emit_order(self, order: EmuOrder, status: str) -> None:
        self._chejan_emit("0", self._order_values(order, status))

    def _emit_confirm(self, number: str, order: EmuOrder, values: dict[int, str]) -> None:
        self._chejan_emit("0", {**self._order_values(order, "확인"), 9203: number, **values})

    def late_fill(self, number: str, quantity: int, price: int) -> None:
        """A fill the exchange made before a cancel took effect, reported after the cancel's 확인."""
        order = self.orders[number]
        order.quantity += quantity  # the cancel had taken these back; the exchange had filled them already
        self.fill(number, quantity, price)

    def fill(self, number: str, quantity: int, price: int, *, pieces: int = 1) -> None:
        """The exchange fills (part of) an order: 체결 events, then the balance (gubun 1)."""
        order = self.orders[number]
        quantity = min(quantity, order.unfilled)
        sizes = [quantity // pieces + (1 if i < quantity % pieces else 0) for i in range(pieces)]
        for size in (s for s in sizes if s):
            order.filled += size
            order.amount += price * size
            order.fills += 1
            order.fees += price * size * 35 // 10_000  # the mock server's 0.35%
            values = self._order_values(order, "체결")
            values.update({909: str(order.fills), 910: str(price), 911: str(order.filled), 915: str(size)})
            self._chejan_emit("0", values)
            account = self.accounts[order.account]
            holding = account.holdings.setdefault(order.code, Holding(0, 0))
            if order.side == "buy":
                holding.average = (holding.average * holding.quantity + price * size) // (holding.quantity + size)
                holding.quantity += size
                account.cash -= price * size
            else:
                holding.quantity -= size
                account.cash += price * size
            self._chejan_emit(
                "1",
                {9201: order.account, 9001: "A" + order.code, 930: str(holding.quantity), 931: str(holding.average), 933: str(holding.quantity),
                 10: signed(self.prices[order.code], self.previous_close[order.code])},
            )  # fmt: skip

    def _GetChejanData(self, fid: int) -> str:
        return self._chejan.get(fid, "")

    # Queries -------------------------------------------------------------------------------------
    def _SetInputValue(self, name: str, value: str) -> None:
        self.inputs[name] = value

    def _CommRqData(self, rqname: str, trcode: str, prev_next: int, screen: str) -> int:
        now = self.clock()
        if not self.connected:
            return -106
        while self.query_times and self.query_times[0] <= now - 1.0:
            self.query_times.popleft()
        if now < self.penalty_until or len(self.query_times) >= 5:
            self.penalty_until = max(self.penalty_until, now + 17)  # a burst earns the 17-second wait
            return -200
        self.query_times.append(now)
        self._check_screen(screen)
        if self.hang_queries:
            return 0  # accepted, never answered
        inputs, self.inputs = self.inputs, {}
        if trcode == "opw00018":
            account = self.accounts[inputs["계좌번호"]]
            rows = [
                {"종목번호": "A" + code, "보유수량": str(h.quantity).zfill(15), "매입가": str(h.average).zfill(15), "매매가능수량": str(h.quantity).zfill(15)}
                for code, h in sorted(account.holdings.items())
                if h.quantity
            ]
            # Continuation ("2") picks up where this account's previous page ended, as the server keeps it.
            key = inputs["계좌번호"]
            start = self._cursor.get(key, 0) if prev_next == 2 else 0
            page = rows[start * self.page_size : (start + 1) * self.page_size]
            more = (start + 1) * self.page_size < len(rows)
            self._cursor[key] = start + 1
            self._later.append(lambda: self._answer_query(screen, rqname, trcode, "2" if more else "0", {"single": {"총매입금액": "0"}, "multi": page}))
        elif trcode == "opw00001":
            cash = self.accounts[inputs["계좌번호"]].cash
            single = {"예수금": str(cash).zfill(15), "d+2추정예수금": str(cash).zfill(15), "주문가능금액": str(cash).zfill(15)}
            self._later.append(lambda: self._answer_query(screen, rqname, trcode, "0", {"single": single}))
        elif trcode == "opt10075":
            # 체결구분 "1" lists working orders only, "0" every order of the day with its running totals.
            listed = [o for o in self.orders.values() if o.account == inputs["계좌번호"] and (o.unfilled > 0 or inputs.get("체결구분") == "0")]
            rows = [
                {"주문번호": o.number, "종목코드": o.code, "주문수량": str(o.quantity), "미체결수량": str(o.unfilled), "주문가격": str(o.price),
                 "주문구분": "+매수" if o.side == "buy" else "-매도", "체결량": str(o.filled), "체결누계금액": str(o.amount)}
                for o in listed
            ]  # fmt: skip
            self._later.append(lambda: self._answer_query(screen, rqname, trcode, "0", {"single": {}, "multi": rows}))
        elif trcode == "opt10001":
            code = inputs["종목코드"]
            single: dict[str, str] = {}
            if code in self.master:
                base = self.base_price[code]
                band = market_rules.price_band(base, "etf" if code in self.markets["8"] else "stock")
                price = self.prices[code]
                single = {"종목코드": code, "종목명": self.master[code][0], "기준가": str(base), "상한가": signed(band.upper, base),
                          "하한가": signed(band.lower, base), "현재가": signed(price, base)}  # fmt: skip
            self._later.append(lambda: self._answer_query(screen, rqname, trcode, "0", {"single": single}))
        else:
            return -202
        return 0

    def _answer_query(self, screen: str, rqname: str, trcode: str, prev_next: str, answer: dict[str, Any]) -> None:
        self._tr[rqname] = answer
        self.OnReceiveTrData.emit(screen, rqname, trcode, "", prev_next, 0, "", "", "")
        self._tr.pop(rqname, None)

    def _GetCommData(self, trcode: str, rqname: str, index: int, item: str) -> str:
        answer = self._tr.get(rqname, {})
        if answer.get("multi") is not None and item in (answer["multi"][0] if answer["multi"] else {}):
            return answer["multi"][index][item]
        return answer.get("single", {}).get(item, "")

    def _GetRepeatCnt(self, trcode: str, rqname: str) -> int:
        return len(self._tr.get(rqname, {}).get("multi") or [])

    # Real time -----------------------------------------------------------------------------------
    def _check_screen(self, screen: str) -> None:
        if not (len(screen) == 4 and screen.isdigit() and screen != "0000"):
            raise RuleBroken(f"screen numbers are four digits, not {screen!r}")
        self.request_screens.add(screen)
        if len(self.request_screens | set(self.real)) > 200:
            raise RuleBroken("more than 200 screens in use: the control would mix up answers")

    def _SetRealReg(self, screen: str, codes: str, fids: str, opt: str) -> int:
        listed = [c for c in codes.split(";") if c]
        if not listed and "215" in fids.split(";"):
            self.market_screen = screen  # 장시작시간 is registered with code ""
            self.request_screens.add(screen)
            return 0
        if len(listed) > 100:
            raise RuleBroken(f"SetRealReg with {len(listed)} codes (at most 100)")
        if opt == "0":
            self.real[screen] = set(listed)
        else:
            self.real.setdefault(screen, set()).update(listed)
        if len(self.request_screens | set(self.real)) > 200:
            raise RuleBroken("more than 200 screens in use")
        return 0

    def _SetRealRemove(self, screen: str, code: str) -> None:
        if screen == "ALL":
            for held in self.real.values():
                held.discard(code)
        elif code == "ALL":
            self.real.pop(screen, None)
        else:
            self.real.get(screen, set()).discard(code)
        self.real = {s: c for s, c in self.real.items() if c}

    def registered(self) -> set[str]:
        return set().union(*self.real.values()) if self.real else set()

    def trade(self, code: str, price: int, volume: int, cumulative: int) -> None:
        """A trade on the exchange: delivered only if some screen has the code registered."""
        self.prices[code] = price
        if code not in self.registered():
            return
        base = self.previous_close.get(code, price)
        self._real_now[code] = {
            10: signed(price, base), 11: signed(price - base), 12: f"{(price - base) * 100 / base:+.2f}", 13: str(cumulative),
            15: signed(volume), 20: time.strftime("%H%M%S"), 27: signed(price, base), 28: signed(price, base),
        }  # fmt: skip
        self.OnReceiveRealData.emit(code, "주식체결", "")
        self._real_now.pop(code, None)

    def market_phase(self, phase: str, now: str = "090000", opens_in: str = "000000") -> None:
        """A 장시작시간 event (key "09"), delivered only if the session phases are registered."""
        if self.market_screen is None:
            return
        self._real_now["09"] = {215: phase, 20: now, 214: opens_in}
        self.OnReceiveRealData.emit("09", "장시작시간", "")
        self._real_now.pop("09", None)

    # Symbol master -------------------------------------------------------------------------------
    def _GetCodeListByMarket(self, market: str) -> str:
        return "".join(code + ";" for code in self.markets.get(market, []))

    def _GetMasterCodeName(self, code: str) -> str:
        return self.master.get(code, ("", "", ""))[0]

    def _GetMasterLastPrice(self, code: str) -> str:
        price = self.master.get(code, ("", "", ""))[1]
        return price.zfill(8) if price else ""

    def _GetMasterStockState(self, code: str) -> str:
        return self.master.get(code, ("", "", ""))[2]

    # What the exchange keeps across a restart of the worker's process -------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "next_number": self.next_number,
            "prices": self.prices,
            "base_price": self.base_price,
            "accounts": {a: {"cash": acc.cash, "holdings": {c: [h.quantity, h.average] for c, h in acc.holdings.items()}} for a, acc in self.accounts.items()},
            "orders": [asdict(o) for o in self.orders.values()],
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.next_number = state["next_number"]
        self.prices.update(state["prices"])
        self.base_price.update(state["base_price"])
        for number, saved in state["accounts"].items():
            self.accounts[number] = EmuAccount(saved["cash"], {c: Holding(q, avg) for c, (q, avg) in saved["holdings"].items()})
        self.orders = {o["number"]: EmuOrder(**o) for o in state["orders"]}

    def _GetCommRealData(self, code: str, fid: int) -> str:
        return self._real_now.get(code, {}).get(fid, "")
