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


# Real type 장시작시간 (registered with code ""): 215 장운영구분, 20 current time, 214 time left to the open.
MARKET_FIDS = (215, 20, 214)
# FID 215's documented values; anything else is passed on with its raw code.
MARKET_PHASES = {"0": "pre_open", "2": "closing_auction", "3": "open", "4": "closed", "8": "closed", "9": "session_over"}


def market_status(values: dict[int, str], day: dt.date) -> dict[str, str]:
    """One 장시작시간 event as the protocol's market_status data."""
    raw = values[215].strip()
    out = {"market": "KRX", "phase": MARKET_PHASES.get(raw, f"kiwoom_{raw or 'blank'}"), "code": raw, "at": hhmmss(values[20], day).isoformat()}
    left = values.get(214, "").strip()
    if len(left) == 6 and left.isdigit() and left != "000000":
        out["opens_in"] = f"{left[:2]}:{left[2:4]}:{left[4:]}"
    return out


# GetCodeListByMarket's market numbers the worker lists (KOA): 0 KOSPI (장내), 10 KOSDAQ, 8 ETF.
LISTED_MARKETS = (("0", "KOSPI"), ("10", "KOSDAQ"))
ETF_MARKET = "8"
_PREFERRED_SUFFIXES = ("우", "우B", "우C", "우(전환)")


def listing(symbol: str, name: str, last_price: str, state: str, *, market: str, etfs: set[str]) -> dict[str, object] | None:
    """One symbol master row from the control's master calls, or None for a code the platform cannot trade."""
    if not SYMBOL_RE.match(symbol):
        return None
    name = name.strip()
    if symbol in etfs:
        kind = "etf"
    elif "ETN" in name.upper():
        kind = "etn"
    elif name.endswith(_PREFERRED_SUFFIXES):
        kind = "preferred"
    else:
        kind = "stock"
    return {
        "code": symbol,
        "name": name or symbol,
        "market": market,
        "kind": kind,
        "previous_close": level(last_price) if last_price.strip() else 0,
        "kospi200": False,  # not in the master calls; the server keeps what an admin set
        "suspended": "거래정지" in state,
    }


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
