"""Parsing what the control sends: padded, signed strings and prefixed codes, as the real control formats them."""

from __future__ import annotations

import datetime as dt

import pytest

from kiwoom_worker.ocx import fields

DAY = dt.date(2026, 11, 24)


def test_signed_padded_prices_keep_level_and_direction() -> None:
    assert fields.level("+00074000") == 74000 and fields.signed_int("+00074000") == 74000
    assert fields.level("-82000") == 82000 and fields.signed_int("-82000") == -82000
    assert fields.signed_int("   ") == 0 and fields.signed_float("-1.25") == -1.25
    with pytest.raises(fields.FieldError):
        fields.signed_int("12a")


def test_codes_lose_their_market_letter_and_bad_codes_are_errors() -> None:
    assert fields.code("A005930") == "005930" and fields.code("0126Z0") == "0126Z0" and fields.code(" 005935 ") == "005935"
    for bad in ("A0059", "5930", "a005930x", ""):
        with pytest.raises(fields.FieldError):
            fields.code(bad)


def test_a_trade_event_becomes_a_tick() -> None:
    values = {10: "-69900", 11: "-100", 12: "-0.14", 13: "12345678", 15: "-25", 20: "091502", 27: "+70000", 28: "-69900"}
    tick = fields.trade_tick("005930", values, DAY)
    assert (tick.symbol, tick.price, tick.change, tick.change_rate, tick.volume, tick.cum_volume) == ("005930", 69900, -100, -0.14, -25, 12345678)
    assert tick.time == "2026-11-24T09:15:02+09:00"


def test_a_chejan_fill_and_a_cancel_confirmation() -> None:
    fill = fields.order_event(
        {9201: "8100000111", 9203: "0012345", 9001: "A005930", 913: "체결", 900: "10", 901: "70000", 902: "4", 904: "0000000",
         905: "+매수", 908: "091502", 909: "77", 910: "70000", 911: "6", 915: "2", 938: "150", 939: "0"}
    )  # fmt: skip
    assert (fill.order_no, fill.original_no, fill.symbol, fill.side, fill.unfilled, fill.cumulative_filled, fill.unit_fill_quantity) == (
        "0012345", "", "005930", "buy", 4, 6, 2,
    )  # fmt: skip
    cancel = fields.order_event({9203: "0012346", 9001: "A005930", 913: "확인", 904: "0012345", 905: "매도취소", 900: "3"})
    assert (cancel.original_no, cancel.is_cancel, cancel.side, cancel.unit_fill_quantity) == ("0012345", True, "sell", None)


def test_a_balance_event() -> None:
    balance = fields.balance_event({9201: "8100000111", 9001: "A000660", 930: "15", 931: "180500", 933: "10", 10: "-179000"})
    assert (balance.symbol, balance.quantity, balance.average_price, balance.sellable, balance.price) == ("000660", 15, 180500, 10, 179000)
