"""Keys seen so far in one import, kept on disk so memory stays flat however big the file.

It answers two questions per row: did an earlier row of this import carry the same id (a
duplicate, quarantined with a pointer to the first), and which occurrence of an order number
is this (the n-th line item of an order, or the n-th identical row of a file without ids).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rolodex.collect.prepare import Prepared
from rolodex.collect.rows import Problem

_PARAMS = 900  # stay under SQLite's bound-parameter limit on old builds


class SeenKeys:
    """A scratch SQLite table of key -> (file, first row, count) for one import run."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="rolodex-import-")
        self._db = sqlite3.connect(Path(self._dir.name) / "seen.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE seen (key TEXT PRIMARY KEY, file TEXT, row INTEGER, n INTEGER)"
            " WITHOUT ROWID"
        )

    def close(self) -> None:
        """Drop the scratch table and its directory."""
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> SeenKeys:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _lookup(self, keys: Sequence[str]) -> dict[str, tuple[str, int, int]]:
        found: dict[str, tuple[str, int, int]] = {}
        for start in range(0, len(keys), _PARAMS):
            part = keys[start : start + _PARAMS]
            marks = ",".join("?" * len(part))
            for key, file, row, n in self._db.execute(
                f"SELECT key, file, row, n FROM seen WHERE key IN ({marks})", part
            ):
                found[key] = (file, row, n)
        return found

    def claim(self, rows: Sequence[Prepared], *, grouped: bool = False) -> None:
        """Mark the rows as seen, in order, flagging repeats.

        A repeated id becomes a fatal "duplicate id" problem naming the first occurrence.
        A repeated content-derived key ("h:...") or, when `grouped` (order files with line
        items, where one order number spans several rows), any repeated key gets an
        occurrence number instead and a key of the form "KEY#n".
        """
        known = self._lookup(list({r.key for r in rows}))
        changed: dict[str, tuple[str, int, int]] = {}
        for row in rows:
            entry = changed.get(row.key) or known.get(row.key)
            if entry is None:
                changed[row.key] = (row.file, row.number, 1)
                continue
            file, first_row, n = entry
            changed[row.key] = (file, first_row, n + 1)
            row.ordinal = n + 1
            if not grouped and not row.key.startswith(("h:", "q:")):
                row.duplicate_of = f"{file} row {first_row}"
                row.problems.append(
                    Problem(
                        f"duplicate id {row.key!r}: the same id is first used at "
                        f"{file} row {first_row}",
                        column=None,
                    )
                )
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO seen (key, file, row, n) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET n = excluded.n",
            [(key, *value) for key, value in changed.items()],
        )
        self._db.execute("COMMIT")
        for row in rows:
            if row.duplicate_of is not None:
                row.key = f"q:{row.content_hash.hex()}#{row.ordinal}"
            elif row.ordinal > 1 or (grouped and not row.key.startswith(("h:", "q:"))):
                row.key = f"{row.key}#{row.ordinal}"
