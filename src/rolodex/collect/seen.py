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

import polars as pl

from rolodex.collect.prepare import PreparedChunk
from rolodex.collect.rows import Problem

_PARAMS = 900  # stay under SQLite's bound-parameter limit on old builds


def _digests(keys: list[str]) -> list[int]:
    """Map keys to signed 64-bit integers (SQLite's integer range), vectorized.

    Polars' hash is only stable within one process, which is all a scratch table needs.
    """
    hashed = pl.Series(keys, dtype=pl.Utf8).hash(seed=0x5EED).reinterpret(signed=True)
    out: list[int] = hashed.to_list()
    return out


_FILTER_BITS = 1 << 27  # 16 MiB: under 5% false hits at five million keys
# Keys held in memory before they go to the table together (about 20 MiB): random keys land
# all over its b-tree, and one sorted batch of many chunks rewrites each page once, not once
# per chunk.
_FLUSH_AT = 100_000


class SeenKeys:
    """A scratch SQLite table of key -> (first row, count) for one import of one file.

    A fixed-size bit filter in front of it answers "certainly not seen" for almost every
    key without a query; only the rest are looked up, first among the recent keys not yet
    written to the table.
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="rolodex-import-")
        self._db = sqlite3.connect(
            Path(self._dir.name) / "seen.db", isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-16384")
        # Keys are stored as 64-bit digests: an integer primary key is SQLite's fastest
        # b-tree, and a collision needs billions of keys in one import.
        self._db.execute("CREATE TABLE seen (h INTEGER PRIMARY KEY, row INTEGER, n INTEGER)")
        self._filter = bytearray(_FILTER_BITS // 8)
        self._pending: dict[int, tuple[int, int]] = {}

    def close(self) -> None:
        """Drop the scratch table and its directory."""
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> SeenKeys:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _lookup(self, digests: Sequence[int]) -> dict[int, tuple[int, int]]:
        found: dict[int, tuple[int, int]] = {}
        stored: list[int] = []
        for h in digests:
            entry = self._pending.get(h)
            if entry is None:
                stored.append(h)
            else:
                found[h] = entry
        for start in range(0, len(stored), _PARAMS):
            part = stored[start : start + _PARAMS]
            marks = ",".join("?" * len(part))
            for h, row, n in self._db.execute(
                f"SELECT h, row, n FROM seen WHERE h IN ({marks})", part
            ):
                found[h] = (row, n)
        return found

    def _flush(self) -> None:
        """Write the keys held in memory to the table, in key order."""
        pending = self._pending
        self._db.execute("BEGIN")
        # In key order: neighbouring inserts land on the same b-tree pages.
        self._db.executemany(
            "INSERT INTO seen (h, row, n) VALUES (?, ?, ?)"
            " ON CONFLICT (h) DO UPDATE SET n = excluded.n",
            [(h, *pending[h]) for h in sorted(pending)],
        )
        self._db.execute("COMMIT")
        pending.clear()

    def _maybe_seen(self, digests: Sequence[int]) -> list[int]:
        bits, mask = self._filter, _FILTER_BITS - 1
        return [h for h in set(digests) if bits[(h & mask) >> 3] & (1 << (h & 7))]

    def _remember(self, digests: Sequence[int]) -> None:
        bits, mask = self._filter, _FILTER_BITS - 1
        for h in digests:
            bits[(h & mask) >> 3] |= 1 << (h & 7)

    def claim(self, chunk: PreparedChunk, *, grouped: bool = False) -> list[tuple[int, Problem]]:
        """Mark the chunk's rows as seen, in order, flagging repeats; return the problems added.

        A repeated id becomes a fatal "duplicate id" problem naming the first occurrence.
        A repeated content-derived key ("h:...") or, when `grouped` (order files with line
        items, where one order number spans several rows), any repeated key gets an
        occurrence number instead and a key of the form "KEY#n".
        """
        keys = chunk.keys
        digests = _digests(keys)
        known = self._lookup(self._maybe_seen(digests))
        changed: dict[int, tuple[int, int]] = {}
        duplicate = [False] * len(keys)
        added: list[tuple[int, Problem]] = []
        for i, key in enumerate(keys):
            h = digests[i]
            entry = changed.get(h) or known.get(h)
            if entry is None:
                changed[h] = (chunk.numbers[i], 1)
                continue
            first_row, n = entry
            changed[h] = (first_row, n + 1)
            chunk.ordinals[i] = n + 1
            if not grouped and not key.startswith(("h:", "q:")):
                duplicate[i] = True
                problem = Problem(
                    f"duplicate id {key!r}: the same id is first used at {chunk.file}"
                    f" row {first_row}"
                )
                chunk.problems[i].append(problem)
                added.append((chunk.numbers[i], problem))
        self._pending.update(changed)
        if len(self._pending) >= _FLUSH_AT:
            self._flush()
        self._remember(list(changed))
        chunk.forget_status()
        for i, key in enumerate(keys):
            ordinal = chunk.ordinals[i]
            if duplicate[i]:
                keys[i] = f"q:{chunk.hashes[i].hex()}#{ordinal}"
            elif ordinal > 1 or (grouped and not key.startswith(("h:", "q:"))):
                keys[i] = f"{key}#{ordinal}"
        return added
