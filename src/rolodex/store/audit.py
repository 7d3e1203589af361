"""Append entries to the hash-chained audit log.

Each entry's hash covers its own content and the previous entry's hash, so editing or
deleting any entry breaks the chain from that point on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from rolodex.model import AuditLog
from rolodex.model.base import table, utcnow

# Advisory lock id serialising audit appends on PostgreSQL (any constant shared by writers).
_CHAIN_LOCK = 0x524F4C4F


def entry_hash(prev_hash: str | None, fields: dict[str, Any]) -> str:
    """Hash an entry's fields together with the hash of the entry before it."""
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash or ''}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """One thing that happened, before it is chained into the log."""

    actor: str
    action: str
    entity: str | None = None
    entity_id: str | int | None = None
    details: dict[str, Any] | None = None
    origin: str | None = None
    occurred_at: datetime | None = None


def append_audit(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str | None = None,
    entity_id: str | int | None = None,
    details: dict[str, Any] | None = None,
    origin: str | None = None,
) -> None:
    """Write one audit entry in the caller's transaction (never personal data in `details`)."""
    append_audit_many(
        conn,
        [AuditEntry(actor, action, entity, entity_id, details, origin)],
    )


def append_audit_many(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    """Chain several entries in one go (the API's read log flushes them in batches)."""
    if not entries:
        return
    if conn.dialect.name == "postgresql":
        # Two writers reading the same newest hash would fork the chain: one at a time.
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    prev = conn.execute(text("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")).scalar()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        now = entry.occurred_at or utcnow()
        details = entry.details
        fields: dict[str, Any] = {
            # Naive UTC text: what both databases give back, so a verifier can recompute it.
            "occurred_at": now.astimezone(UTC)
            .replace(tzinfo=None)
            .isoformat(timespec="microseconds"),
            "actor": entry.actor,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": None if entry.entity_id is None else str(entry.entity_id),
            "details": None
            if details is None
            else json.dumps(details, sort_keys=True, default=str),
            "origin": entry.origin,
        }
        digest = entry_hash(prev, fields)
        rows.append({**fields, "occurred_at": now, "prev_hash": prev, "hash": digest})
        prev = digest
    conn.execute(table(AuditLog).insert(), rows)


@dataclass(frozen=True)
class AuditBreak:
    """One entry whose stored hash or link does not match what its content says."""

    entry_id: int
    problem: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {"entry_id": self.entry_id, "problem": self.problem}


@dataclass(frozen=True)
class AuditVerification:
    """What `rolodex audit verify` found: entries checked, the head hash and every break."""

    entries: int
    head: str | None
    breaks: tuple[AuditBreak, ...]

    @property
    def ok(self) -> bool:
        """True when every entry hashes to what is stored and links to the one before."""
        return not self.breaks

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "breaks": [b.to_dict() for b in self.breaks],
        }


def _naive_utc(value: object) -> str:
    """The entry time as `append_audit` hashed it: naive UTC, microseconds."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(when, datetime):
        raise TypeError(f"audit entry time {value!r} is not a timestamp")
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="microseconds")


def verify_audit(conn: Connection, *, expect_head: str | None = None) -> AuditVerification:
    """Recompute the chain in id order and report every entry that does not fit.

    An edited entry no longer hashes to its stored hash; a deleted one leaves the next entry
    pointing at a hash that is not its predecessor's. Deleting the newest entries leaves a
    valid shorter chain, so `expect_head` (a head hash kept elsewhere, e.g. printed by an
    earlier verify) catches that too. Streams the log: memory stays flat however long it is.
    """
    breaks: list[AuditBreak] = []
    prev: str | None = None
    entries = 0
    rows = conn.execution_options(yield_per=10_000).execute(
        text(
            "SELECT id, occurred_at, actor, action, entity, entity_id, details, origin,"
            " prev_hash, hash FROM audit_log ORDER BY id"
        )
    )
    for row in rows:
        entries += 1
        fields = {
            "occurred_at": _naive_utc(row.occurred_at),
            "actor": row.actor,
            "action": row.action,
            "entity": row.entity,
            "entity_id": row.entity_id,
            "details": row.details,
            "origin": row.origin,
        }
        if row.prev_hash != prev:
            breaks.append(
                AuditBreak(row.id, "does not follow the entry before it (one was removed?)")
            )
        if entry_hash(row.prev_hash, fields) != row.hash:
            breaks.append(AuditBreak(row.id, "content does not match its hash (edited?)"))
        prev = row.hash
    if expect_head is not None and prev != expect_head:
        seen = conn.execute(
            text("SELECT id FROM audit_log WHERE hash = :h"), {"h": expect_head}
        ).scalar()
        problem = (
            "the expected head is not in the log (entries removed from the end?)"
            if seen is None
            else f"the expected head is entry {seen}, not the newest"
        )
        breaks.append(AuditBreak(int(seen or 0), problem))
    return AuditVerification(entries=entries, head=prev, breaks=tuple(breaks))
