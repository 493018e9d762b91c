"""A local KRX paper exchange that answers like Kiwoom's paper server (모의투자).

Pure and deterministic: every price move and every liquidity draw is derived from (seed, symbol,
step), so the same seed and the same orders give the same fills, and the whole state is a JSON
document that the backend stores with the events it causes. Reject codes are the sim's own
(Kiwoom's real codes vary without notice; the messages imitate its paper server).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from kiwoom_worker import market_rules, protocol
from kiwoom_worker.sim.symbols import SYMBOLS

KST = ZoneInfo("Asia/Seoul")
# The price walk: how many ticks a symbol moves per step, and how likely each move is.
MOVES = (-2, -1, 0, 1, 2)
MOVE_WEIGHTS = (1, 4, 6, 4, 1)
LIQUIDITY = (50, 400)  # shares that can trade per symbol per step


class Reject(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = f"[{code}] {message}"


@dataclass
class Emitted:
    name: str
    data: dict[str, Any]


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


class Exchange:
    def __init__(self, *, seed: int, fee_profile: str = "kiwoom_mock", initial_cash: int = 100_000_000, state: dict[str, Any] | None = None) -> None:
        self.seed = seed
        self.fees = market_rules.FEE_PROFILES[fee_profile]
        self.initial_cash = initial_cash
        self.state: dict[str, Any] = state or {
            "step": 0,
            "prices": {code: s["previous_close"] for code, s in SYMBOLS.items()},
            "volumes": {code: 0 for code in SYMBOLS},
            "accounts": {},
            "orders": {},
            "next_order_no": 1,
            "subscribed": [],
        }
        self.out: list[Emitted] = []

    # Helpers -------------------------------------------------------------------------------
    def _emit(self, name: str, data: dict[str, Any]) -> None:
        self.out.append(Emitted(name, data))

    def drain(self) -> list[Emitted]:
        out, self.out = self.out, []
        return out

    @staticmethod
    def now() -> dt.datetime:
        return dt.datetime.now(KST)

    def price(self, code: str) -> int:
        return int(self.state["prices"][code])

    def open_account(self, number: str) -> None:
        self.state["accounts"].setdefault(number, {"cash": self.initial_cash, "positions": {}})

    def _account(self, number: str) -> dict[str, Any]:
        account = self.state["accounts"].get(number)
        if account is None:
            raise Reject("800100", "모의투자 계좌번호가 없습니다")
        return account

    def _reserved_cash(self, number: str) -> int:
        return sum(o["reserve"] for o in self.state["orders"].values() if o["account"] == number and o["side"] == protocol.BUY and o["remaining"] > 0)

    def _reserved_shares(self, number: str, code: str) -> int:
        return sum(o["remaining"] for o in self.state["orders"].values() if o["account"] == number and o["symbol"] == code and o["side"] == protocol.SELL)

    # Orders ------------------------------------------------------------------------------------
    def place(self, args: dict[str, Any]) -> str:
        code, side, qty = str(args["symbol"]), str(args["side"]), int(args["quantity"])
        hoga, price = str(args.get("hoga", "00")), int(args.get("price") or 0)
        account = self._account(str(args["account"]))
        symbol = SYMBOLS.get(code)
        if symbol is None:
            raise Reject("800050", f"모의투자 종목코드({code})가 없습니다")
        if hoga not in ("00", "03"):
            raise Reject("800060", "모의투자에서는 지정가(00)와 시장가(03)만 주문할 수 있습니다")
        if qty <= 0:
            raise Reject("800070", "모의투자 주문수량을 확인하세요")
        band = market_rules.price_band(symbol["previous_close"], symbol["kind"])
        if hoga == "00":
            if not market_rules.is_on_tick(price, symbol["kind"]):
                raise Reject("800080", "모의투자 호가단위가 맞지 않습니다")
            if not band.contains(price):
                raise Reject("800090", "모의투자 상하한가를 벗어난 가격입니다")
        elif price:
            raise Reject("00Z237", "모의투자 단가를 입력하지 않는 호가입니다")
        reserve = 0
        if side == protocol.BUY:
            unit = price if hoga == "00" else band.upper  # a market buy may fill up to the upper limit
            reserve = unit * qty + unit * qty * self.fees.commission_ppm // 1_000_000 + 1
            if account["cash"] - self._reserved_cash(str(args["account"])) < reserve:
                raise Reject("800033", "모의투자 매수증거금이 부족합니다")
        else:
            held = account["positions"].get(code, {}).get("qty", 0)
            if held - self._reserved_shares(str(args["account"]), code) < qty:
                raise Reject("800034", "모의투자 매도가능수량이 부족합니다")
        number = f"{self.state['next_order_no']:07d}"
        self.state["next_order_no"] += 1
        order = {
            "order_id": args.get("order_id"),
            "account": str(args["account"]),
            "symbol": code,
            "side": side,
            "quantity": qty,
            "remaining": qty,
            "price": price,
            "market": hoga == "03",
            "reserve": reserve,
            "fills": 0,
        }
        self.state["orders"][number] = order
        self._emit(protocol.ORDER_SUBMITTED, {"order_id": order["order_id"]})
        self._emit(
            protocol.ORDER_ACCEPTED,
            {
                "order_id": order["order_id"],
                "account": order["account"],
                "broker_order_no": number,
                "symbol": code,
                "side": side,
                "quantity": qty,
                "price": price,
            },
        )
        self._match(number, self._liquidity(code, "placement", number))
        return number

    def cancel(self, args: dict[str, Any]) -> None:
        number = str(args.get("broker_order_no") or "")
        order = self.state["orders"].get(number)
        if order is None or order["account"] != str(args["account"]) or order["remaining"] == 0:
            raise Reject("800200", "모의투자 취소할 원주문이 없거나 이미 체결되었습니다")
        canceled = order["remaining"]
        order["remaining"] = 0
        self._emit(
            protocol.ORDER_CANCELED, {"order_id": order["order_id"], "account": order["account"], "broker_order_no": number, "canceled_quantity": canceled}
        )
        del self.state["orders"][number]

    def modify(self, args: dict[str, Any]) -> None:
        number = str(args.get("broker_order_no") or "")
        order = self.state["orders"].get(number)
        if order is None or order["account"] != str(args["account"]) or order["remaining"] == 0 or order["market"]:
            raise Reject("800210", "모의투자 정정할 원주문 내역이 없습니다")
        price = int(args["price"])
        symbol = SYMBOLS[order["symbol"]]
        if not market_rules.is_on_tick(price, symbol["kind"]) or not market_rules.price_band(symbol["previous_close"], symbol["kind"]).contains(price):
            raise Reject("800080", "모의투자 정정가격이 호가단위 또는 상하한가에 맞지 않습니다")
        new_number = f"{self.state['next_order_no']:07d}"
        self.state["next_order_no"] += 1
        remaining = order["remaining"]
        replacement = {**order, "quantity": remaining, "price": price, "fills": 0, "reserve": price * remaining if order["side"] == protocol.BUY else 0}
        del self.state["orders"][number]
        self.state["orders"][new_number] = replacement
        self._emit(
            protocol.ORDER_REPLACED,
            {
                "order_id": order["order_id"],
                "account": order["account"],
                "broker_order_no": number,
                "new_broker_order_no": new_number,
                "price": price,
                "quantity": remaining,
            },
        )

    # Matching ----------------------------------------------------------------------------------
    def _liquidity(self, code: str, *salt: object) -> int:
        return _rng(self.seed, code, self.state["step"], *salt).randint(*LIQUIDITY)

    def _marketable(self, order: dict[str, Any], price: int) -> bool:
        if order["market"]:
            return True
        return price <= order["price"] if order["side"] == protocol.BUY else price >= order["price"]

    def _match(self, number: str, liquidity: int) -> int:
        order = self.state["orders"][number]
        price = self.price(order["symbol"])
        if order["remaining"] == 0 or liquidity <= 0 or not self._marketable(order, price):
            return 0
        qty = min(order["remaining"], liquidity)
        self._fill(number, order, price, qty)
        return qty

    def _fill(self, number: str, order: dict[str, Any], price: int, qty: int) -> None:
        symbol = SYMBOLS[order["symbol"]]
        moment = self.now()
        fee, tax = market_rules.fees_for_fill(
            profile=self.fees, side=order["side"], price=price, quantity=qty, trade_date=moment.date(), market=symbol["market"], kind=symbol["kind"]
        )
        account = self.state["accounts"][order["account"]]
        position = account["positions"].setdefault(order["symbol"], {"qty": 0, "cost": 0})
        if order["side"] == protocol.BUY:
            account["cash"] -= price * qty + fee
            position["qty"] += qty
            position["cost"] += price * qty
            order["reserve"] = max(order["reserve"] - (order["price"] or price) * qty, 0) if order["remaining"] > qty else 0
        else:
            account["cash"] += price * qty - fee - tax
            position["cost"] -= position["cost"] * qty // position["qty"] if position["qty"] else 0
            position["qty"] -= qty
        if position["qty"] == 0:
            del account["positions"][order["symbol"]]
        order["remaining"] -= qty
        order["fills"] += 1
        self.state["volumes"][order["symbol"]] += qty
        self._emit(
            protocol.ORDER_FILLED,
            {
                "order_id": order["order_id"],
                "account": order["account"],
                "broker_order_no": number,
                "fill_no": str(order["fills"]),
                "symbol": order["symbol"],
                "side": order["side"],
                "price": price,
                "quantity": qty,
                "fee": fee,
                "tax": tax,
                "executed_at": moment.isoformat(timespec="milliseconds"),
                "remaining_quantity": order["remaining"],
            },
        )
        if order["remaining"] == 0:
            del self.state["orders"][number]

    def step(self) -> list[protocol.Tick]:
        """Advance every price one step, fill what became marketable, and return ticks for subscribed symbols."""
        self.state["step"] += 1
        ticks = []
        subscribed = set(self.state["subscribed"])
        for code, symbol in SYMBOLS.items():
            rng = _rng(self.seed, code, self.state["step"])
            move = rng.choices(MOVES, MOVE_WEIGHTS)[0]
            band = market_rules.price_band(symbol["previous_close"], symbol["kind"])
            price = min(max(market_rules.step_price(self.price(code), move, symbol["kind"]), band.lower), band.upper)
            self.state["prices"][code] = price
            liquidity = self._liquidity(code)
            # Time priority: orders rest in the order they were accepted (order numbers increase).
            for number in sorted(n for n, o in self.state["orders"].items() if o["symbol"] == code):
                liquidity -= self._match(number, liquidity)
            if code in subscribed:
                ticks.append(self.tick(code, volume=rng.randint(1, 500) * (1 if move >= 0 else -1)))
        return ticks

    def tick(self, code: str, *, volume: int = 0) -> protocol.Tick:
        close = SYMBOLS[code]["previous_close"]
        price = self.price(code)
        return protocol.Tick(
            code,
            price,
            price - close,
            round((price - close) * 100 / close, 2),
            volume,
            self.state["volumes"][code],
            self.now().isoformat(timespec="milliseconds"),
        )

    # Queries -----------------------------------------------------------------------------------
    def balance(self, number: str) -> dict[str, Any]:
        account = self._account(number)
        reserved = self._reserved_cash(number)
        positions = [
            {
                "symbol": code,
                "quantity": p["qty"],
                "sellable_quantity": p["qty"] - self._reserved_shares(number, code),
                "avg_price": p["cost"] // p["qty"] if p["qty"] else 0,
            }
            for code, p in sorted(account["positions"].items())
        ]
        return {"account": number, "cash": account["cash"], "orderable_cash": account["cash"] - reserved, "d2_cash": account["cash"], "positions": positions}

    def open_orders(self, number: str) -> dict[str, Any]:
        self._account(number)
        orders = [
            {
                "broker_order_no": n,
                "order_id": o["order_id"],
                "symbol": o["symbol"],
                "side": o["side"],
                "quantity": o["quantity"],
                "remaining_quantity": o["remaining"],
                "price": o["price"],
            }
            for n, o in sorted(self.state["orders"].items())
            if o["account"] == number and o["remaining"] > 0
        ]
        return {"account": number, "orders": orders}
