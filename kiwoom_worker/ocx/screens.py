"""Screen numbers for real-time registration: at most 200 screens, at most 100 codes per SetRealReg call.

A screen number ties a request, its answer and its real-time registrations together; past 200 the
control mixes results up. Real-time codes are packed onto screens of up to ``per_screen`` codes; the
first registration on a screen replaces ("0"), later ones add ("1"). A code is removed from the one
screen it is on, and a screen left empty is given back. Request screens (TR queries, orders) come
from the same pool so the total never exceeds the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SCREENS = 200
MAX_CODES_PER_CALL = 100
REAL_FIRST, REAL_ADD = "0", "1"


class ScreensExhausted(Exception):
    """All 200 screens are in use: the caller refuses the subscription with a clear error."""


@dataclass(frozen=True, slots=True)
class RealReg:
    screen: str
    codes: tuple[str, ...]
    opt: str  # "0" replace (first on the screen), "1" add


@dataclass(frozen=True, slots=True)
class RealRemove:
    screen: str
    code: str


class ScreenManager:
    def __init__(self, *, per_screen: int = 90, first: int = 1000) -> None:
        # 90 per screen leaves room under the 100-code call limit; numbers from 1000 up keep clear of "0000".
        if not 0 < per_screen <= MAX_CODES_PER_CALL:
            raise ValueError("per_screen must be between 1 and 100")
        self.per_screen = per_screen
        self._free = [f"{n:04d}" for n in range(first + MAX_SCREENS - 1, first - 1, -1)]
        self._real: dict[str, set[str]] = {}  # screen -> codes
        self._where: dict[str, str] = {}  # code -> screen
        self._requests: set[str] = set()

    @property
    def in_use(self) -> int:
        return len(self._real) + len(self._requests)

    def screen_of(self, code: str) -> str | None:
        return self._where.get(code)

    def registered(self) -> set[str]:
        return set(self._where)

    def _take(self) -> str:
        if not self._free:
            raise ScreensExhausted(f"all {MAX_SCREENS} screens are in use")
        return self._free.pop()

    def acquire_request_screen(self) -> str:
        screen = self._take()
        self._requests.add(screen)
        return screen

    def release_request_screen(self, screen: str) -> None:
        if screen in self._requests:
            self._requests.discard(screen)
            self._free.append(screen)

    def add(self, codes: list[str]) -> list[RealReg]:
        """The SetRealReg calls that register the codes not yet registered (fills partly used screens first)."""
        pending = [c for c in dict.fromkeys(codes) if c not in self._where]
        calls: list[RealReg] = []
        for screen, held in sorted(self._real.items()):
            room = self.per_screen - len(held)
            if room > 0 and pending:
                batch, pending = pending[:room], pending[room:]
                calls.append(self._put(screen, batch, REAL_ADD))
        while pending:
            screen = self._take()
            self._real[screen] = set()
            batch, pending = pending[: self.per_screen], pending[self.per_screen :]
            calls.append(self._put(screen, batch, REAL_FIRST))
        return calls

    def _put(self, screen: str, codes: list[str], opt: str) -> RealReg:
        self._real[screen].update(codes)
        for code in codes:
            self._where[code] = screen
        return RealReg(screen, tuple(codes), opt)

    def remove(self, codes: list[str]) -> list[RealRemove]:
        """The SetRealRemove calls for these codes; a screen left empty goes back to the pool."""
        calls = []
        for code in dict.fromkeys(codes):
            screen = self._where.pop(code, None)
            if screen is None:
                continue
            calls.append(RealRemove(screen, code))
            held = self._real[screen]
            held.discard(code)
            if not held:
                del self._real[screen]
                self._free.append(screen)
        return calls

    def replay(self) -> list[RealReg]:
        """After a reconnect the control has forgotten everything: register every code again, screen by screen."""
        return [RealReg(screen, tuple(sorted(codes)), REAL_FIRST) for screen, codes in sorted(self._real.items())]
