"""The interface every broker backend implements (``sim`` anywhere, ``ocx`` on Windows).

The link (kiwoom_worker.link) owns the WebSocket, the durable outbox and command de-duplication;
a backend only talks to the broker and reports what happened through an EventSink.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiwoom_worker.protocol import Tick


class EventSink(Protocol):
    def emit(self, name: str, data: dict[str, Any]) -> None:
        """Record a durable event (one of protocol.EVENTS). Thread-safe; survives a crash once it returns."""

    def emit_ticks(self, ticks: list[Tick]) -> None:
        """Queue ticks for the next batch frame. Not durable: a newer tick supersedes a lost one."""

    def fail(self, message: str, exit_code: int) -> None:
        """The broker session is gone for good (e.g. the control lost its connection): stop with this exit code.

        Thread-safe. The supervisor restarts the process, which logs in anew; the outbox keeps every event.
        """


@dataclass(slots=True)
class LoginResult:
    server: str  # "paper" or "real": the server the broker session actually logged in to
    accounts: list[str]
    details: dict[str, Any] = field(default_factory=dict)  # user id, login code, module version...


class CommandError(Exception):
    """The command was refused before anything reached the broker (a definitive reject)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class LoginError(Exception):
    """Login failed; ``exit_code`` tells a supervisor whether restarting can help."""

    def __init__(self, message: str, *, exit_code: int, server: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.server = server  # the server it did log in to, when the refusal came after the login


class Backend(abc.ABC):
    name: str

    @abc.abstractmethod
    async def start(self, sink: EventSink) -> LoginResult:
        """Log in and start streaming; raise LoginError when that is impossible."""

    @abc.abstractmethod
    async def execute(self, *, command_id: str, name: str, args: dict[str, Any]) -> None:
        """Carry out one command (protocol.COMMANDS); outcomes arrive as events through the sink."""

    @abc.abstractmethod
    async def reconcile(self, accounts: list[str]) -> None:
        """Emit BALANCE and OPEN_ORDERS for each account: run after every (re)connect, before new orders flow."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Release the broker session."""
