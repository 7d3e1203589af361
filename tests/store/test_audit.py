"""The audit log's hash chain: `verify` finds edited, removed and truncated entries."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from rolodex import Workspace
from rolodex.cli.main import app
from rolodex.store.audit import append_audit
from tests.conftest import DATA

CONTACTS = DATA / "contacts_small.csv"


def _drop_guards(conn: Connection) -> None:
    """Remove the append-only triggers, as someone with direct database access could."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    else:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))


@pytest.fixture
def logged(ws: Workspace) -> Workspace:
    """A workspace whose log holds real entries (an import) and a few written here."""
    ws.import_file(CONTACTS, source="crm")
    with ws.engine.begin() as conn:
        for n in range(5):
            append_audit(conn, actor="alice", action="contact.read", entity="contact", entity_id=n)
    return ws


def test_an_untouched_log_verifies(logged: Workspace) -> None:
    found = logged.audit_verify()
    assert found.ok
    assert found.entries >= 6
    assert found.head is not None
    assert logged.audit_verify(expect_head=found.head).ok


def test_an_edited_entry_is_found(logged: Workspace) -> None:
    with logged.engine.begin() as conn:
        _drop_guards(conn)
        target = conn.execute(text("SELECT id FROM audit_log WHERE actor = 'alice'")).scalar()
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"), {"id": target})
    found = logged.audit_verify()
    assert not found.ok
    assert [(b.entry_id, "edited" in b.problem) for b in found.breaks] == [(target, True)]


def test_a_removed_entry_is_found(logged: Workspace) -> None:
    with logged.engine.begin() as conn:
        _drop_guards(conn)
        ids = [r[0] for r in conn.execute(text("SELECT id FROM audit_log ORDER BY id"))]
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[2]})
    found = logged.audit_verify()
    assert [b.entry_id for b in found.breaks] == [ids[3]]
    assert "removed" in found.breaks[0].problem


def test_entries_removed_from_the_end_need_the_kept_head(logged: Workspace) -> None:
    head = logged.audit_verify().head
    with logged.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(text("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)"))
    assert logged.audit_verify().ok  # a shorter chain is still a chain
    found = logged.audit_verify(expect_head=head)
    assert not found.ok
    assert "removed from the end" in found.breaks[0].problem


def test_the_triggers_refuse_edits(logged: Workspace) -> None:
    with pytest.raises(Exception, match="append-only"), logged.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'x'"))
    assert logged.audit_verify().ok


def test_concurrent_writers_keep_one_chain(logged: Workspace) -> None:
    if logged.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time by design; the race is PostgreSQL's")
    errors: list[BaseException] = []

    def write(who: str) -> None:
        try:
            for n in range(20):
                with logged.engine.begin() as conn:
                    append_audit(conn, actor=who, action="contact.read", entity_id=n)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"user{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert logged.audit_verify().ok


def test_cli_verify_exits_non_zero_on_a_broken_chain(logged: Workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["--db", logged.url, "audit", "verify", "--json"])
    assert ok.exit_code == 0, ok.output
    assert '"ok": true' in ok.stdout
    listed = runner.invoke(app, ["--db", logged.url, "audit", "list", "--actor", "alice"])
    assert listed.exit_code == 0
    assert listed.stdout.count("contact.read") == 5
    with logged.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(text("UPDATE audit_log SET details = '{}' WHERE actor = 'alice'"))
    broken = runner.invoke(app, ["--db", logged.url, "audit", "verify"])
    assert broken.exit_code == 1
    assert "edited" in broken.stdout
