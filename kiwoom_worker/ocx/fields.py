"""Turning the control's strings into numbers: zero-padded, sign-prefixed, codes with a market letter.

Prices arrive signed relative to the previous close ("+74000" up, "-82000" down): the level is the
absolute value and the sign is the direction. FID 15 (this trade's volume) is signed by who
initiated it (+ buyer, - seller). FID 9001 carries a letter before the code ("A005930").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kiwoom_worker.protocol import SYMBOL_RE, Tick

KST = ZoneInfo("Asia/Seoul")


class FieldError(ValueError):
    """A value the control sent does not parse; the caller drops the event with a log line."""


def signed_int(value: str) -> int:
    """'+00074000' -> 74000, '-82000' -> -82000, '' -> 0 (the control sends blanks for 'none')."""
    text = value.strip().replace(",", "")
    if not text or text in "+-":
        return 0
    try:
        return int(text)
    except ValueError:
        raise FieldError(f"not an integer: {value!r}") from None


def level(value: str) -> int:
    """A price level: the absolute value of a signed price string."""
    return abs(signed_int(value))


def signed_float(value: str) -> float:
    text = value.strip()
    if not text or text in "+-":
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise FieldError(f"not a number: {value!r}") from None


def code(value: str) -> str:
    """'A005930' -> '005930'; a bare code passes; anything else is an error (never a wrong symbol)."""
    text = value.strip()
    if len(text) == 7 and text[0].isalpha():
        text = text[1:]
    if not SYMBOL_RE.match(text):
        raise FieldError(f"not a KRX code: {value!r}")
    return text


def hhmmss(value: str, day: dt.date) -> dt.datetime:
    text = value.strip()
    if len(text) != 6 or not text.isdigit():
        raise FieldError(f"not a HHMMSS time: {value!r}")
    return dt.datetime(day.year, day.month, day.day, int(text[:2]), int(text[2:4]), int(text[4:]), tzinfo=KST)


# Real type 주식체결: the FIDs the worker registers and reads.
TRADE_FIDS = (10, 11, 12, 13, 15, 20, 27, 28)


def trade_tick(symbol: str, values: dict[int, str], day: dt.date) -> Tick:
    """One 주식체결 event as a protocol tick."""
    return Tick(
        symbol=code(symbol),
        price=level(values[10]),
        change=signed_int(values[11]),
        change_rate=signed_float(values[12]),
        volume=signed_int(values[15]),
        cum_volume=abs(signed_int(values[13])),
        time=hhmmss(values[20], day).isoformat(),
    )


# Chejan gubun 0 (주문체결): the FIDs read for every event.
ORDER_FIDS = (9201, 9203, 9001, 913, 900, 901, 902, 904, 905, 908, 909, 910, 911, 914, 915, 938, 939, 919)
STATUS_ACCEPTED, STATUS_FILLED, STATUS_CONFIRMED = "접수", "체결", "확인"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    account: str
    order_no: str
    original_no: str  # 904: the order a cancel or modify refers to ("" or zeros when none)
    symbol: str
    status: str  # 접수 / 체결 / 확인
    division: str  # 905: +매수, -매도, 매수취소, 매도취소, +매수정정, -매도정정
    quantity: int
    price: int
    unfilled: int
    time: str  # HHMMSS
    fill_no: str
    fill_price: int
    cumulative_filled: int  # 911
    unit_fill_quantity: int | None  # 915 when the control sends it
    fees: int  # 938: today's fees so far on the account
    taxes: int  # 939
    reject_reason: str

    @property
    def side(self) -> str:
        return "sell" if "매도" in self.division else "buy"

    @property
    def is_cancel(self) -> bool:
        return "취소" in self.division

    @property
    def is_modify(self) -> bool:
        return "정정" in self.division


def order_event(values: dict[int, str]) -> OrderEvent:
    def get(fid: int) -> str:
        return values.get(fid, "").strip()

    unit = get(915)
    original = get(904)
    if not original.strip("0"):
        original = ""  # all zeros: a new order refers to no other
    return OrderEvent(
        account=get(9201),
        order_no=get(9203),
        original_no=original,
        symbol=code(get(9001)),
        status=get(913),
        division=get(905),
        quantity=abs(signed_int(get(900))),
        price=level(get(901)),
        unfilled=abs(signed_int(get(902))),
        time=get(908),
        fill_no=get(909),
        fill_price=level(get(910)),
        cumulative_filled=abs(signed_int(get(911))),
        unit_fill_quantity=abs(signed_int(unit)) if unit else None,
        fees=abs(signed_int(get(938))),
        taxes=abs(signed_int(get(939))),
        reject_reason=get(919),
    )


# Chejan gubun 1 (현물잔고).
BALANCE_FIDS = (9201, 9001, 930, 931, 933, 10)


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    account: str
    symbol: str
    quantity: int
    average_price: int
    sellable: int
    price: int


def balance_event(values: dict[int, str]) -> BalanceEvent:
    return BalanceEvent(
        account=values.get(9201, "").strip(),
        symbol=code(values.get(9001, "")),
        quantity=abs(signed_int(values.get(930, ""))),
        average_price=level(values.get(931, "")),
        sellable=abs(signed_int(values.get(933, ""))),
        price=level(values.get(10, "")),
    )
