"""Engines for the operational store: SQLite (embedded default) and PostgreSQL.

SQLite gets WAL and a write lock taken at BEGIN, so a transaction that reads the highest id
and then inserts cannot interleave with another writer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from rolodex.exceptions import ConfigError

PAGE_SIZE = 16384
_POOL_SIZE = 40
_POOL_OVERFLOW = 20


def normalize_url(url: str) -> str:
    """Turn a bare path or a postgres URL without a driver into a full SQLAlchemy URL."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url` with the settings Rolodex relies on.

    Raises:
        ConfigError: the URL names a database kind Rolodex does not support.
    """
    full = normalize_url(url)
    parsed = make_url(full)
    backend = parsed.get_backend_name()
    # The API serves a request per thread (up to 40): with the default pool of 5 every other
    # request opened a fresh connection, whose empty page cache reads the file again.
    # Connections are made on demand, so a CLI run still opens one or two.
    if "poolclass" not in kwargs and parsed.database not in (None, "", ":memory:"):
        kwargs.setdefault("pool_size", _POOL_SIZE)
        kwargs.setdefault("max_overflow", _POOL_OVERFLOW)
    if backend == "sqlite":
        engine = create_engine(full, connect_args={"timeout": 60}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        # Timestamps read back as text (analytics, quality) are then UTC, as stored.
        utc = {"options": "-c TimeZone=UTC"}
        return create_engine(full, pool_pre_ping=True, connect_args=utc, **kwargs)
    raise ConfigError(f"unsupported database {backend!r}: use a sqlite:// or postgresql:// URL")


def _configure_sqlite(engine: Engine) -> None:
    """Enable WAL, foreign keys and BEGIN IMMEDIATE on every SQLite connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Takes effect only while the file is still empty: bulk loads write a third fewer
        # pages (and B-tree splits) than with the 4 KiB default.
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-131072")
        cursor.execute("PRAGMA wal_autocheckpoint=20000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Read-only connections (execution option `rolodex_read_only`) read a snapshot
        # without the write lock; everything else locks at BEGIN (see the module docstring).
        if connection.get_execution_options().get("rolodex_read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
