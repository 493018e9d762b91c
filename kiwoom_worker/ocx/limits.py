"""Kiwoom's request limits, enforced in one scheduler so the control never answers -308 or -200.

Orders: 5 per second (the sixth returns -308). TR queries (CommRqData, CommKwRqData, condition
searches) share 5 per second, and bursts bring escalating penalties (17 s, then 90 s, then 180 s)
and roughly 1,000 an hour gets a connection cut; the default query windows keep under all of them.
Orders and queries are counted separately. Within what the limits allow, work goes out by priority:
cancels, then the emergency stop's orders, then new orders, then queries; FIFO within a priority.
"""

from __future__ import annotations

import enum
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# (calls, seconds): at most that many calls in any window of that length.
ORDER_WINDOWS: tuple[tuple[int, float], ...] = ((5, 1.0),)
QUERY_WINDOWS: tuple[tuple[int, float], ...] = ((5, 1.0), (5, 18.0), (25, 90.0), (50, 180.0), (1000, 3600.0))
# Kiwoom counts on its own clock; a little slack keeps a window that just closed from being reopened early.
SLACK_S = 0.02


class Priority(enum.IntEnum):
    CANCEL = 0
    EMERGENCY = 1
    ORDER = 2
    QUERY = 3

    @property
    def is_order(self) -> bool:
        return self != Priority.QUERY


class SlidingWindows:
    """Admits a call when every window has room, counting the calls actually made."""

    def __init__(self, windows: Sequence[tuple[int, float]]) -> None:
        self.windows = tuple(windows)
        self._longest = max(seconds for _calls, seconds in self.windows)
        self._calls: deque[float] = deque()
        self._blocked_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds until one more call fits every window (0 when it fits now)."""
        while self._calls and self._calls[0] <= now - self._longest:
            self._calls.popleft()
        wait = self._blocked_until - now
        for limit, seconds in self.windows:
            inside = [t for t in self._calls if t > now - seconds]
            if len(inside) >= limit:
                # The oldest call that must leave the window before there is room again.
                wait = max(wait, inside[len(inside) - limit] + seconds + SLACK_S - now)
        return max(wait, 0.0)

    def record(self, now: float) -> None:
        self._calls.append(now)

    def penalise(self, now: float, seconds: float) -> None:
        """The server said too many (-308/-200): nothing more for ``seconds``."""
        self._blocked_until = max(self._blocked_until, now + seconds)


@dataclass(order=True)
class Job:
    priority: int
    seq: int
    run: Callable[[], Any] = field(compare=False)
    label: str = field(default="", compare=False)
    deadline: float | None = field(default=None, compare=False)  # give up (and report) if not sent by then
    retried: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class Expired:
    job: Job
    waited_s: float


class Scheduler:
    """Picks the next job the limits allow. Single-threaded: the Qt thread calls it (the OCX is not thread-safe)."""

    def __init__(self, order_windows: Sequence[tuple[int, float]] = ORDER_WINDOWS, query_windows: Sequence[tuple[int, float]] = QUERY_WINDOWS) -> None:
        self.orders = SlidingWindows(order_windows)
        self.queries = SlidingWindows(query_windows)
        self._heap: list[Job] = []
        self._seq = itertools.count()
        self._submitted_at: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._heap)

    def submit(self, priority: Priority, run: Callable[[], Any], *, now: float, label: str = "", timeout_s: float | None = None) -> Job:
        job = Job(int(priority), next(self._seq), run, label, None if timeout_s is None else now + timeout_s)
        self._submitted_at[job.seq] = now
        heapq.heappush(self._heap, job)
        return job

    def _limiter(self, job: Job) -> SlidingWindows:
        return self.orders if Priority(job.priority).is_order else self.queries

    def expire(self, now: float) -> list[Expired]:
        """Remove jobs whose deadline passed before they could be sent; the caller reports each one."""
        expired = [job for job in self._heap if job.deadline is not None and job.deadline <= now]
        if expired:
            self._heap = [job for job in self._heap if job not in expired]
            heapq.heapify(self._heap)
        return [Expired(job, now - self._submitted_at.pop(job.seq, now)) for job in expired]

    def next_ready(self, now: float) -> tuple[Job | None, float]:
        """The job to run now (recorded against its limit), or None and how long to wait.

        Orders and queries have separate budgets, so a query waiting out a penalty never holds back
        an order, and orders are taken strictly by priority among themselves.
        """
        best_wait = float("inf")
        for job in sorted(self._heap):
            limiter = self._limiter(job)
            wait = limiter.wait(now)
            if wait == 0:
                self._heap.remove(job)
                heapq.heapify(self._heap)
                limiter.record(now)
                self._submitted_at.pop(job.seq, None)
                return job, 0.0
            best_wait = min(best_wait, wait)
        return None, (0.0 if best_wait == float("inf") else best_wait)

    def overflowed(self, job: Job, *, now: float, penalty_s: float = 1.0) -> bool:
        """The control answered -308/-200 despite the limits: retry once after the window, never lose it.

        Returns False when the job was already retried (the caller reports it as failed).
        """
        self._limiter(job).penalise(now, penalty_s)
        if job.retried:
            return False
        job.retried = True
        self._submitted_at[job.seq] = now
        heapq.heappush(self._heap, job)
        return True
