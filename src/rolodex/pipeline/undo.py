"""`rolodex import undo BATCH`: remove exactly what one import added, restore what it changed.

Records the batch created are deleted with everything derived from them (standardized views,
golden records left without a source, contact points, orders, tickets, subscriptions, deals,
campaign members and the campaigns only they named, ...). Records the batch changed get their
previous raw version back, and their derived rows are rebuilt from it. A batch whose records
a later batch changed or relies on cannot be undone before that later batch: the message
names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from rolodex.collect.fields import Kind
from rolodex.collect.rows import RawRow
from rolodex.collect.writer import WriteContext, rewrite_derived
from rolodex.config import CleanSettings
from rolodex.exceptions import TerminalError
from rolodex.model.base import utcnow
from rolodex.pipeline.replay import batch_preparer, make_cleaner
from rolodex.resolve import singletons
from rolodex.store import repo
from rolodex.store.audit import append_audit
from rolodex.store.bulk import ConnectionBulk

_ACTIVITY = (
    "ticket",
    "interaction",
    "event",
    "consent",
    "subscription",
    "deal",
    "campaign_member",
)


@dataclass
class UndoSummary:
    """What an undo removed and restored."""

    batch_id: int
    removed_records: int
    restored_records: int
    removed_contacts: int


def _ids(conn: Connection, sql: str, **params: Any) -> list[int]:
    return [int(r[0]) for r in conn.execute(text(sql), params)]


def _in(ids: list[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


def undo_batch(
    engine: Engine, batch_id: int, *, actor: str = "cli", clean: CleanSettings | None = None
) -> UndoSummary:
    """Undo one import batch in a single transaction.

    Raises:
        NotFoundError: no such batch.
        TerminalError: the batch was undone already, or a later batch depends on it.
    """
    with engine.begin() as conn:
        batch = repo.get_batch(conn, batch_id)
        if batch["status"] == "undone":
            raise TerminalError(f"import batch {batch_id} was undone already")
        _refuse_if_depended_on(conn, batch_id)
        created = _ids(conn, "SELECT id FROM source_record WHERE created_batch_id = :b", b=batch_id)
        updated = _ids(
            conn,
            "SELECT id FROM source_record WHERE batch_id = :b AND created_batch_id <> :b",
            b=batch_id,
        )
        removed_contacts = _remove_records(conn, created)
        _restore_versions(conn, batch_id, updated, clean)
        repo.finish_batch(conn, batch_id, status="undone")
        append_audit(
            conn,
            actor=actor,
            action="import.undo",
            entity="import_batch",
            entity_id=batch_id,
            details={"removed": len(created), "restored": len(updated)},
        )
    return UndoSummary(batch_id, len(created), len(updated), removed_contacts)


def _refuse_if_depended_on(conn: Connection, batch_id: int) -> None:
    later = _ids(
        conn,
        "SELECT DISTINCT superseded_by_batch_id FROM source_record_history"
        " WHERE batch_id = :b AND superseded_by_batch_id <> :b",
        b=batch_id,
    )
    for table in ("order", *_ACTIVITY):
        later += _ids(
            conn,
            f'SELECT DISTINCT s.batch_id FROM "{table}" t JOIN source_record s'
            " ON s.id = t.source_record_id JOIN source_record c ON c.id = t.customer_record_id"
            " WHERE c.created_batch_id = :b AND s.batch_id <> :b",
            b=batch_id,
        )
    if later:
        names = ", ".join(str(b) for b in sorted(set(later)))
        raise TerminalError(
            f"import batch {batch_id} cannot be undone yet: later batch(es) {names} changed or"
            " use records it added; undo those first"
        )


def _remove_records(conn: Connection, created: list[int]) -> int:
    """Delete source records and everything derived from them; return golden contacts removed."""
    removed = 0
    for start in range(0, len(created), 1000):
        ids = _in(created[start : start + 1000])
        contacts = _in(
            _ids(conn, f"SELECT contact_id FROM contact_link WHERE source_record_id IN ({ids})")
        )
        companies = _in(
            _ids(conn, f"SELECT company_id FROM company_link WHERE source_record_id IN ({ids})")
        )
        naming = ("campaign_member", "interaction", "event")
        campaigns = _in(
            _ids(
                conn,
                " UNION ".join(
                    f"SELECT campaign_id FROM {t} WHERE source_record_id IN ({ids})" for t in naming
                ),
            )
        )
        for table in _ACTIVITY:
            conn.execute(text(f"DELETE FROM {table} WHERE source_record_id IN ({ids})"))
        # Campaigns the import created on first sight (nothing but a name) and that nothing
        # names any more go with the rows that named them.
        unnamed = "".join(
            f" AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.campaign_id = campaign.id)"
            for t in naming
        )
        conn.execute(
            text(
                f"DELETE FROM campaign WHERE id IN ({campaigns}) AND channel IS NULL"
                f" AND started_at IS NULL AND ended_at IS NULL{unnamed}"
            )
        )
        conn.execute(text(f"DELETE FROM order_line WHERE source_record_id IN ({ids})"))
        conn.execute(
            text(
                "DELETE FROM order_line WHERE order_id IN"
                f' (SELECT id FROM "order" WHERE source_record_id IN ({ids}))'
            )
        )
        conn.execute(text(f'DELETE FROM "order" WHERE source_record_id IN ({ids})'))
        conn.execute(text(f"DELETE FROM contact_link WHERE source_record_id IN ({ids})"))
        conn.execute(text(f"DELETE FROM company_link WHERE source_record_id IN ({ids})"))
        orphan = "NOT EXISTS (SELECT 1 FROM contact_link l WHERE l.contact_id = contact.id)"
        # Points the removed records gave, found through their contacts (indexed).
        conn.execute(
            text(
                f"DELETE FROM contact_point WHERE contact_id IN ({contacts}) AND"
                f" (source_record_id IN ({ids}) OR NOT EXISTS (SELECT 1 FROM contact_link l"
                " WHERE l.contact_id = contact_point.contact_id))"
            )
        )
        removed += conn.execute(
            text(f"DELETE FROM contact WHERE id IN ({contacts}) AND {orphan}")
        ).rowcount
        conn.execute(
            text(
                f"DELETE FROM company WHERE id IN ({companies}) AND NOT EXISTS"
                " (SELECT 1 FROM company_link l WHERE l.company_id = company.id)"
            )
        )
        conn.execute(text(f"DELETE FROM contact_record WHERE source_record_id IN ({ids})"))
        conn.execute(text(f"DELETE FROM company_record WHERE source_record_id IN ({ids})"))
        conn.execute(text(f"DELETE FROM source_record WHERE id IN ({ids})"))
    return removed


def _restore_versions(
    conn: Connection, batch_id: int, updated: list[int], clean: CleanSettings | None
) -> None:
    """Put back the versions the batch replaced and rebuild what derives from them."""
    if not updated:
        return
    ids = _in(updated)
    conn.execute(
        text(
            "UPDATE source_record SET (version, content_hash, payload, batch_id, file, row_number,"
            " status, issues, is_stub) = (SELECT h.version, h.content_hash, h.payload, h.batch_id,"
            " h.file, h.row_number, h.status, h.issues, h.is_stub FROM source_record_history h"
            " WHERE h.source_record_id = source_record.id AND h.superseded_by_batch_id = :b)"
            f" WHERE id IN ({ids})"
        ),
        {"b": batch_id},
    )
    conn.execute(
        text(
            "DELETE FROM source_record_history WHERE superseded_by_batch_id = :b"
            f" AND source_record_id IN ({ids})"
        ),
        {"b": batch_id},
    )
    rows = conn.execute(
        text(
            "SELECT s.id, s.source_id, s.kind, s.batch_id, s.payload, s.file, s.row_number,"
            f" s.is_stub FROM source_record s WHERE s.id IN ({ids})"
        )
    ).all()
    by_batch: dict[int, list[Any]] = {}
    for row in rows:
        by_batch.setdefault(int(row.batch_id), []).append(row)
    now = utcnow()
    db = ConnectionBulk(conn)
    # The restored payloads are tokens (copied back from history as they were): prepared
    # again from their plaintext.
    payloads = dict(
        zip(
            (int(row.id) for row in rows),
            db.sealer.open("payload", [row.payload for row in rows]),
            strict=True,
        )
    )
    for earlier, group in by_batch.items():
        mapping = repo.get_batch(conn, earlier)["mapping"] or {}
        kind = Kind(group[0].kind)
        source = conn.execute(
            text("SELECT name FROM source WHERE id = :id"), {"id": group[0].source_id}
        ).scalar_one()
        cleaner = make_cleaner(kind, clean, source=str(source))
        for row in group:
            payload = json.loads(payloads[int(row.id)])
            preparer = batch_preparer(kind, row.file or "", list(payload), mapping)
            chunk = preparer.prepare(
                [RawRow(number=int(row.row_number or 0), values=list(payload.values()))]
            )
            cleaner(chunk)
            ctx = WriteContext(
                source_id=int(row.source_id),
                kind=kind,
                batch_id=earlier,
                has_lines=preparer.has_lines,
            )
            stubs = rewrite_derived(db, chunk, [(0, int(row.id))], ctx=ctx)
            singletons.link_new_contacts(db, stubs, now=now)
        restored = [int(row.id) for row in group]
        if kind is Kind.COMPANIES:
            singletons.refresh_companies(db, restored, now=now)
        elif kind is Kind.CONTACTS:
            singletons.refresh_contacts(db, restored, now=now)
        else:
            singletons.attach_batch_activity(db, earlier)
