"""Write one chunk of prepared rows into the store, inside the caller's transaction.

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

from sqlalchemy import Connection, Table, bindparam, text

from rolodex.collect.convert import ParseError, parse_boolean
from rolodex.collect.fields import CUSTOMER_KINDS, Kind
from rolodex.collect.prepare import ACCEPTED, Prepared
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
    Ticket,
)
from rolodex.model.base import table, utcnow
from rolodex.store.bulk import insert_rows, reserve_ids, select_in

_SOURCE_RECORD_COLUMNS = (
    "id",
    "source_id",
    "kind",
    "record_key",
    "external_id",
    "version",
    "content_hash",
    "payload",
    "batch_id",
    "created_batch_id",
    "file",
    "row_number",
    "status",
    "issues",
    "is_stub",
)

# Canonical field -> standardized-view column, where the names differ.
_RENAMES = {
    "created_date": "source_created_at",
    "updated_date": "source_updated_at",
    "company_id": "company_ref",
}


def _view_columns(table: Table) -> tuple[str, ...]:
    skip = {"source_record_id", "source_id", "custom", "flags"}
    return tuple(c.name for c in table.columns if c.name not in skip)


_CONTACT_COLUMNS = _view_columns(table(ContactRecord))
_COMPANY_COLUMNS = _view_columns(table(CompanyRecord))
_BACK = {v: k for k, v in _RENAMES.items()}

# Activity kinds: target table and canonical field -> column.
_ACTIVITY: dict[Kind, tuple[Table, dict[str, str]]] = {
    Kind.TICKETS: (
        table(Ticket),
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
        table(Interaction),
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
        table(Event),
        {"event_type": "event_type", "occurred_at": "occurred_at", "url": "url"},
    ),
    Kind.CONSENTS: (
        table(Consent),
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


def write_chunk(conn: Connection, rows: Sequence[Prepared], *, ctx: WriteContext) -> ChunkResult:
    """Store one chunk of prepared rows; see the module docstring for what happens to each."""
    result = ChunkResult(read=len(rows))
    existing = _existing(conn, ctx.source_id, ctx.kind.value, [r.key for r in rows])
    new: list[Prepared] = []
    changed: list[tuple[int, Prepared]] = []
    for row in rows:
        found = existing.get(row.key)
        if found is None:
            new.append(row)
        elif found[1] == row.content_hash:
            result.unchanged += 1
        else:
            changed.append((found[0], row))
    now = utcnow()
    ids = reserve_ids(conn, table(SourceRecord), len(new))
    insert_rows(
        conn,
        table(SourceRecord),
        _SOURCE_RECORD_COLUMNS,
        [_source_record_tuple(i, r, ctx) for i, r in zip(ids, new, strict=True)],
    )
    if changed:
        _new_versions(conn, changed, ctx, now)
    fresh = [(i, r) for i, r in zip(ids, new, strict=True) if r.status == ACCEPTED]
    result.accepted = len(fresh)
    result.updated = len(changed)
    result.quarantined = len(new) - len(fresh)
    if ctx.kind is Kind.CONTACTS:
        _write_views(conn, table(ContactRecord), _CONTACT_COLUMNS, fresh, changed, ctx)
    elif ctx.kind is Kind.COMPANIES:
        _write_views(conn, table(CompanyRecord), _COMPANY_COLUMNS, fresh, changed, ctx)
    if ctx.kind in (Kind.CONTACTS, Kind.COMPANIES):
        result.new_records = [i for i, _ in fresh]
        result.changed_records = [i for i, _ in changed]
    else:
        stubs = _write_activity(conn, fresh, changed, ctx)
        result.stubs = len(stubs)
        result.new_records = stubs
        result.activity_records = [i for i, _ in fresh] + [i for i, _ in changed]
    return result


def _existing(
    conn: Connection, source_id: int, kind: str, keys: list[str]
) -> dict[str, tuple[int, bytes]]:
    rows = select_in(
        conn,
        "SELECT record_key, id, content_hash FROM source_record"
        " WHERE source_id = :s AND kind = :k AND record_key IN :values",
        keys,
        {"s": source_id, "k": kind},
    )
    return {key: (rid, bytes(digest)) for key, rid, digest in rows}


def _source_record_tuple(rid: int, r: Prepared, ctx: WriteContext) -> tuple[Any, ...]:
    return (
        rid,
        ctx.source_id,
        ctx.kind.value,
        r.key,
        r.external_id,
        1,
        r.content_hash,
        r.payload,
        ctx.batch_id,
        ctx.batch_id,
        r.file,
        r.number,
        r.status,
        r.issues_json(),
        False,
    )


def _new_versions(
    conn: Connection, changed: list[tuple[int, Prepared]], ctx: WriteContext, now: datetime
) -> None:
    """Move the current versions to history and store the new ones in their place."""
    ids = [i for i, _ in changed]
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join(str(int(i)) for i in part)
        conn.execute(
            text(
                "INSERT INTO source_record_history (source_record_id, version, content_hash,"
                " payload, batch_id, file, row_number, status, issues, is_stub,"
                " superseded_by_batch_id, superseded_at)"
                " SELECT id, version, content_hash, payload, batch_id, file, row_number, status,"
                f" issues, is_stub, :batch, :now FROM source_record WHERE id IN ({marks})"
            ),
            {"batch": ctx.batch_id, "now": now},
        )
    conn.execute(
        text(
            "UPDATE source_record SET version = version + 1, content_hash = :h, payload = :p,"
            " batch_id = :b, file = :f, row_number = :n, status = :s, issues = :i,"
            " is_stub = :stub, updated_at = :now WHERE id = :id"
        ),
        [
            {
                "h": r.content_hash,
                "p": r.payload,
                "b": ctx.batch_id,
                "f": r.file,
                "n": r.number,
                "s": r.status,
                "i": r.issues_json(),
                "stub": False,
                "now": now,
                "id": i,
            }
            for i, r in changed
        ],
    )


def _view_tuple(
    rid: int, r: Prepared, positions: dict[str, int], width: int, source_id: int
) -> list[Any]:
    """Lay a record's values out in view-column order (only the fields it has are touched)."""
    row: list[Any] = [None] * width
    row[0], row[1], row[-1] = rid, source_id, r.custom
    for name, value in r.values.items():
        at = positions.get(name)
        if at is not None:
            row[at] = value
    return row


def _write_views(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    fresh: list[tuple[int, Prepared]],
    changed: list[tuple[int, Prepared]],
    ctx: WriteContext,
) -> None:
    """Write the standardized view of accepted records, replacing it for changed ones."""
    _delete_where_in(conn, table.name, "source_record_id", [i for i, _ in changed])
    names = ("source_record_id", "source_id", *columns, "custom")
    positions = {_BACK.get(c, c): i for i, c in enumerate(columns, start=2)}
    insert_rows(
        conn,
        table,
        names,
        [_view_tuple(i, r, positions, len(names), ctx.source_id) for i, r in (*fresh, *changed)],
    )


def _delete_where_in(conn: Connection, table: str, column: str, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 500):
        marks = ",".join(str(int(i)) for i in ids[start : start + 500])
        conn.execute(text(f'DELETE FROM "{table}" WHERE {column} IN ({marks})'))


# --- customers named by activity rows ------------------------------------------------------


def _customer_records(
    conn: Connection, rows: Sequence[tuple[int, Prepared]], ctx: WriteContext
) -> tuple[dict[int, int], list[int]]:
    """Find (or create as stubs) the contact source record each row names.

    Returns:
        row source-record id -> customer source-record id, and the ids of stubs created.
    """
    ids = sorted({str(r.values["customer_id"]) for _, r in rows if "customer_id" in r.values})
    emails = sorted({r.values["customer_email"] for _, r in rows if "customer_email" in r.values})
    by_id = dict(
        select_in(
            conn,
            "SELECT record_key, id FROM source_record"
            " WHERE source_id = :s AND kind = 'contacts' AND record_key IN :values",
            ids,
            {"s": ctx.source_id},
        )
    )
    by_email: dict[str, int] = {}
    for email, rid in select_in(
        conn,
        "SELECT email, min(source_record_id) FROM contact_record"
        " WHERE source_id = :s AND email IN :values GROUP BY email",
        emails,
        {"s": ctx.source_id},
    ):
        by_email[email] = rid
    stubs: dict[str, tuple[Prepared, str | None, str | None]] = {}
    for _, r in rows:
        cid, email = r.values.get("customer_id"), r.values.get("customer_email")
        if cid is not None and str(cid) not in by_id:
            stubs.setdefault(str(cid), (r, str(cid), email))
        elif cid is None and email not in by_email:
            stubs.setdefault(f"email:{email}", (r, None, email))
    stub_ids = _create_stubs(conn, stubs, ctx)
    for key, rid in zip(stubs, stub_ids, strict=True):
        if key.startswith("email:"):
            by_email[key[6:]] = rid
        else:
            by_id[key] = rid
    out: dict[int, int] = {}
    for rid, r in rows:
        cid = r.values.get("customer_id")
        out[rid] = by_id[str(cid)] if cid is not None else by_email[r.values["customer_email"]]
    return out, stub_ids


def _create_stubs(
    conn: Connection, stubs: dict[str, tuple[Prepared, str | None, str | None]], ctx: WriteContext
) -> list[int]:
    """Create minimal contact records for customers named before they were sent."""
    if not stubs:
        return []
    ids = reserve_ids(conn, table(SourceRecord), len(stubs))
    records, views = [], []
    for rid, (key, (row, cid, email)) in zip(ids, stubs.items(), strict=True):
        payload = json.dumps({"customer_id": cid, "email": email}, ensure_ascii=False)
        digest = hashlib.blake2b(payload.encode(), digest_size=16).digest()
        records.append(
            (
                rid,
                ctx.source_id,
                Kind.CONTACTS.value,
                key,
                cid,
                1,
                digest,
                payload,
                ctx.batch_id,
                ctx.batch_id,
                row.file,
                row.number,
                ACCEPTED,
                None,
                True,
            )
        )
        views.append((rid, ctx.source_id, email))
    insert_rows(conn, table(SourceRecord), _SOURCE_RECORD_COLUMNS, records)
    insert_rows(conn, table(ContactRecord), ("source_record_id", "source_id", "email"), views)
    return ids


# --- activity kinds --------------------------------------------------------------------------


def _write_activity(
    conn: Connection,
    fresh: list[tuple[int, Prepared]],
    changed: list[tuple[int, Prepared]],
    ctx: WriteContext,
) -> list[int]:
    """Write orders, tickets, interactions, events or consents; return the stubs created."""
    assert ctx.kind in CUSTOMER_KINDS
    rows = [*fresh, *changed]
    customers, stubs = _customer_records(conn, rows, ctx)
    if ctx.kind is Kind.ORDERS:
        _write_orders(conn, fresh, changed, customers, ctx)
        return stubs
    table, columns = _ACTIVITY[ctx.kind]
    _delete_where_in(conn, table.name, "source_record_id", [i for i, _ in changed])
    extra: list[str] = []
    campaigns: dict[str, int] = {}
    if ctx.kind in (Kind.INTERACTIONS, Kind.EVENTS):
        extra.append("campaign_id")
        campaigns = _campaign_ids(
            conn, {r.values["campaign"] for _, r in rows if "campaign" in r.values}
        )
    if ctx.kind is Kind.INTERACTIONS:
        extra.append("category")
    if ctx.kind is Kind.EVENTS:
        extra.append("properties")
    if ctx.kind is Kind.CONSENTS:
        extra += ["status", "source_id"]
    ids = reserve_ids(conn, table, len(rows))
    out = []
    for new_id, (rid, r) in zip(ids, rows, strict=True):
        v = r.values
        values: list[Any] = [new_id, rid, customers[rid], *(v.get(f) for f in columns)]
        for name in extra:
            if name == "campaign_id":
                values.append(campaigns.get(v["campaign"]) if "campaign" in v else None)
            elif name == "category":
                values.append(_category(v.get("interaction_type")))
            elif name == "properties":
                values.append(r.custom)
            elif name == "status":
                values.append(_consent_status(v.get("status")))
            elif name == "source_id":
                values.append(ctx.source_id)
        out.append(values)
    insert_rows(
        conn,
        table,
        ("id", "source_record_id", "customer_record_id", *columns.values(), *extra),
        out,
    )
    return stubs


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


def _campaign_ids(conn: Connection, names: set[str]) -> dict[str, int]:
    """Return campaign name -> id, creating the campaigns not seen before."""
    if not names:
        return {}
    found = dict(
        select_in(conn, "SELECT name, id FROM campaign WHERE name IN :values", sorted(names))
    )
    missing = sorted(names - set(found))
    ids = reserve_ids(conn, table(Campaign), len(missing))
    insert_rows(conn, table(Campaign), ("id", "name"), list(zip(ids, missing, strict=True)))
    found.update(zip(missing, ids, strict=True))
    return found


def _write_orders(
    conn: Connection,
    fresh: list[tuple[int, Prepared]],
    changed: list[tuple[int, Prepared]],
    customers: dict[int, int],
    ctx: WriteContext,
) -> None:
    """Write orders (one per order number) and, when the file has them, their line items."""
    order_table: Table = table(Order)
    line_table: Table = table(OrderLine)
    # A changed row rewrites its line and, if it was the order's first row, the order itself.
    _delete_where_in(conn, line_table.name, "source_record_id", [i for i, _ in changed])
    if changed:
        conn.execute(
            order_table.update()
            .where(order_table.c.source_record_id == bindparam("rid"))
            .values(
                customer_record_id=bindparam("cust"),
                ordered_at=bindparam("at"),
                total_amount=bindparam("total"),
                quantity=bindparam("qty"),
                status=bindparam("st"),
            ),
            [
                {
                    "rid": rid,
                    "cust": customers[rid],
                    "at": r.values.get("order_date"),
                    "total": r.values.get("total_amount"),
                    "qty": r.values.get("quantity"),
                    "st": r.values.get("status"),
                }
                for rid, r in changed
            ],
        )
    rows = [*fresh, *changed]

    def number(r: Prepared) -> str:
        rid = r.values.get("record_id")
        return str(rid) if rid is not None else r.key

    numbers = sorted({number(r) for _, r in rows})
    known = dict(
        select_in(
            conn,
            'SELECT external_id, id FROM "order" WHERE source_id = :s AND external_id IN :values',
            numbers,
            {"s": ctx.source_id},
        )
    )
    heads: dict[str, tuple[int, Prepared]] = {}
    for rid, r in rows:
        if number(r) not in known:
            heads.setdefault(number(r), (rid, r))
    ids = reserve_ids(conn, order_table, len(heads))
    order_rows = []
    for oid, (num, (rid, r)) in zip(ids, heads.items(), strict=True):
        v = r.values
        order_rows.append(
            (
                oid,
                ctx.source_id,
                num,
                rid,
                customers[rid],
                v.get("order_date"),
                v.get("total_amount"),
                (str(v["currency"]).upper()[:3] if "currency" in v else None),
                v.get("quantity"),
                v.get("status"),
            )
        )
        known[num] = oid
    insert_rows(
        conn,
        order_table,
        (
            "id",
            "source_id",
            "external_id",
            "source_record_id",
            "customer_record_id",
            "ordered_at",
            "total_amount",
            "currency",
            "quantity",
            "status",
        ),
        order_rows,
    )
    if ctx.has_lines:
        insert_rows(
            conn,
            line_table,
            ("order_id", "source_record_id", "sku", "name", "quantity", "unit_price"),
            [
                (
                    known[number(r)],
                    rid,
                    r.values.get("line_sku"),
                    r.values.get("line_name"),
                    r.values.get("line_quantity"),
                    r.values.get("line_price"),
                )
                for rid, r in rows
            ],
        )


def rewrite_derived(
    conn: Connection, rows: Sequence[tuple[int, Prepared]], *, ctx: WriteContext
) -> list[int]:
    """Rebuild the standardized view or activity row of records whose raw version changed.

    Used when an undo restores an earlier version: the derived rows follow the raw payload.

    Returns:
        The ids of stub contacts created for customers the restored rows name.
    """
    accepted = [(i, r) for i, r in rows if r.status == ACCEPTED]
    if ctx.kind is Kind.CONTACTS:
        _write_views(conn, table(ContactRecord), _CONTACT_COLUMNS, [], accepted, ctx)
        return []
    if ctx.kind is Kind.COMPANIES:
        _write_views(conn, table(CompanyRecord), _COMPANY_COLUMNS, [], accepted, ctx)
        return []
    return _write_activity(conn, [], accepted, ctx)
