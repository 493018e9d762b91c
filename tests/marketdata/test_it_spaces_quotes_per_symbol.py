"""The fan-out schedule: at most N quotes a second per symbol, always the newest, and no drift.

Driven on a simulated clock: ticks arrive at given moments and the caller's timer fires a few
milliseconds after the moment ``take_due`` asked for, as an event loop under load does.
"""

from __future__ import annotations

import heapq
import itertools

from apps.marketdata import ingest
from kiwoom_worker.protocol import Tick

INTERVAL = 0.25  # QUOTE_UPDATES_PER_S = 4
TIMER_LATE = 0.003


def simulate(arrivals: list[tuple[float, str]]) -> list[tuple[float, str, int, float]]:
    """Feed ticks at their moments; returns (published at, code, tick number, tick arrival) per quote."""
    feed = ingest.TickIngest()
    arrived_at: dict[int, float] = {}
    events = [(at, 0, n, code) for n, (at, code) in enumerate(arrivals)]
    heapq.heapify(events)
    published, timer = [], None
    counter = itertools.count(len(arrivals))
    while events:
        now, kind, n, code = heapq.heappop(events)
        if kind == 0:
            arrived_at[n] = now
            feed.add(Tick(code, 10_000 + n, 0, 0.0, 1, n, "2026-11-23T09:00:00+09:00"))
        elif timer != n:
            continue  # a timer that was re-armed earlier
        due, next_slot = feed.take_due(now, INTERVAL)
        published += [(now, t.symbol, t.cum_volume, arrived_at[t.cum_volume]) for t in due]
        if next_slot is not None:
            timer = next(counter)
            heapq.heappush(events, (next_slot + TIMER_LATE, 1, timer, ""))
    return published


def ticks_every(seconds: float, period: float, code: str = "005930", start: float = 0.0) -> list[tuple[float, str]]:
    return [(start + i * period, code) for i in range(int(seconds / period))]


def test_a_busy_symbol_goes_out_at_most_n_times_a_second_with_its_newest_tick() -> None:
    arrivals = ticks_every(20, 0.1)  # 10 ticks a second, above the limit of 4
    out = simulate(arrivals)
    times = [at for at, *_ in out]
    assert all(b - a >= INTERVAL * (1 - ingest.SLOT_TOLERANCE) - 1e-9 for a, b in itertools.pairwise(times))
    assert len(out) <= 4 * 20 + 1
    for at, _, n, _ in out:  # whatever went out was the newest tick at that moment
        assert max(i for i, (moment, _) in enumerate(arrivals) if moment <= at) == n
    assert max(at - arrived for at, _, _, arrived in out) <= 0.1 + TIMER_LATE + 1e-9  # never older than one tick interval
    assert out[-1][2] == len(arrivals) - 1  # the last value is not lost


def test_a_symbol_at_the_limit_is_not_delayed_by_timer_lateness() -> None:
    # 4 ticks a second with jitter (240 / 260 ms): without a grid, each late timer pushed every later
    # slot back and quotes aged up to a whole interval.
    arrivals, at = [], 0.0
    for i in range(200):
        arrivals.append((at, "000660"))
        at += 0.24 if i % 2 else 0.26
    out = simulate(arrivals)
    assert len(out) == len(arrivals)  # nothing needed conflating
    ages = sorted(at - arrived for at, _, _, arrived in out)
    assert ages[-1] <= 0.01 + TIMER_LATE + 1e-9


def test_quiet_symbols_go_out_at_once_and_symbols_do_not_hold_each_other_back() -> None:
    arrivals = sorted(ticks_every(5, 0.05, "005930") + ticks_every(5, 1.0, "035720", start=0.013))
    out = simulate(arrivals)
    quiet = [(at, arrived) for at, code, _, arrived in out if code == "035720"]
    assert len(quiet) == 5 and all(at == arrived for at, arrived in quiet)
