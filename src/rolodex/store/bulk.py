"""Bulk writes for the import path: reserve ids, insert many rows, look up many keys.

Going row by row through the ORM is several times slower than the driver's bulk paths, so the
import writes tuples straight through the driver: `executemany` on SQLite, `COPY` on
PostgreSQL. The dialect differences live here and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Date, DateTime, Table, bindparam, text

_PARAMS = 900  # bound parameters per statement, under SQLite's lowest limit


def is_postgres(conn: Connection) -> bool:
    """Tell whether the connection talks to PostgreSQL (else SQLite)."""
    return conn.dialect.name == "postgresql"


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """Reserve `count` new primary keys of `table` for rows inserted with explicit ids.

    On SQLite the caller's transaction holds the write lock (BEGIN IMMEDIATE), so the
    highest id cannot move under it; on PostgreSQL the table's sequence hands them out.
    """
    if count <= 0:
        return []
    name = table.name
    if is_postgres(conn):
        rows = conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": f'"{name}"', "n": count},
        )
        return [r[0] for r in rows]
    top = conn.execute(text(f'SELECT coalesce(max(id), 0) FROM "{name}"')).scalar_one()
    if table.kwargs.get("sqlite_autoincrement"):
        seq = conn.execute(
            text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": name}
        ).scalar()
        top = max(top, seq or 0)
    return list(range(top + 1, top + 1 + count))


def _sqlite_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(" ")
    return value


def _sqlite_date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _bool(value: Any) -> Any:
    return None if value is None else int(bool(value))


def _adapters(
    conn: Connection, table: Table, columns: Sequence[str]
) -> list[Callable[[Any], Any] | None]:
    """Return a value adapter per column for what the driver cannot take as it is."""
    postgres = is_postgres(conn)
    out: list[Callable[[Any], Any] | None] = []
    for name in columns:
        col_type = table.c[name].type
        if isinstance(col_type, JSON):
            out.append(_json)
        elif postgres:
            out.append(None)
        elif isinstance(col_type, DateTime):
            out.append(_sqlite_datetime)
        elif isinstance(col_type, Date):
            out.append(_sqlite_date)
        elif isinstance(col_type, Boolean):
            out.append(_bool)
        else:
            out.append(None)
    return out


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert tuples (in `columns` order) into `table` through the fastest driver path.

    Returns:
        The number of rows inserted.
    """
    adapters = [(i, a) for i, a in enumerate(_adapters(conn, table, columns)) if a is not None]
    batch: list[Sequence[Any]]
    if adapters:
        batch = []
        for row in rows:
            values = list(row)
            for i, adapt in adapters:
                if values[i] is not None:
                    values[i] = adapt(values[i])
            batch.append(values)
    else:
        batch = rows if isinstance(rows, list) else list(rows)
    if not batch:
        return 0
    quoted = ", ".join(f'"{c}"' for c in columns)
    if is_postgres(conn):
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in batch:
                copy.write_row(row)
        return len(batch)
    marks = ", ".join("?" * len(columns))
    # Straight to the driver (same connection, same transaction): no per-row wrapping.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', batch)
    cursor.close()
    return len(batch)


def select_in(
    conn: Connection,
    sql: str,
    values: Sequence[Any],
    params: dict[str, Any] | None = None,
) -> list[Any]:
    """Run `sql` (with an `IN :values` placeholder) over `values` in parameter-safe slices."""
    out: list[Any] = []
    stmt = text(sql).bindparams(bindparam("values", expanding=True))
    for start in range(0, len(values), _PARAMS):
        part = list(values[start : start + _PARAMS])
        out.extend(conn.execute(stmt, {**(params or {}), "values": part}).all())
    return out


def refresh_statistics(conn: Connection, tables: Sequence[str]) -> None:
    """Let PostgreSQL's planner see how big tables have grown during a bulk load.

    Autovacuum lags behind a long import; with stale statistics the planner takes a freshly
    filled table for empty and joins it by sequential scan, chunk after chunk. SQLite plans
    from its indexes without statistics, so there is nothing to do there.
    """
    if is_postgres(conn):
        conn.exec_driver_sql("ANALYZE " + ", ".join(f'"{t}"' for t in tables))
