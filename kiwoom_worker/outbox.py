"""The worker's durable outbox: sequenced events until the server acknowledges them, and command ids seen.

SQLite from the standard library, so it runs on the Windows worker too. Writes from several threads
(the OCX backend emits from the Qt thread) go through one lock; a backend can group its own state
and the events it causes in one transaction so they commit together or not at all.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- AUTOINCREMENT: a seq is never reused, even after acknowledged rows are deleted.
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, data TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (command_id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

NEW, STARTED, DONE = "new", "started", "done"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    name: str
    data: dict[str, Any]
    at: str


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an event that `emit` returned must survive a power cut
        self._db.executescript(SCHEMA)
        with self.transaction():
            row = self._db.execute("SELECT value FROM meta WHERE key = 'stream_id'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('stream_id', ?)", (uuid.uuid4().hex,))
        self.stream_id: str = self._db.execute("SELECT value FROM meta WHERE key = 'stream_id'").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes; nested calls join the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def append(self, name: str, data: dict[str, Any], at: str) -> int:
        with self.transaction():
            cursor = self._db.execute("INSERT INTO events (name, data, at) VALUES (?, ?, ?)", (name, json.dumps(data, ensure_ascii=False), at))
            return int(cursor.lastrowid or 0)

    def pending(self, *, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        with self._lock:
            rows = self._db.execute("SELECT seq, name, data, at FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [StoredEvent(seq, name, json.loads(data), at) for seq, name, data, at in rows]

    def pending_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def ack(self, seq: int) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM events WHERE seq <= ?", (seq,))

    def begin_command(self, command_id: str, name: str) -> str:
        """Record a command before acting on it: NEW the first time, else what became of it (STARTED or DONE)."""
        with self.transaction():
            row = self._db.execute("SELECT state FROM commands WHERE command_id = ?", (command_id,)).fetchone()
            if row is not None:
                return str(row[0])
            self._db.execute("INSERT INTO commands VALUES (?, ?, ?)", (command_id, name, STARTED))
            return NEW

    def finish_command(self, command_id: str) -> None:
        with self.transaction():
            self._db.execute("UPDATE commands SET state = ? WHERE command_id = ?", (DONE, command_id))

    def get_state(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put_state(self, key: str, value: Any) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO state VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, json.dumps(value, ensure_ascii=False))
            )
