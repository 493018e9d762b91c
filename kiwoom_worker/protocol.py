"""The worker link's frames: the one definition both the server and the worker import.

Pure standard library on purpose: the Windows worker runs it on 32-bit Python without Django.
Every frame is a JSON object with ``v`` (protocol version), ``type`` and ``id``. docs/protocol.md
describes the exchange in prose; this module is what enforces it.
"""

from __future__ import annotations

import json
import re
import uuid

try:  # the server installs orjson for speed; the Windows worker runs on the standard library alone
    from orjson import JSONDecodeError as _JSONDecodeError
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - exercised on the worker
    _loads = json.loads
    _JSONDecodeError = ValueError
from dataclasses import dataclass, field
from typing import Any

VERSION = 1
SYMBOL_RE = re.compile(r"^[0-9A-Z]{6}$")
ACCOUNT_RE = re.compile(r"^[0-9]{8,11}$")
LOGIN_MESSAGE_MAX = 500

# Frames the worker sends.
HELLO = "hello"
EVENT = "event"
TICKS = "ticks"
HEARTBEAT = "heartbeat"
# Instead of a hello: the broker login failed, so an admin sees why the worker is not connected.
LOGIN_FAILED = "login_failed"
# Frames the server sends.
WELCOME = "welcome"
ACK = "ack"
COMMAND = "command"
ERROR = "error"
CLOSE_NOTICE = "close"

WORKER_FRAMES = frozenset({HELLO, LOGIN_FAILED, EVENT, TICKS, HEARTBEAT})
SERVER_FRAMES = frozenset({WELCOME, ACK, COMMAND, ERROR, CLOSE_NOTICE})

# Commands (server -> worker). Each carries a command_id the worker executes at most once.
PLACE_ORDER = "place_order"
CANCEL_ORDER = "cancel_order"
MODIFY_ORDER = "modify_order"
QUERY_BALANCE = "query_balance"
QUERY_OPEN_ORDERS = "query_open_orders"
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
COMMANDS = frozenset({PLACE_ORDER, CANCEL_ORDER, MODIFY_ORDER, QUERY_BALANCE, QUERY_OPEN_ORDERS, SUBSCRIBE, UNSUBSCRIBE})

# Durable events (worker -> server), sequenced, acknowledged and replayed.
ORDER_SUBMITTED = "order_submitted"  # the broker call was made; waiting for the order number
ORDER_ACCEPTED = "order_accepted"  # broker order number known (접수)
ORDER_REJECTED = "order_rejected"  # the broker refused it; code and message kept
ORDER_FILLED = "order_filled"  # one execution (체결)
ORDER_CANCELED = "order_canceled"  # cancel confirmed (확인); canceled_quantity says how much
ORDER_REPLACED = "order_replaced"  # modify confirmed: a new broker order number replaces the old one
CANCEL_REJECTED = "cancel_rejected"
COMMAND_OUTCOME_UNKNOWN = "command_outcome_unknown"  # the worker may have sent it; reconcile
ORDER_EVENT_UNMATCHED = "order_event_unmatched"  # a broker event for an order number the worker cannot match
BALANCE = "balance"  # cash and positions of one account, as the broker reports them
OPEN_ORDERS = "open_orders"  # the broker's working orders of one account (reconciliation)
SYMBOL_MASTER = "symbol_master"
MARKET_STATUS = "market_status"
SYMBOL_INFO = "symbol_info"  # the broker's day facts for some symbols: 기준가 (today's band base) and limits
EVENTS = frozenset(
    {
        ORDER_SUBMITTED,
        ORDER_ACCEPTED,
        ORDER_REJECTED,
        ORDER_FILLED,
        ORDER_CANCELED,
        ORDER_REPLACED,
        CANCEL_REJECTED,
        COMMAND_OUTCOME_UNKNOWN,
        ORDER_EVENT_UNMATCHED,
        BALANCE,
        OPEN_ORDERS,
        SYMBOL_MASTER,
        MARKET_STATUS,
        SYMBOL_INFO,
    }
)

# Error codes in ERROR frames.
E_MALFORMED = "MALFORMED"  # not JSON, not an object, or a required field is missing or mistyped
E_TOO_LARGE = "FRAME_TOO_LARGE"
E_VERSION = "UNSUPPORTED_VERSION"
E_UNKNOWN_TYPE = "UNKNOWN_TYPE"
E_HELLO_FIRST = "HELLO_REQUIRED"
E_SEQ_GAP = "SEQ_GAP"  # an event skipped ahead; `expected` says which seq to resend from
E_MODE_MISMATCH = "MODE_MISMATCH"  # the reported server does not match the token's mode
E_ACCOUNT_SCOPE = "ACCOUNT_NOT_IN_SCOPE"
E_REJECTED = "EVENT_REJECTED"  # well-formed but not applicable (e.g. unknown order id); nothing applied

# Order sides, types and Kiwoom's hoga codes (SendOrder sHogaGb).
BUY = "buy"
SELL = "sell"
LIMIT = "limit"
MARKET = "market"
HOGA_CODES = {LIMIT: "00", MARKET: "03"}

# Close codes for the WebSocket itself.
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_MODE_MISMATCH = 4409
CLOSE_REVOKED = 4410
CLOSE_REPLACED = 4411  # a newer connection with the same token took over


class ProtocolError(ValueError):
    """A frame that breaks the protocol; ``code`` is one of the E_* codes."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def new_id() -> str:
    return uuid.uuid4().hex


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def frame(type_: str, **body: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"v": VERSION, "type": type_, "id": body.pop("id", None) or new_id()}
    out.update(body)
    return out


def hello(*, worker_version: str, backend: str, server: str, accounts: list[str], stream_id: str, login: dict[str, Any] | None = None) -> dict[str, Any]:
    return frame(HELLO, worker_version=worker_version, backend=backend, server=server, accounts=accounts, stream_id=stream_id, login=login or {})


def login_failed(*, worker_version: str, backend: str, exit_code: int, message: str, server: str = "") -> dict[str, Any]:
    return frame(LOGIN_FAILED, worker_version=worker_version, backend=backend, exit_code=exit_code, message=message[:LOGIN_MESSAGE_MAX], server=server)


def welcome(*, worker: str, mode: str, accounts: list[str], last_seq: int, heartbeat_s: int) -> dict[str, Any]:
    return frame(WELCOME, worker=worker, mode=mode, accounts=accounts, last_seq=last_seq, heartbeat_s=heartbeat_s)


def event(*, seq: int, name: str, data: dict[str, Any], at: str) -> dict[str, Any]:
    return frame(EVENT, seq=seq, event=name, data=data, at=at)


def ack(seq: int) -> dict[str, Any]:
    return frame(ACK, seq=seq)


def command(*, command_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return frame(COMMAND, id=command_id, command=name, args=args)


def error(code: str, message: str, *, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    return frame(ERROR, code=code, message=message, ref=ref, **extra)


# Tick rows are positional to keep batches small: many ticks per frame at the open.
TICK_FIELDS = ("symbol", "price", "change", "change_rate", "volume", "cum_volume", "time")


@dataclass(frozen=True, slots=True)
class Tick:
    symbol: str
    price: int
    change: int  # signed, versus the previous close
    change_rate: float  # signed percent
    volume: int  # this trade; + buyer-initiated, - seller-initiated
    cum_volume: int
    time: str  # ISO 8601 with offset


def ticks(rows: list[Tick]) -> dict[str, Any]:
    return frame(TICKS, ticks=[[t.symbol, t.price, t.change, t.change_rate, t.volume, t.cum_volume, t.time] for t in rows])


@dataclass(slots=True)
class Parsed:
    type: str
    id: str
    body: dict[str, Any] = field(default_factory=dict)


def decode(raw: str | bytes, *, allowed: frozenset[str], max_bytes: int | None = None) -> Parsed:
    """Parse one frame; raise ProtocolError with a code the peer can act on."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if max_bytes is not None and size > max_bytes:
        raise ProtocolError(E_TOO_LARGE, f"frame of {size} bytes exceeds the limit of {max_bytes}")
    try:
        obj = _loads(raw)
    except (_JSONDecodeError, ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(E_MALFORMED, f"frame is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(E_MALFORMED, "frame must be a JSON object")
    if obj.get("v") != VERSION:
        raise ProtocolError(E_VERSION, f"protocol version {obj.get('v')!r} is not supported; this side speaks {VERSION}")
    type_ = obj.get("type")
    if type_ not in allowed:
        raise ProtocolError(E_UNKNOWN_TYPE, f"frame type {type_!r} is not accepted here")
    frame_id = obj.get("id")
    if not isinstance(frame_id, str) or not frame_id or len(frame_id) > 64:
        raise ProtocolError(E_MALFORMED, "frame id must be a non-empty string of at most 64 characters")
    body = {k: v for k, v in obj.items() if k not in ("v", "type", "id")}
    _validate(type_, body)
    return Parsed(type=type_, id=frame_id, body=body)


def _need(body: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(key)
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ProtocolError(E_MALFORMED, f"field {key!r} must be {name}")
    return value


def _validate(type_: str, body: dict[str, Any]) -> None:
    if type_ == HELLO:
        for key in ("worker_version", "backend", "server", "stream_id"):
            _need(body, key, str)
        if body["server"] not in ("paper", "real"):
            raise ProtocolError(E_MALFORMED, "field 'server' must be 'paper' or 'real'")
        accounts = _need(body, "accounts", list)
        if not all(isinstance(a, str) and ACCOUNT_RE.match(a) for a in accounts):
            raise ProtocolError(E_MALFORMED, "field 'accounts' must list account numbers of 8 to 11 digits")
    elif type_ == LOGIN_FAILED:
        for key in ("worker_version", "backend", "message"):
            _need(body, key, str)
        _need(body, "exit_code", int)
        if len(body["message"]) > LOGIN_MESSAGE_MAX:
            raise ProtocolError(E_MALFORMED, f"field 'message' must be at most {LOGIN_MESSAGE_MAX} characters")
        if body.get("server", "") not in ("", "paper", "real"):
            raise ProtocolError(E_MALFORMED, "field 'server' must be 'paper', 'real' or empty")
    elif type_ == EVENT:
        seq = _need(body, "seq", int)
        if seq < 1:
            raise ProtocolError(E_MALFORMED, "field 'seq' must be a positive integer")
        if _need(body, "event", str) not in EVENTS:
            raise ProtocolError(E_MALFORMED, f"unknown event {body['event']!r}")
        _need(body, "data", dict)
        _need(body, "at", str)
    elif type_ == TICKS:
        _need(body, "ticks", list)
    elif type_ == ACK:
        _need(body, "seq", int)
    elif type_ == COMMAND:
        if _need(body, "command", str) not in COMMANDS:
            raise ProtocolError(E_MALFORMED, f"unknown command {body['command']!r}")
        _need(body, "args", dict)
    elif type_ == WELCOME:
        _need(body, "last_seq", int)
        _need(body, "mode", str)
        _need(body, "accounts", list)
    elif type_ == ERROR:
        _need(body, "code", str)


def parse_tick(row: Any) -> Tick:
    """One positional tick row; ProtocolError if it is malformed (the batch's other rows still count)."""
    if not isinstance(row, list) or len(row) != len(TICK_FIELDS):
        raise ProtocolError(E_MALFORMED, "tick row must be a list of 7 values")
    symbol, price, change, rate, volume, cum, at = row
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        raise ProtocolError(E_MALFORMED, f"tick symbol {symbol!r} is not a KRX code")
    for value in (price, change, volume, cum):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ProtocolError(E_MALFORMED, "tick price, change and volumes must be integers")
    if price <= 0 or cum < 0:
        raise ProtocolError(E_MALFORMED, "tick price must be positive and cumulative volume non-negative")
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not isinstance(at, str):
        raise ProtocolError(E_MALFORMED, "tick change rate must be a number and time a string")
    return Tick(symbol, price, change, float(rate), volume, cum, at)
