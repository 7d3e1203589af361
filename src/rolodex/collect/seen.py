"""Keys seen so far in one import, kept on disk so memory stays flat however big the file.

It answers two questions per row: did an earlier row of this import carry the same id (a
duplicate, quarantined with a pointer to the first), and which occurrence of an order number
is this (the n-th line item of an order, or the n-th identical row of a file without ids).
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rolodex.collect.prepare import PreparedChunk
from rolodex.collect.rows import Problem

_PARAMS = 900  # stay under SQLite's bound-parameter limit on old builds


def _digest(key: str) -> int:
    """Map a key to a signed 64-bit integer (SQLite's integer range)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class SeenKeys:
    """A scratch SQLite table of key -> (file, first row, count) for one import run."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="rolodex-import-")
        self._db = sqlite3.connect(Path(self._dir.name) / "seen.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-16384")
        # Keys are stored as 64-bit digests: an integer primary key is SQLite's fastest
        # b-tree, and a collision needs billions of keys in one import.
        self._db.execute(
            "CREATE TABLE seen (h INTEGER PRIMARY KEY, file TEXT, row INTEGER, n INTEGER)"
        )

    def close(self) -> None:
        """Drop the scratch table and its directory."""
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> SeenKeys:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _lookup(self, digests: Sequence[int]) -> dict[int, tuple[str, int, int]]:
        found: dict[int, tuple[str, int, int]] = {}
        for start in range(0, len(digests), _PARAMS):
            part = digests[start : start + _PARAMS]
            marks = ",".join("?" * len(part))
            for h, file, row, n in self._db.execute(
                f"SELECT h, file, row, n FROM seen WHERE h IN ({marks})", part
            ):
                found[h] = (file, row, n)
        return found

    def claim(self, chunk: PreparedChunk, *, grouped: bool = False) -> None:
        """Mark the chunk's rows as seen, in order, flagging repeats.

        A repeated id becomes a fatal "duplicate id" problem naming the first occurrence.
        A repeated content-derived key ("h:...") or, when `grouped` (order files with line
        items, where one order number spans several rows), any repeated key gets an
        occurrence number instead and a key of the form "KEY#n".
        """
        keys = chunk.keys
        digests = [_digest(k) for k in keys]
        known = self._lookup(list(set(digests)))
        changed: dict[int, tuple[str, int, int]] = {}
        duplicate = [False] * len(keys)
        for i, key in enumerate(keys):
            h = digests[i]
            entry = changed.get(h) or known.get(h)
            if entry is None:
                changed[h] = (chunk.file, chunk.numbers[i], 1)
                continue
            file, first_row, n = entry
            changed[h] = (file, first_row, n + 1)
            chunk.ordinals[i] = n + 1
            if not grouped and not key.startswith(("h:", "q:")):
                duplicate[i] = True
                chunk.problems[i].append(
                    Problem(
                        f"duplicate id {key!r}: the same id is first used at {file} row {first_row}"
                    )
                )
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO seen (h, file, row, n) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (h) DO UPDATE SET n = excluded.n",
            [(h, *value) for h, value in changed.items()],
        )
        self._db.execute("COMMIT")
        chunk.forget_status()
        for i, key in enumerate(keys):
            ordinal = chunk.ordinals[i]
            if duplicate[i]:
                keys[i] = f"q:{chunk.hashes[i].hex()}#{ordinal}"
            elif ordinal > 1 or (grouped and not key.startswith(("h:", "q:"))):
                keys[i] = f"{key}#{ordinal}"
