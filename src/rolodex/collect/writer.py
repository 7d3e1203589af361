"""Write one prepared chunk into the store, inside the caller's transaction.

A row whose key is new becomes a source record; a row whose key exists with the same content
hash is unchanged and writes nothing; a row whose content changed becomes the next version of
its record (the old version moves to history). Accepted rows also get their standardized view
(contacts, companies) or their activity row (orders, tickets, ...). A customer that an order
or ticket names before its source has sent it becomes a minimal "stub" contact record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from rolodex.collect.convert import ParseError, parse_boolean
from rolodex.collect.fields import CUSTOMER_KINDS, Kind
from rolodex.collect.prepare import ACCEPTED, QUARANTINED, PreparedChunk
from rolodex.collect.rows import Problem
from rolodex.model import (
    Campaign,
    CompanyRecord,
    Consent,
    ContactRecord,
    Event,
    Interaction,
    Order,
    OrderLine,
    SourceRecord,
    SourceRecordHistory,
    Ticket,
)
from rolodex.model.base import table, utcnow
from rolodex.store.bulk import Bulk

# Canonical field -> standardized-view column, where the names differ.
_RENAMES = {
    "created_date": "source_created_at",
    "updated_date": "source_updated_at",
    "company_id": "company_ref",
}
_CONTACT_VIEW = frozenset(c.name for c in table(ContactRecord).columns)
_COMPANY_VIEW = frozenset(c.name for c in table(CompanyRecord).columns)

# Activity kinds: target table and canonical field -> column.
_ACTIVITY: dict[Kind, tuple[type[Any], dict[str, str]]] = {
    Kind.TICKETS: (
        Ticket,
        {
            "record_id": "external_id",
            "subject": "subject",
            "status": "status",
            "priority": "priority",
            "channel": "channel",
            "created_date": "opened_at",
            "solved_date": "solved_at",
            "satisfaction": "satisfaction",
        },
    ),
    Kind.INTERACTIONS: (
        Interaction,
        {
            "interaction_type": "interaction_type",
            "channel": "channel",
            "direction": "direction",
            "occurred_at": "occurred_at",
            "subject": "subject",
            "outcome": "outcome",
        },
    ),
    Kind.EVENTS: (
        Event,
        {"event_type": "event_type", "occurred_at": "occurred_at", "url": "url"},
    ),
    Kind.CONSENTS: (
        Consent,
        {
            "purpose": "purpose",
            "lawful_basis": "lawful_basis",
            "occurred_at": "occurred_at",
            "proof": "proof",
        },
    ),
}
_SALES = frozenset({"call", "meeting", "demo", "proposal", "quote", "task", "note", "sales email"})
_MARKETING = frozenset(
    {"open", "click", "visit", "response", "sent", "bounce", "unsubscribe", "form", "webinar"}
)
_SUPPORT = frozenset({"chat", "ticket", "support", "support call", "support email"})


@dataclass
class WriteContext:
    """What every chunk of one import shares."""

    source_id: int
    kind: Kind
    batch_id: int
    has_lines: bool = False
    # The source held no record of this kind when the import began: every key is new
    # (the import itself never repeats one), so the lookup of existing keys is skipped.
    first_load: bool = False
    # The file outgrows the stored records: the lookup indexes its rows and their golden
    # records fill are dropped for the load and built once at its end.
    defer_indexes: bool = False


@dataclass
class ChunkResult:
    """What one chunk did: counts that always add up, and the ids the next stage needs."""

    read: int = 0
    accepted: int = 0  # new records accepted
    updated: int = 0  # existing records given a new version
    unchanged: int = 0
    quarantined: int = 0
    stubs: int = 0
    new_records: list[int] = field(default_factory=list)  # contact/company records to link
    changed_records: list[int] = field(default_factory=list)  # contact/company records updated
    activity_records: list[int] = field(default_factory=list)  # rows whose contact to attach
    linked: int = 0  # golden records the caller created for `new_records`
    link_seconds: float = 0.0  # of `seconds`, creating those golden records
    problems: list[tuple[int, Problem]] = field(default_factory=list)  # (row, problem) added
    seconds: float = 0.0  # time the writer spent on the chunk


def write_chunk(db: Bulk, chunk: PreparedChunk, *, ctx: WriteContext) -> ChunkResult:
    """Store one prepared chunk; see the module docstring for what happens to each row."""
    result = ChunkResult(read=len(chunk))
    existing = {} if ctx.first_load else _existing(db, ctx, chunk.keys)
    new: list[int] = []
    changed: list[tuple[int, int]] = []  # (row index, source record id)
    for i, key in enumerate(chunk.keys):
        found = existing.get(key)
        if found is None:
            new.append(i)
        elif found[1] == chunk.hashes[i]:
            result.unchanged += 1
        else:
            changed.append((i, found[0]))
    ids = db.reserve_ids(table(SourceRecord), len(new))
    _insert_source_records(db, chunk, new, ids, ctx)
    if changed:
        _new_versions(db, chunk, changed, ctx)
    fresh = [(i, rid) for i, rid in zip(new, ids, strict=True) if not chunk.is_fatal(i)]
    result.accepted = len(fresh)
    result.updated = len(changed)
    result.quarantined = len(new) - len(fresh)
    rows = [*fresh, *changed]
    if ctx.kind in (Kind.CONTACTS, Kind.COMPANIES):
        write_views(db, chunk, rows, ctx=ctx, replace=[rid for _, rid in changed])
        result.new_records = [rid for _, rid in fresh]
        result.changed_records = [rid for _, rid in changed]
    else:
        stubs = _write_activity(db, chunk, rows, ctx, replace=[rid for _, rid in changed])
        result.stubs = len(stubs)
        result.new_records = stubs
        result.activity_records = [rid for _, rid in rows]
    return result


def _existing(db: Bulk, ctx: WriteContext, keys: list[str]) -> dict[str, tuple[int, bytes]]:
    rows = db.query_in(
        "SELECT record_key, id, content_hash FROM source_record"
        " WHERE source_id = ? AND kind = ? AND record_key IN (?*)",
        sorted(set(keys)),
        [ctx.source_id, ctx.kind.value],
    )
    return {key: (int(rid), bytes(digest)) for key, rid, digest in rows}


def _insert_source_records(
    db: Bulk, chunk: PreparedChunk, rows: list[int], ids: list[int], ctx: WriteContext
) -> None:
    if not rows:
        return
    n = len(rows)
    picked = chunk.record_columns().take(pa.array(rows, pa.int64()))
    data = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "source_id": pa.repeat(pa.scalar(ctx.source_id, pa.int64()), n),
            "kind": pa.repeat(pa.scalar(ctx.kind.value), n),
            "record_key": picked["key"],
            "external_id": picked["external_id"],
            "version": pa.repeat(pa.scalar(1, pa.int64()), n),
            "content_hash": picked["hash"],
            "payload": picked["payload"],
            "batch_id": pa.repeat(pa.scalar(ctx.batch_id, pa.int64()), n),
            "created_batch_id": pa.repeat(pa.scalar(ctx.batch_id, pa.int64()), n),
            "file": pa.repeat(pa.scalar(chunk.file), n),
            "row_number": picked["number"],
            "status": pc.if_else(picked["fatal"], QUARANTINED, ACCEPTED),
            "issues": picked["issues"],
            "is_stub": pa.repeat(pa.scalar(False), n),
        }
    )
    db.ingest(table(SourceRecord), data)


def _new_versions(
    db: Bulk, chunk: PreparedChunk, changed: list[tuple[int, int]], ctx: WriteContext
) -> None:
    """Move the current versions to history and store the new ones in their place."""
    now = utcnow()
    ids = [rid for _, rid in changed]
    pairs = db.stage_pairs([(rid, ctx.batch_id) for rid in ids])
    history = table(SourceRecordHistory).name
    db.execute(
        f"INSERT INTO {history} (source_record_id, version, content_hash, payload, batch_id,"
        " file, row_number, status, issues, is_stub, superseded_by_batch_id, superseded_at)"
        " SELECT s.id, s.version, s.content_hash, s.payload, s.batch_id, s.file, s.row_number,"
        f" s.status, s.issues, s.is_stub, p.golden_id, ? FROM {pairs} p"
        " JOIN source_record s ON s.id = p.record_id",
        [db.stamp(now)],
    )
    db.executemany(
        "UPDATE source_record SET version = version + 1, content_hash = ?, payload = ?,"
        " batch_id = ?, file = ?, row_number = ?, status = ?, issues = ?, is_stub = ?,"
        " updated_at = ? WHERE id = ?",
        [
            (
                chunk.hashes[i],
                chunk.payloads[i],
                ctx.batch_id,
                chunk.file,
                chunk.numbers[i],
                chunk.status(i),
                chunk.issues_json(i),
                False,
                db.stamp(now),
                rid,
            )
            for i, rid in changed
        ],
    )


def write_views(
    db: Bulk,
    chunk: PreparedChunk,
    rows: Sequence[tuple[int, int]],
    *,
    ctx: WriteContext,
    replace: Sequence[int] = (),
) -> None:
    """Write the standardized view of accepted records (row index, record id).

    Records in `replace` lose their previous view first (a new version, or an undo).
    """
    model = ContactRecord if ctx.kind is Kind.CONTACTS else CompanyRecord
    view = _CONTACT_VIEW if ctx.kind is Kind.CONTACTS else _COMPANY_VIEW
    _delete_where_in(db, table(model).name, "source_record_id", replace)
    if not rows:
        return
    picked = chunk.values[[i for i, _ in rows]]
    keep = {c: _RENAMES.get(c, c) for c in picked.columns if _RENAMES.get(c, c) in view}
    frame = picked.select([pl.col(c).alias(name) for c, name in keep.items()]).with_columns(
        pl.Series("source_record_id", [rid for _, rid in rows], dtype=pl.Int64),
        pl.lit(ctx.source_id, dtype=pl.Int64).alias("source_id"),
        pl.Series(
            "custom", chunk.fixed_columns()["custom"].take([i for i, _ in rows]), dtype=pl.Utf8
        ),
    )
    db.ingest(table(model), frame.to_arrow())


def _delete_where_in(db: Bulk, name: str, column: str, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 500):
        marks = ",".join(str(int(i)) for i in ids[start : start + 500])
        db.execute(f'DELETE FROM "{name}" WHERE {column} IN ({marks})')


# --- customers named by activity rows ------------------------------------------------------


def _customer_records(
    db: Bulk, chunk: PreparedChunk, rows: Sequence[tuple[int, int]], ctx: WriteContext
) -> tuple[dict[int, int], list[int]]:
    """Find (or create as stubs) the contact source record each row names.

    Returns:
        row source-record id -> customer source-record id, and the ids of stubs created.
    """
    refs = {rid: chunk.row_values(i) for i, rid in rows}
    ids = sorted({str(v["customer_id"]) for v in refs.values() if "customer_id" in v})
    emails = sorted({v["customer_email"] for v in refs.values() if "customer_email" in v})
    by_id = {
        str(key): int(rid)
        for key, rid in db.query_in(
            "SELECT record_key, id FROM source_record"
            " WHERE source_id = ? AND kind = 'contacts' AND record_key IN (?*)",
            ids,
            [ctx.source_id],
        )
    }
    by_email = {
        str(email): int(rid)
        for email, rid in db.query_in(
            "SELECT p.value, min(p.source_record_id) FROM contact_point p JOIN source_record r"
            " ON r.id = p.source_record_id WHERE r.source_id = ? AND p.kind = 'email'"
            " AND p.value IN (?*) GROUP BY p.value",
            emails,
            [ctx.source_id],
        )
    }
    stubs: dict[str, tuple[int, str | None, str | None]] = {}
    for (i, _), v in zip(rows, refs.values(), strict=True):
        cid, email = v.get("customer_id"), v.get("customer_email")
        if cid is not None and str(cid) not in by_id:
            stubs.setdefault(str(cid), (i, str(cid), email))
        elif cid is None and email not in by_email:
            stubs.setdefault(f"email:{email}", (i, None, email))
    stub_ids = _create_stubs(db, chunk, stubs, ctx)
    for key, rid in zip(stubs, stub_ids, strict=True):
        if key.startswith("email:"):
            by_email[key[6:]] = rid
        else:
            by_id[key] = rid
    out: dict[int, int] = {}
    for rid, v in refs.items():
        cid = v.get("customer_id")
        out[rid] = by_id[str(cid)] if cid is not None else by_email[v["customer_email"]]
    return out, stub_ids


def _create_stubs(
    db: Bulk,
    chunk: PreparedChunk,
    stubs: dict[str, tuple[int, str | None, str | None]],
    ctx: WriteContext,
) -> list[int]:
    """Create minimal contact records for customers named before they were sent."""
    if not stubs:
        return []
    ids = db.reserve_ids(table(SourceRecord), len(stubs))
    payloads = [
        json.dumps({"customer_id": cid, "email": email}, ensure_ascii=False)
        for _, cid, email in stubs.values()
    ]
    n = len(ids)
    db.ingest(
        table(SourceRecord),
        pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "source_id": pa.array([ctx.source_id] * n, pa.int64()),
                "kind": pa.array([Kind.CONTACTS.value] * n, pa.string()),
                "record_key": pa.array(list(stubs), pa.string()),
                "external_id": pa.array([cid for _, cid, _ in stubs.values()], pa.string()),
                "version": pa.array([1] * n, pa.int64()),
                "content_hash": pa.array(
                    [hashlib.blake2b(p.encode(), digest_size=16).digest() for p in payloads],
                    pa.binary(),
                ),
                "payload": pa.array(payloads, pa.string()),
                "batch_id": pa.array([ctx.batch_id] * n, pa.int64()),
                "created_batch_id": pa.array([ctx.batch_id] * n, pa.int64()),
                "file": pa.array([chunk.file] * n, pa.string()),
                "row_number": pa.array(
                    [chunk.numbers[i] for i, _, _ in stubs.values()], pa.int64()
                ),
                "status": pa.array([ACCEPTED] * n, pa.string()),
                "issues": pa.nulls(n, pa.string()),
                "is_stub": pa.array([True] * n, pa.bool_()),
            }
        ),
    )
    db.ingest(
        table(ContactRecord),
        pa.table(
            {
                "source_record_id": pa.array(ids, pa.int64()),
                "source_id": pa.array([ctx.source_id] * n, pa.int64()),
                "email": pa.array([email for _, _, email in stubs.values()], pa.string()),
            }
        ),
    )
    return ids


# --- activity kinds --------------------------------------------------------------------------


def _write_activity(
    db: Bulk,
    chunk: PreparedChunk,
    rows: Sequence[tuple[int, int]],
    ctx: WriteContext,
    *,
    replace: Sequence[int] = (),
) -> list[int]:
    """Write orders, tickets, interactions, events or consents; return the stubs created."""
    assert ctx.kind in CUSTOMER_KINDS
    customers, stubs = _customer_records(db, chunk, rows, ctx)
    if ctx.kind is Kind.ORDERS:
        _write_orders(db, chunk, rows, customers, ctx, replace=replace)
        return stubs
    model, columns = _ACTIVITY[ctx.kind]
    target = table(model)
    _delete_where_in(db, target.name, "source_record_id", replace)
    values = {rid: chunk.row_values(i) for i, rid in rows}
    data: dict[str, list[Any]] = {
        "source_record_id": list(values),
        "customer_record_id": [customers[rid] for rid in values],
    }
    for canonical, column in columns.items():
        data[column] = [v.get(canonical) for v in values.values()]
    if ctx.kind in (Kind.INTERACTIONS, Kind.EVENTS):
        names = {v["campaign"] for v in values.values() if "campaign" in v}
        campaigns = _campaign_ids(db, names)
        data["campaign_id"] = [campaigns.get(v.get("campaign", "")) for v in values.values()]
    if ctx.kind is Kind.INTERACTIONS:
        data["category"] = [_category(v.get("interaction_type")) for v in values.values()]
    if ctx.kind is Kind.EVENTS:
        data["properties"] = [chunk.custom[i] for i, _ in rows]
    if ctx.kind is Kind.CONSENTS:
        data["status"] = [_consent_status(v.get("status")) for v in values.values()]
        data["source_id"] = [ctx.source_id] * len(values)
    data["id"] = db.reserve_ids(target, len(values))
    db.ingest(target, _arrow(target, data))
    return stubs


def _arrow(target: Any, data: dict[str, list[Any]]) -> pa.Table:
    """Build an Arrow table typed after the target table's columns."""
    arrays = {}
    for name, values in data.items():
        sql_type = target.c[name].type.python_type if name in target.c else str
        arrow_type = {
            int: pa.int64(),
            float: pa.float64(),
            bool: pa.bool_(),
            datetime: pa.timestamp("us", "UTC"),
        }.get(sql_type, pa.string())
        if sql_type is dict:  # JSON column: already serialized text
            arrow_type = pa.string()
        arrays[name] = pa.array(values, arrow_type)
    return pa.table(arrays)


def _category(kind: Any) -> str | None:
    if kind is None:
        return None
    name = str(kind).strip().casefold()
    for category, names in (("sales", _SALES), ("marketing", _MARKETING), ("support", _SUPPORT)):
        if name in names or any(name.startswith(n) for n in names):
            return category
    return None


def _consent_status(raw: Any) -> str:
    if raw is None:
        return "unknown"
    try:
        return "granted" if parse_boolean(str(raw)) else "withdrawn"
    except ParseError:
        return str(raw).strip().casefold()[:20]


def _campaign_ids(db: Bulk, names: set[str]) -> dict[str, int]:
    """Return campaign name -> id, creating the campaigns not seen before."""
    if not names:
        return {}
    found = {
        str(n): int(i)
        for n, i in db.query_in("SELECT name, id FROM campaign WHERE name IN (?*)", sorted(names))
    }
    missing = sorted(names - set(found))
    ids = db.reserve_ids(table(Campaign), len(missing))
    if missing:
        db.ingest(
            table(Campaign),
            pa.table({"id": pa.array(ids, pa.int64()), "name": pa.array(missing, pa.string())}),
        )
    found.update(zip(missing, ids, strict=True))
    return found


def _write_orders(
    db: Bulk,
    chunk: PreparedChunk,
    rows: Sequence[tuple[int, int]],
    customers: dict[int, int],
    ctx: WriteContext,
    *,
    replace: Sequence[int] = (),
) -> None:
    """Write orders (one per order number) and, when the file has them, their line items."""
    order_table, line_table = table(Order), table(OrderLine)
    values = {rid: chunk.row_values(i) for i, rid in rows}
    keys = {rid: chunk.keys[i] for i, rid in rows}
    _delete_where_in(db, line_table.name, "source_record_id", replace)
    if replace:
        # A changed first row rewrites the order's own fields.
        db.executemany(
            'UPDATE "order" SET customer_record_id = ?, ordered_at = ?, total_amount = ?,'
            " quantity = ?, status = ? WHERE source_record_id = ?",
            [
                (
                    customers[rid],
                    db.stamp(values[rid]["order_date"]) if "order_date" in values[rid] else None,
                    values[rid].get("total_amount"),
                    values[rid].get("quantity"),
                    values[rid].get("status"),
                    rid,
                )
                for rid in replace
            ],
        )

    def number(rid: int) -> str:
        own = values[rid].get("record_id")
        return str(own) if own is not None else keys[rid]

    known = {
        str(n): int(i)
        for n, i in db.query_in(
            'SELECT external_id, id FROM "order" WHERE source_id = ? AND external_id IN (?*)',
            sorted({number(rid) for rid in values}),
            [ctx.source_id],
        )
    }
    heads: dict[str, int] = {}
    for rid in values:
        if number(rid) not in known:
            heads.setdefault(number(rid), rid)
    ids = db.reserve_ids(order_table, len(heads))
    known.update(zip(heads, ids, strict=True))
    heads_values = [values[rid] for rid in heads.values()]
    db.ingest(
        order_table,
        _arrow(
            order_table,
            {
                "id": ids,
                "source_id": [ctx.source_id] * len(ids),
                "external_id": list(heads),
                "source_record_id": list(heads.values()),
                "customer_record_id": [customers[rid] for rid in heads.values()],
                "ordered_at": [v.get("order_date") for v in heads_values],
                "total_amount": [v.get("total_amount") for v in heads_values],
                "currency": [
                    str(v["currency"]).upper()[:3] if "currency" in v else None
                    for v in heads_values
                ],
                "quantity": [v.get("quantity") for v in heads_values],
                "status": [v.get("status") for v in heads_values],
            },
        ),
    )
    if ctx.has_lines:
        db.ingest(
            line_table,
            _arrow(
                line_table,
                {
                    "order_id": [known[number(rid)] for rid in values],
                    "source_record_id": list(values),
                    "sku": [v.get("line_sku") for v in values.values()],
                    "name": [v.get("line_name") for v in values.values()],
                    "quantity": [v.get("line_quantity") for v in values.values()],
                    "unit_price": [v.get("line_price") for v in values.values()],
                },
            ),
        )


def rewrite_derived(
    db: Bulk, chunk: PreparedChunk, rows: Sequence[tuple[int, int]], *, ctx: WriteContext
) -> list[int]:
    """Rebuild the standardized view or activity row of records whose raw version changed.

    Used when an undo restores an earlier version: the derived rows follow the raw payload.

    Returns:
        The ids of stub contacts created for customers the restored rows name.
    """
    accepted = [(i, rid) for i, rid in rows if not chunk.is_fatal(i)]
    replace = [rid for _, rid in rows]
    if ctx.kind in (Kind.CONTACTS, Kind.COMPANIES):
        write_views(db, chunk, accepted, ctx=ctx, replace=replace)
        return []
    return _write_activity(db, chunk, accepted, ctx, replace=replace)
