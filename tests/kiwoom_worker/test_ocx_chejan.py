"""Order events from the control, in the orders the real control sends them, matched to platform orders."""

from __future__ import annotations

from kiwoom_worker import protocol
from kiwoom_worker.ocx.chejan import Correlator, Sent
from kiwoom_worker.ocx.fields import OrderEvent, order_event

ACCOUNT = "8100000111"


def chejan(
    order_no: str, status: str, *, division: str = "+매수", original: str = "0000000", quantity: int = 10, unfilled: int = 10, **extra: str
) -> OrderEvent:
    values = {9201: ACCOUNT, 9203: order_no, 9001: "A005930", 913: status, 900: str(quantity), 901: "70000", 902: str(unfilled), 904: original,
              905: division, 908: "091502"}  # fmt: skip
    values.update({int(k[1:]): v for k, v in extra.items()})  # f911="6" -> FID 911
    return order_event(values)


def placed(correlator: Correlator, order_id: int = 7, rq: str = "rq-1", quantity: int = 10) -> None:
    correlator.sent(rq, Sent(order_id, "new", ACCOUNT, "005930", "buy", quantity, 70000))


def names(events: list) -> list[str]:
    return [name for name, _ in events]


def test_number_then_accepted_then_partial_fills_then_complete() -> None:
    c = Correlator()
    placed(c)
    [(name, accepted)] = c.order_number("rq-1", "0012345", "", now=0)
    assert name == protocol.ORDER_ACCEPTED and accepted["broker_order_no"] == "0012345" and accepted["order_id"] == 7
    assert c.chejan(chejan("0012345", "접수"), now=0.1) == []
    # 911 is the running total; without 915 the fill is the increase. 938 is today's fees so far.
    first = c.chejan(chejan("0012345", "체결", unfilled=6, f909="1", f910="70000", f911="4", f938="100"), now=0.2)
    second = c.chejan(chejan("0012345", "체결", unfilled=0, f909="2", f910="69900", f911="10", f938="250"), now=0.3)
    fills = [data for _name, data in first + second]
    assert [(f["quantity"], f["price"], f["fee"], f["remaining_quantity"]) for f in fills] == [(4, 70000, 100, 6), (6, 69900, 150, 0)]
    assert all(f["order_id"] == 7 and f["executed_at"].endswith("T09:15:02+09:00") for f in fills)


def test_chejan_before_the_order_number_waits_and_is_replayed_in_order() -> None:
    c = Correlator()
    placed(c)
    assert c.chejan(chejan("0012345", "접수"), now=0) == []
    assert c.chejan(chejan("0012345", "체결", unfilled=0, f909="1", f910="70000", f911="10", f915="10"), now=0.05) == []
    events = c.order_number("rq-1", "0012345", "", now=0.1)
    assert names(events) == [protocol.ORDER_ACCEPTED, protocol.ORDER_FILLED]
    assert events[1][1]["order_id"] == 7 and events[1][1]["quantity"] == 10


def test_a_blank_order_number_is_a_reject_with_the_message() -> None:
    c = Correlator()
    placed(c)
    [(name, data)] = c.order_number("rq-1", "  ", "[00Z218] 모의투자 장종료 상태입니다", now=0)
    assert (name, data["order_id"], data["message"]) == (protocol.ORDER_REJECTED, 7, "[00Z218] 모의투자 장종료 상태입니다")


def test_cancel_confirmed_then_a_late_fill_still_finds_its_order() -> None:
    c = Correlator()
    placed(c)
    c.order_number("rq-1", "0012345", "", now=0)
    c.chejan(chejan("0012345", "체결", unfilled=7, f909="1", f910="70000", f911="3"), now=0.1)
    c.sent("rq-2", Sent(7, "cancel", ACCOUNT, "005930", "buy", 7, 0, original_no="0012345"))
    assert c.order_number("rq-2", "0012346", "", now=0.2) == []
    [(name, canceled)] = c.chejan(chejan("0012346", "확인", division="매수취소", original="0012345", quantity=7, unfilled=0), now=0.3)
    assert (name, canceled["order_id"], canceled["broker_order_no"], canceled["canceled_quantity"]) == (protocol.ORDER_CANCELED, 7, "0012345", 7)
    [(name, late)] = c.chejan(chejan("0012345", "체결", unfilled=0, f909="2", f910="70000", f911="4"), now=0.4)
    assert (name, late["order_id"], late["quantity"]) == (protocol.ORDER_FILLED, 7, 1)


def test_modify_links_the_new_number_by_904() -> None:
    c = Correlator()
    placed(c)
    c.order_number("rq-1", "0012345", "", now=0)
    c.sent("rq-3", Sent(7, "modify", ACCOUNT, "005930", "buy", 10, 69500, original_no="0012345"))
    c.order_number("rq-3", "0012347", "", now=0.1)
    [(name, replaced)] = c.chejan(chejan("0012347", "확인", division="+매수정정", original="0012345", f901="69500"), now=0.2)
    assert (name, replaced["broker_order_no"], replaced["new_broker_order_no"], replaced["quantity"]) == (protocol.ORDER_REPLACED, "0012345", "0012347", 10)
    [(name, fill)] = c.chejan(chejan("0012347", "체결", unfilled=0, f909="1", f910="69500", f911="10"), now=0.3)
    assert (name, fill["order_id"], fill["broker_order_no"]) == (protocol.ORDER_FILLED, 7, "0012347")


def test_a_repeated_fill_is_reported_once() -> None:
    c = Correlator()
    placed(c)
    c.order_number("rq-1", "0012345", "", now=0)
    fill = chejan("0012345", "체결", unfilled=5, f909="1", f910="70000", f911="5", f915="5")
    assert len(c.chejan(fill, now=0.1)) == 1
    assert c.chejan(fill, now=0.2) == []


def test_events_that_never_find_their_number_go_to_the_server_anyway() -> None:
    c = Correlator(unmatched_after_s=5)
    c.chejan(chejan("0099999", "접수"), now=0)
    c.chejan(chejan("0099999", "체결", unfilled=0, f909="1", f910="70000", f911="10", f915="10", f938="150"), now=1)
    assert c.expire(now=4.9) == []
    events = c.expire(now=5.0)
    assert names(events) == [protocol.ORDER_EVENT_UNMATCHED, protocol.ORDER_FILLED]
    fill = events[1][1]
    assert (fill["order_id"], fill["account"], fill["broker_order_no"], fill["quantity"], fill["fee"]) == (None, ACCOUNT, "0099999", 10, 150)
    assert c.expire(now=60) == []
