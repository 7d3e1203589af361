"""Small repositories over Core connections: sources, import batches, custom field definitions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from rolodex.exceptions import NotFoundError
from rolodex.model import CustomFieldDefinition, ImportBatch, Source, SourceRecord
from rolodex.model.base import table, utcnow

_SOURCE = table(Source)
_BATCH = table(ImportBatch)
_CUSTOM = table(CustomFieldDefinition)
_RECORD = table(SourceRecord)


def get_or_create_source(conn: Connection, name: str) -> int:
    """Return the id of the source called `name`, creating it on first use."""
    found = conn.execute(select(_SOURCE.c.id).where(_SOURCE.c.name == name)).scalar()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            _SOURCE.insert().values(name=name, trust_rank=100, created_at=utcnow())
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def has_records(conn: Connection, source_id: int, kind: str) -> bool:
    """Tell whether the source holds any record of `kind` (stubs included)."""
    found = conn.execute(
        select(_RECORD.c.id)
        .where(_RECORD.c.source_id == source_id, _RECORD.c.kind == kind)
        .limit(1)
    ).first()
    return found is not None


def mark_interrupted(conn: Connection, source_id: int) -> int:
    """Mark batches a killed process left running as interrupted; return how many."""
    result = conn.execute(
        update(_BATCH)
        .where(_BATCH.c.source_id == source_id, _BATCH.c.status == "running")
        .values(status="interrupted", finished_at=utcnow(), error="the import process stopped")
    )
    return result.rowcount


def create_batch(
    conn: Connection,
    *,
    source_id: int,
    kind: str,
    files: list[str],
    mapping: dict[str, Any],
    actor: str,
) -> int:
    """Open a new import batch in state running."""
    return int(
        conn.execute(
            _BATCH.insert().values(
                source_id=source_id,
                kind=kind,
                files=files,
                status="running",
                started_at=utcnow(),
                mapping=mapping,
                actor=actor,
                rows_read=0,
                rows_accepted=0,
                rows_quarantined=0,
                rows_unchanged=0,
                rows_updated=0,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def finish_batch(conn: Connection, batch_id: int, *, status: str, error: str | None = None) -> None:
    """Close a batch as completed, failed or undone."""
    conn.execute(
        update(_BATCH)
        .where(_BATCH.c.id == batch_id)
        .values(status=status, finished_at=utcnow(), error=error)
    )


def get_batch(conn: Connection, batch_id: int) -> dict[str, Any]:
    """Return one batch as a dict.

    Raises:
        NotFoundError: there is no batch with that id.
    """
    row = conn.execute(select(_BATCH).where(_BATCH.c.id == batch_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"there is no import batch {batch_id}")
    return dict(row)


def list_batches(conn: Connection) -> list[dict[str, Any]]:
    """Return every batch, newest first, with its source name."""
    rows = conn.execute(
        select(_BATCH, _SOURCE.c.name.label("source"))
        .join(_SOURCE, _SOURCE.c.id == _BATCH.c.source_id)
        .order_by(_BATCH.c.id.desc())
    ).mappings()
    return [dict(r) for r in rows]


def ensure_custom_fields(
    conn: Connection, *, entity: str, fields: Mapping[str, tuple[str, str]], now: datetime
) -> dict[str, str]:
    """Declare custom fields not declared yet; return name -> type as declared.

    Args:
        entity: contact, company, order, ...
        fields: name -> (label, inferred type); a field declared earlier keeps its type, and
            values are validated against that.
    """
    declared: dict[str, str] = dict(
        conn.execute(select(_CUSTOM.c.name, _CUSTOM.c.type).where(_CUSTOM.c.entity == entity)).all()
    )
    missing = {n: (lbl, t) for n, (lbl, t) in fields.items() if n not in declared}
    if missing:
        conn.execute(
            _CUSTOM.insert(),
            [
                {"entity": entity, "name": n, "label": lbl, "type": t, "created_at": now}
                for n, (lbl, t) in missing.items()
            ],
        )
    declared.update({n: t for n, (_, t) in missing.items()})
    return {name: declared[name] for name in fields}
