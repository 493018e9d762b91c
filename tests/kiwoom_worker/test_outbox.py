"""The worker's durable outbox: sequence, acknowledgement, command de-duplication, threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kiwoom_worker.outbox import DONE, NEW, STARTED, Outbox


def test_seq_and_stream_survive_a_restart_and_acks_forget(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    stream = box.stream_id
    assert [box.append("balance", {"n": i}, "t") for i in range(3)] == [1, 2, 3]
    box.ack(2)
    box.close()
    box = Outbox(tmp_path / "o.sqlite3")
    assert box.stream_id == stream
    assert [e.seq for e in box.pending()] == [3]
    assert box.append("balance", {}, "t") == 4  # a seq is never reused after deletes


def test_a_new_file_is_a_new_stream(tmp_path: Path) -> None:
    assert Outbox(tmp_path / "a.sqlite3").stream_id != Outbox(tmp_path / "b.sqlite3").stream_id


def test_commands_are_recorded_before_they_run(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    assert box.begin_command("c1", "place_order") == NEW
    assert box.begin_command("c1", "place_order") == STARTED  # crashed before finishing: outcome unknown
    box.finish_command("c1")
    assert box.begin_command("c1", "place_order") == DONE


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")

    def half_done() -> None:
        with box.transaction():
            box.append("order_filled", {}, "t")
            box.put_state("k", 1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        half_done()
    assert box.pending() == []
    assert box.get_state("k") is None


def test_emitting_from_many_threads_loses_nothing(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")

    def emit(n: int) -> None:
        for i in range(200):
            box.append("balance", {"thread": n, "i": i}, "t")

    threads = [threading.Thread(target=emit, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [e.seq for e in box.pending(limit=10_000)]
    assert seqs == list(range(1, 801))
