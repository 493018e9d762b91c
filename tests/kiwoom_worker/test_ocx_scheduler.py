"""The OCX backend's one scheduler: Kiwoom's order and query limits never exceeded, work in priority order."""

from __future__ import annotations

from kiwoom_worker.ocx.limits import ORDER_WINDOWS, QUERY_WINDOWS, Priority, Scheduler, SlidingWindows


def drain(scheduler: Scheduler, *, until: float, step: float = 0.01) -> list[tuple[float, str]]:
    """Run the scheduler on a simulated clock; returns (time sent, label)."""
    sent, now = [], 0.0
    while now <= until and len(scheduler):
        job, wait = scheduler.next_ready(now)
        if job is None:
            now += max(wait, step)
            continue
        job.run()
        sent.append((now, job.label))
    return sent


def max_in_any_window(times: list[float], seconds: float) -> int:
    return max(sum(1 for t in times if start <= t < start + seconds) for start in times)


def test_a_burst_of_30_orders_never_exceeds_5_per_second_and_goes_by_priority() -> None:
    scheduler = Scheduler()
    kinds = [Priority.ORDER] * 20 + [Priority.CANCEL] * 6 + [Priority.EMERGENCY] * 4
    for index, kind in enumerate(kinds):
        scheduler.submit(kind, lambda: None, now=0.0, label=f"{kind.name}:{index}")
    sent = drain(scheduler, until=10)
    assert len(sent) == 30
    assert max_in_any_window([t for t, _ in sent], 1.0) <= 5  # so the control never answers -308
    order = [label.split(":")[0] for _, label in sent]
    assert order == ["CANCEL"] * 6 + ["EMERGENCY"] * 4 + ["ORDER"] * 20
    assert [int(label.split(":")[1]) for _, label in sent[10:]] == list(range(20))  # FIFO within a priority
    assert sent[-1][0] < 6.1  # and no slower than the limit requires


def test_a_cancel_submitted_later_overtakes_waiting_orders() -> None:
    scheduler = Scheduler()
    for index in range(10):
        scheduler.submit(Priority.ORDER, lambda: None, now=0.0, label=f"order{index}")
    first = drain(scheduler, until=0.5)
    assert len(first) == 5
    scheduler.submit(Priority.CANCEL, lambda: None, now=0.5, label="cancel")
    job, wait = scheduler.next_ready(0.5)
    assert job is None and 0.5 < wait <= 0.53
    job, _ = scheduler.next_ready(1.03)
    assert job is not None and job.label == "cancel"


def test_queries_keep_to_the_penalty_windows_and_never_hold_back_orders() -> None:
    scheduler = Scheduler()
    for index in range(12):
        scheduler.submit(Priority.QUERY, lambda: None, now=0.0, label=f"q{index}")
    scheduler.submit(Priority.ORDER, lambda: None, now=0.0, label="order")
    sent = drain(scheduler, until=60)
    times = {label: t for t, label in sent}
    assert times["order"] == 0.0
    query_times = sorted(t for label, t in times.items() if label.startswith("q"))
    for calls, seconds in QUERY_WINDOWS:
        assert max_in_any_window(query_times, seconds) <= calls
    assert query_times[5] >= 18.0 and query_times[10] >= 36.0


def test_an_overflow_is_retried_once_after_the_window_then_reported() -> None:
    scheduler = Scheduler()
    job = scheduler.submit(Priority.ORDER, lambda: None, now=0.0, label="o")
    taken, _ = scheduler.next_ready(0.0)
    assert taken is job
    assert scheduler.overflowed(job, now=0.0) is True  # -308 anyway: back in the queue, not lost
    again, wait = scheduler.next_ready(0.1)
    assert again is None and wait > 0.8
    again, _ = scheduler.next_ready(1.0)
    assert again is job
    assert scheduler.overflowed(job, now=1.0) is False  # the second time the caller reports it failed


def test_a_job_not_sent_before_its_deadline_is_reported_not_left_hanging() -> None:
    scheduler = Scheduler(query_windows=((1, 10.0),))
    scheduler.submit(Priority.QUERY, lambda: None, now=0.0, label="first")
    late = scheduler.submit(Priority.QUERY, lambda: None, now=0.0, label="second", timeout_s=5)
    assert scheduler.next_ready(0.0)[0].label == "first"
    assert scheduler.expire(4.9) == []
    [expired] = scheduler.expire(5.0)
    assert expired.job is late and expired.waited_s == 5.0
    assert len(scheduler) == 0


def test_windows_count_only_calls_inside_them() -> None:
    windows = SlidingWindows(ORDER_WINDOWS)
    for t in (0.0, 0.1, 0.2, 0.3, 0.4):
        assert windows.wait(t) == 0
        windows.record(t)
    assert 0.6 < windows.wait(0.4) <= 0.63
    assert windows.wait(1.03) == 0
