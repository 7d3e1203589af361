"""Append entries to the hash-chained audit log.

Each entry's hash covers its own content and the previous entry's hash, so editing or
deleting any entry breaks the chain from that point on.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Connection, text

from rolodex.model import AuditLog
from rolodex.model.base import table, utcnow


def entry_hash(prev_hash: str | None, fields: dict[str, Any]) -> str:
    """Hash an entry's fields together with the hash of the entry before it."""
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash or ''}\n{body}".encode()).hexdigest()


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
    prev = conn.execute(text("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")).scalar()
    now = utcnow()
    fields: dict[str, Any] = {
        # Naive UTC text: what both databases give back, so a verifier can recompute it.
        "occurred_at": now.replace(tzinfo=None).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "details": None if details is None else json.dumps(details, sort_keys=True, default=str),
        "origin": origin,
    }
    conn.execute(
        table(AuditLog).insert(),
        {**fields, "occurred_at": now, "prev_hash": prev, "hash": entry_hash(prev, fields)},
    )
