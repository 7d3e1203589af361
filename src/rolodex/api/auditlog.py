"""The API's read log: every read of personal data becomes an audit entry.

Reads are the bulk of API traffic, so their entries are queued and chained in batches by one
background thread (every `interval` seconds or `batch` entries) instead of a write per
request. Changes are audited in their own transaction by the library, not here. A crash can
lose at most the reads of the last interval; shutdown flushes what is queued.
"""

from __future__ import annotations

import logging
import queue
import threading

from sqlalchemy import Engine

from rolodex.store.audit import AuditEntry, append_audit_many

log = logging.getLogger("rolodex.api")


class ReadLog:
    """Queue audit entries and chain them into the log in batches."""

    def __init__(self, engine: Engine, *, interval: float = 0.2, batch: int = 1000) -> None:
        self.engine = engine
        self.interval = interval
        self.batch = batch
        self._queue: queue.SimpleQueue[AuditEntry] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # One flush at a time: a caller's flush then also waits for the batch the background
        # thread has taken off the queue, so "flushed" means "in the log".
        self._flushing = threading.Lock()

    def start(self) -> None:
        """Start the background writer (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rolodex-read-log", daemon=True)
            self._thread.start()

    def add(self, entry: AuditEntry) -> None:
        """Queue one entry; it reaches the log within `interval` seconds."""
        self._queue.put(entry)

    def flush(self) -> int:
        """Write everything queued now; return how many entries were written."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        written = 0
        while True:
            entries: list[AuditEntry] = []
            while len(entries) < self.batch:
                try:
                    entries.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not entries:
                return written
            try:
                with self.engine.begin() as conn:
                    append_audit_many(conn, entries)
            except Exception:
                for entry in entries:  # back in the queue for the next try, none lost
                    self._queue.put(entry)
                raise
            written += len(entries)

    def stop(self) -> None:
        """Stop the writer after a last flush."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # keep the thread alive; the entries stay for the next try
                log.exception("could not write the API read log; retrying")
