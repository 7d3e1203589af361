"""The API's read log loses no entry when a write of a batch fails: the batch is retried."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, event, text

from rolodex.api.auditlog import ReadLog
from rolodex.store.audit import AuditEntry
from rolodex.workspace import Workspace


def _reads(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'bench.read'")
            ).scalar()
            or 0
        )


def test_a_failed_flush_keeps_its_entries_for_the_next_one(
    ws: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A database without the audit table: the write fails as a locked or lost one would.
    broken = create_engine(f"sqlite:///{tmp_path_factory.mktemp('broken') / 'empty.db'}")
    log = ReadLog(broken, batch=2)
    for n in range(5):
        log.add(AuditEntry(actor="reader", action="bench.read", entity="contact", entity_id=n))
    with pytest.raises(Exception, match="audit_log"):
        log.flush()
    broken.dispose()
    log.engine = ws.engine
    assert log.flush() == 5
    assert _reads(ws) == 5
    assert ws.audit_verify().ok


def test_a_flush_waits_for_the_batch_the_writer_thread_is_writing(ws: Workspace) -> None:
    # The writer thread takes a batch off the queue and is still writing it when a caller
    # flushes: the caller's flush must not return before that batch is in the log.
    taken = threading.Event()
    release = threading.Event()

    @event.listens_for(ws.engine, "before_cursor_execute")
    def _hold(*_: object) -> None:
        if threading.current_thread().name == "rolodex-read-log" and not release.is_set():
            taken.set()
            release.wait(5)

    log = ReadLog(ws.engine, interval=0.01)
    log.add(AuditEntry(actor="reader", action="bench.read", entity="contact", entity_id=1))
    log.start()
    try:
        assert taken.wait(5)
        threading.Timer(0.2, release.set).start()
        log.flush()
        assert _reads(ws) == 1
    finally:
        release.set()
        log.stop()
        event.remove(ws.engine, "before_cursor_execute", _hold)
