"""A process killed mid-import leaves whole chunks only; running the import again completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from rolodex.collect.fields import Kind
from rolodex.config import ImportSettings, Settings
from rolodex.pipeline import imports
from rolodex.pipeline.imports import lookup_indexes
from rolodex.store.engine import make_engine
from rolodex.workspace import Workspace

ROWS = 200_000
CHUNK = 1_000


def _write_file(path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Customer ID,First Name,Last Name,Email,City\n")
        for i in range(ROWS):
            fh.write(f"K{i},First{i},Last{i},person{i}@example.com,City {i % 97}\n")


def _read_count(engine: Engine) -> int:
    with engine.connect() as conn:
        total = conn.execute(text("SELECT coalesce(sum(rows_read), 0) FROM import_batch"))
        return int(total.scalar_one())


def _lookup_indexes_present(engine: Engine) -> set[str]:
    inspector = inspect(engine)
    names = {
        str(ix["name"])
        for t in ("contact_record", "contact_point")
        for ix in inspector.get_indexes(t)
    }
    return names & {str(ix.name) for ix in lookup_indexes(Kind.CONTACTS)}


def test_kill_mid_import_then_rerun_completes_without_duplicates(
    db_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "big.csv"
    _write_file(data)
    with Workspace(db_url) as fresh:
        fresh.init()
    env = {**os.environ, "ROLODEX_IMPORT__CHUNK_SIZE": str(CHUNK)}
    cmd = [sys.executable, "-m", "rolodex", "--db", db_url, "import", str(data), "--source", "s"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    watcher = make_engine(db_url)
    while _read_count(watcher) < 3 * CHUNK:
        assert proc.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL  # killed mid-way, not finished
    watcher.dispose()
    time.sleep(1)  # a writer child finishing its chunk stops before the next one

    ws = Workspace(db_url)
    with ws.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM source_record")).scalar_one()
        contacts = conn.execute(text("SELECT count(*) FROM contact")).scalar_one()
        status = conn.execute(text("SELECT status FROM import_batch")).scalar_one()
    assert 0 < stored < ROWS
    assert stored % CHUNK == 0  # whole chunks only
    assert contacts == stored  # each chunk's transaction holds its golden records
    assert status == "running"  # the killed process never closed its batch
    # The file outgrew the empty store: its lookup indexes were dropped for the load.
    assert not _lookup_indexes_present(ws.engine)

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "unchanged" in rerun.stdout
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM source_record")).scalar_one() == ROWS
        assert conn.execute(text("SELECT count(*) FROM contact")).scalar_one() == ROWS
        batches = conn.execute(
            text("SELECT status, rows_unchanged, rows_accepted FROM import_batch ORDER BY id")
        ).all()
    assert [b.status for b in batches] == ["interrupted", "completed"]
    assert _lookup_indexes_present(ws.engine) == {ix.name for ix in lookup_indexes(Kind.CONTACTS)}
    assert batches[1].rows_unchanged == stored
    assert batches[1].rows_accepted == ROWS - stored
    ws.close()


def test_a_failed_chunk_stops_the_import_and_the_chunks_queued_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer holds more than one chunk in hand: when one fails, the ones behind it are
    refused, so the store keeps the chunks before the failure only, and the error raised is
    the failure itself."""
    source = tmp_path / "people.csv"
    source.write_text(
        "Customer ID,First Name,Email\n"
        + "".join(f"K{i},First{i},p{i}@example.com\n" for i in range(10)),
        encoding="utf-8",
    )
    real = imports._write_chunk
    calls: list[int] = []

    def failing_second(*args: Any) -> Any:
        calls.append(len(calls) + 1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args)

    monkeypatch.setattr(imports, "_write_chunk", failing_second)
    settings = Settings(db="sqlite:///unused.db", import_=ImportSettings(chunk_size=2))
    ws = Workspace(f"sqlite:///{tmp_path / 'ws.db'}", settings=settings, actor="test")
    try:
        ws.init()
        with pytest.raises(RuntimeError, match="disk full"):
            ws.import_file(source, source="crm")
        with ws.engine.connect() as conn:
            keys = conn.execute(text("SELECT record_key FROM source_record")).scalars().all()
            read = conn.execute(text("SELECT rows_read FROM import_batch")).scalar_one()
    finally:
        ws.close()
    assert calls == [1, 2]  # the chunks queued behind the failure never reached the store
    assert sorted(keys) == ["K0", "K1"]
    assert read == 2
