"""Bulk writes on both databases: what goes in as Arrow comes back the same."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
)

from rolodex.store.bulk import BulkSession, read_frame
from rolodex.store.engine import make_engine

_META = MetaData()
_SCRATCH = Table(
    "bulk_scratch",
    _META,
    Column("id", Integer, primary_key=True),
    Column("label", String(50)),
    Column("flag", Boolean),
    Column("digest", LargeBinary),
    Column("at", DateTime(timezone=True)),
    Column("day", Date),
)


def test_ingest_keeps_empty_text_null_bytes_and_times_apart(db_url: str) -> None:
    """An empty string is not NULL, quotes and newlines survive, bytes and times round-trip."""
    engine = make_engine(db_url)
    _META.create_all(engine)
    moment = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)
    data = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "label": pa.array(["", None, 'say "hi",\nthen leave'], pa.string()),
            "flag": pa.array([True, None, False], pa.bool_()),
            "digest": pa.array([b"\x00\xff\\x", None, b""], pa.binary()),
            "at": pa.array([moment, None, None], pa.timestamp("us", "UTC")),
            "day": pa.array([date(1999, 12, 31), None, None], pa.date32()),
        }
    )
    session = BulkSession(engine)
    with session.transaction() as db:
        db.ingest(_SCRATCH, data)
    with engine.connect() as conn:
        got = conn.execute(select(_SCRATCH).order_by(_SCRATCH.c.id)).all()
    session.close()
    assert [r.label for r in got] == ["", None, 'say "hi",\nthen leave']
    assert [r.flag for r in got] == [True, None, False]
    assert [None if r.digest is None else bytes(r.digest) for r in got] == [
        b"\x00\xff\\x",
        None,
        b"",
    ]
    first = got[0].at if got[0].at.tzinfo else got[0].at.replace(tzinfo=UTC)
    assert first == moment
    assert got[0].day == date(1999, 12, 31)


def test_read_frame_types_columns_by_the_schema(db_url: str) -> None:
    """Columns whose first rows are all null still get the schema's types; empty text,
    quotes and newlines survive; an empty result has the schema too."""
    engine = make_engine(db_url)
    _META.create_all(engine)
    n = 30_000  # more than one fetch
    data = pa.table(
        {
            "id": pa.array(range(1, n + 1), pa.int64()),
            "label": pa.array([None] * (n - 3) + ["", "é\n'x'", None], pa.string()),
            "flag": pa.array([None] * (n - 2) + [True, False], pa.bool_()),
        }
    )
    session = BulkSession(engine)
    with session.transaction() as db:
        db.ingest(_SCRATCH, data)
    session.close()
    sql = "SELECT id, label, CASE WHEN flag THEN id END AS picked FROM bulk_scratch ORDER BY id"
    schema = {"id": pl.Int64, "label": pl.Utf8, "picked": pl.Int64}
    with engine.connect() as conn:
        got = read_frame(conn, sql, schema)
        empty = read_frame(conn, sql.replace("ORDER BY", "WHERE id < 0 ORDER BY"), schema)
    engine.dispose()
    assert got.height == n
    assert got["id"].to_list() == list(range(1, n + 1))
    assert got["label"].tail(3).to_list() == ["", "é\n'x'", None]
    assert got["picked"].drop_nulls().to_list() == [n - 1]
    assert got.schema == empty.schema == pl.Schema(schema)
    assert empty.is_empty()


def test_read_frame_keeps_what_csv_could_confuse(db_url: str) -> None:
    """PostgreSQL reads through COPY ... CSV: commas, quotes, backslash-N, booleans and
    floats come back as they were, nulls as nulls."""
    sql = (
        "SELECT 1 AS n, 'a,\"b\"' AS t, CAST(NULL AS VARCHAR(5)) AS u, 1 = 1 AS f, 2.5 AS x"
        " UNION ALL SELECT 2, '\\N', '', 1 = 0, NULL"
    )
    schema = {"n": pl.Int64, "t": pl.Utf8, "u": pl.Utf8, "f": pl.Boolean, "x": pl.Float64}
    engine = make_engine(db_url)
    with engine.connect() as conn:
        got = read_frame(conn, sql, schema)
    engine.dispose()
    assert got.rows() == [(1, 'a,"b"', None, True, 2.5), (2, "\\N", "", False, None)]


def test_adbc_writer_checks_foreign_keys_unless_told_it_need_not(tmp_path: Path) -> None:
    """Only a writer that inserts parents first by construction skips the per-row checks."""
    from rolodex.store.bulk import AdbcSqliteBulk

    for unchecked in (False, True):
        path = tmp_path / f"fk-{unchecked}.db"  # opened by ADBC only: one SQLite per file
        db = AdbcSqliteBulk(str(path), unchecked=unchecked)
        try:
            db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            db.execute(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER"
                " REFERENCES parent (id))"
            )
            orphan = "INSERT INTO child (id, parent_id) VALUES (1, 42)"
            if unchecked:
                db.execute(orphan)
                assert db.query("SELECT parent_id FROM child") == [(42,)]
            else:
                with pytest.raises(Exception, match="FOREIGN KEY"):
                    db.execute(orphan)
        finally:
            db.close()


def test_adbc_writer_checkpoints_beside_its_writes(tmp_path: Path) -> None:
    """The WAL is copied back while the writer goes on, so it restarts instead of growing.

    With checkpoints left to the writer's COMMIT (or not run at all) the WAL would hold every
    transaction below: about 12 MB. Closing the last connection removes it.
    """
    from rolodex.store.bulk import AdbcSqliteBulk

    path = tmp_path / "wal.db"  # opened by ADBC only: one SQLite per file
    wal = Path(f"{path}-wal")
    db = AdbcSqliteBulk(str(path))
    try:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        sizes = []
        for n in range(24):
            db.begin()
            body = pa.array([f"{n:04d}" * 125] * 1000)  # 500 kB per transaction
            db.ingest(
                Table("t", MetaData(), Column("id", Integer), Column("body", String)),
                pa.table({"id": pa.array(range(n * 1000, (n + 1) * 1000)), "body": body}),
            )
            db.commit()
            sizes.append(wal.stat().st_size)
            time.sleep(0.3)  # the checkpointer runs every 0.2 s
        assert db.query("SELECT count(*) FROM t") == [(24_000,)]
        assert max(sizes) < 4_000_000, sizes
    finally:
        db.close()
    assert not wal.exists() or wal.stat().st_size == 0


def test_reserved_ids_are_fresh_and_never_handed_out_again(db_url: str) -> None:
    """Rows inserted with reserved ids, then rows given ids by the database: no clash."""
    engine = make_engine(db_url)
    _META.create_all(engine)
    session = BulkSession(engine)
    try:
        with session.transaction() as db:
            db.execute("INSERT INTO bulk_scratch (label) VALUES ('before')")
            ids = db.reserve_ids(_SCRATCH, 500)
            db.ingest(
                _SCRATCH,
                pa.table({"id": pa.array(ids, pa.int64()), "label": pa.array(["r"] * 500)}),
            )
            db.execute("INSERT INTO bulk_scratch (label) VALUES ('after')")
        with engine.connect() as conn:
            got = dict(conn.execute(select(_SCRATCH.c.id, _SCRATCH.c.label)).all())
    finally:
        session.close()
    assert len(set(ids)) == 500
    before = next(i for i, label in got.items() if label == "before")
    after = next(i for i, label in got.items() if label == "after")
    assert before < min(ids)
    assert max(ids) < after
    assert len(got) == 502


def test_adbc_writer_closes_while_another_connection_reads(tmp_path: Path) -> None:
    """The last checkpoint does not wait for readers (an API server's long query)."""
    import threading

    import adbc_driver_sqlite.dbapi as adbc

    from rolodex.store.bulk import AdbcSqliteBulk

    path = tmp_path / "busy.db"  # opened by ADBC only: one SQLite per file
    db = AdbcSqliteBulk(str(path))
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    reader = adbc.connect(str(path), autocommit=True)
    cursor = reader.cursor()
    try:
        cursor.execute("BEGIN")
        cursor.execute("SELECT count(*) FROM t")
        cursor.fetchall()  # holds a read snapshot until ROLLBACK
        db.begin()
        db.execute("INSERT INTO t (id) VALUES (1)")
        db.commit()
        closing = threading.Thread(target=db.close, daemon=True)
        closing.start()
        closing.join(timeout=20)  # the busy timeout is 60 s
        assert not closing.is_alive()
    finally:
        cursor.execute("ROLLBACK")
        cursor.close()
        reader.close()


def test_a_new_sqlite_file_gets_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy import text

    from rolodex.store.engine import PAGE_SIZE

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:  # made by an earlier version, with SQLite's default
        conn.execute("CREATE TABLE t (x INTEGER)")
    default = sqlite3.connect(old).execute("PRAGMA page_size").fetchone()[0]

    for path, expected in ((tmp_path / "new.db", PAGE_SIZE), (old, default)):
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA page_size")).scalar() == expected
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
        engine.dispose()
    assert PAGE_SIZE > default


@pytest.mark.postgres
def test_a_bulk_analyze_gives_the_planner_sizes_without_changing_the_session(
    pg_url: str,
) -> None:
    from sqlalchemy import text

    engine = make_engine(pg_url)
    _META.create_all(engine)
    session = BulkSession(engine)
    try:
        with session.transaction() as db:
            db.ingest(_SCRATCH, pa.table({"label": pa.array([f"r{i}" for i in range(5000)])}))
            db.analyze(["bulk_scratch"])
            assert db.query("SHOW default_statistics_target")[0][0] == "10"
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'bulk_scratch'")
            ).scalar_one()
            target = conn.execute(text("SHOW default_statistics_target")).scalar_one()
    finally:
        session.close()
    assert rows == 5000
    assert target == "100"  # the smaller sample was for that transaction only


def test_adbc_writer_builds_indexes_on_a_small_cache_and_gets_its_cache_back(
    tmp_path: Path,
) -> None:
    from sqlalchemy import Index

    from rolodex.store.bulk import _CACHE_KIB, AdbcSqliteBulk

    db = AdbcSqliteBulk(str(tmp_path / "ix.db"))
    try:
        db.execute("CREATE TABLE bulk_scratch (id INTEGER PRIMARY KEY, label TEXT)")
        db.ingest(_SCRATCH, pa.table({"label": pa.array([f"r{i % 977}" for i in range(20000)])}))
        db.create_indexes([Index("ix_bulk_scratch_label", _SCRATCH.c.label)])
        plan = db.query("EXPLAIN QUERY PLAN SELECT id FROM bulk_scratch WHERE label = 'r5'")
        cache = db.query("PRAGMA cache_size")
        found = db.query("SELECT count(*) FROM bulk_scratch WHERE label = 'r5'")
    finally:
        db.close()
    assert "ix_bulk_scratch_label" in str(plan)
    assert found == [(21,)]
    assert cache == [(-_CACHE_KIB,)]
