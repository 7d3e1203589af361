"""Re-run the clean stage over what is stored, after the rules changed (`rolodex clean`).

Cleaning always starts again from the raw payload, never from the standardized values (a
corrected value has lost what was wrong with it): each record's payload is prepared again
with the mapping its import batch recorded, cleaned with the rules in force, and its
standardized view and golden record are rewritten. Raw payloads are not touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from sqlalchemy import Engine, text

from rolodex.collect.fields import Kind
from rolodex.collect.prepare import ChunkPreparer
from rolodex.collect.rows import RawRow
from rolodex.collect.writer import WriteContext, write_views
from rolodex.config import CleanSettings
from rolodex.model.base import utcnow
from rolodex.pipeline.replay import batch_preparer, make_cleaner
from rolodex.resolve import singletons
from rolodex.store import repo
from rolodex.store.audit import append_audit
from rolodex.store.bulk import BulkSession


@dataclass
class RecleanSummary:
    """What a re-clean did."""

    records: int = 0
    seconds: float = 0.0
    flags: dict[str, dict[str, int]] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)


def reclean(
    engine: Engine,
    *,
    clean: CleanSettings,
    source: str | None = None,
    page: int = 10_000,
    actor: str = "cli",
) -> RecleanSummary:
    """Clean the accepted contact records again (of one source, or all); see the module."""
    started = perf_counter()
    summary = RecleanSummary()
    with engine.connect() as conn:
        batches = conn.execute(
            text(
                "SELECT DISTINCT r.batch_id, r.source_id, s.name FROM source_record r"
                " JOIN source s ON s.id = r.source_id WHERE r.kind = 'contacts'"
                " AND r.status = 'accepted' AND r.is_stub = :no"
                + (" AND s.name = :source" if source else "")
                + " ORDER BY r.batch_id"
            ),
            {"no": False, "source": source},
        ).all()
    session = BulkSession(engine)
    try:
        for batch_id, source_id, name in batches:
            with engine.connect() as conn:
                mapping = repo.get_batch(conn, int(batch_id))["mapping"] or {}
            cleaner = make_cleaner(
                Kind.CONTACTS, clean, source=str(name), steps=summary.steps, flags=summary.flags
            )
            ctx = WriteContext(source_id=int(source_id), kind=Kind.CONTACTS, batch_id=batch_id)
            preparers: dict[tuple[str, ...], ChunkPreparer] = {}
            after = 0
            while True:
                with session.transaction() as db:
                    rows = db.query(
                        "SELECT id, payload, file, row_number FROM source_record"
                        " WHERE batch_id = ? AND kind = 'contacts' AND status = 'accepted'"
                        " AND is_stub = ? AND id > ? ORDER BY id LIMIT ?",
                        [batch_id, False, after, page],
                    )
                    if not rows:
                        break
                    after = int(rows[-1][0])
                    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any], Any]]] = {}
                    # Payloads are sealed: opened a page at a time, never written back.
                    payloads = db.sealer.open("payload", [r[1] for r in rows])
                    for (rid, _, file, number), payload in zip(rows, payloads, strict=True):
                        values = json.loads(payload)
                        groups.setdefault(tuple(values), []).append((int(rid), values, number))
                        preparers.setdefault(
                            tuple(values),
                            batch_preparer(Kind.CONTACTS, str(file or ""), list(values), mapping),
                        )
                    for header, group in groups.items():
                        chunk = preparers[header].prepare(
                            [RawRow(int(n or 0), list(v.values())) for _, v, n in group]
                        )
                        cleaner(chunk)
                        ids = [rid for rid, _, _ in group]
                        # Quarantine rules judge rows as they come in; stored records keep
                        # their status and get the new flags.
                        write_views(db, chunk, list(enumerate(ids)), ctx=ctx, replace=ids)
                    singletons.refresh_contacts(db, [int(r[0]) for r in rows], now=utcnow())
                    summary.records += len(rows)
    finally:
        session.close()
    summary.seconds = perf_counter() - started
    with engine.begin() as conn:
        append_audit(
            conn,
            actor=actor,
            action="clean",
            entity="contact_record",
            details={"source": source, "records": summary.records},
        )
    return summary
