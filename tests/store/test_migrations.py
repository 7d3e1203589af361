"""Migrations: upgrade, downgrade, upgrade again, and no drift from the models, on both stores."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError

import rolodex.model
from rolodex.store import migrate
from rolodex.store.audit import append_audit
from rolodex.store.engine import make_engine


def test_upgrade_downgrade_upgrade_has_no_drift(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"contact", "source_record", "audit_log", "order", "consent"} <= tables

    migrate.downgrade(engine)
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, rolodex.model.Base.metadata)
    assert diff == []
    engine.dispose()


def test_audit_log_refuses_update_and_delete(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        append_audit(conn, actor="test", action="import", entity="import_batch", entity_id=1)
        append_audit(conn, actor="test", action="export")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT prev_hash, hash FROM audit_log ORDER BY id")).all()
    assert rows[0].prev_hash is None
    assert rows[1].prev_hash == rows[0].hash  # chained
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 2
    engine.dispose()
