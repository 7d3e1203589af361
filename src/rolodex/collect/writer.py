"""Write one prepared chunk into the store, inside the caller's transaction.

A row whose key is new becomes a source record; a row whose key exists with the same content
hash is unchanged and writes nothing; a row whose content changed becomes the next version of
its record (the old version moves to history). Accepted rows also get their standardized view
(contacts, companies) or their activity row (orders, tickets, subscriptions, deals, campaign
members, ...). A customer that an order or ticket names before its source has sent it becomes
a minimal "stub" contact record.

A customer is a member of a campaign once: a member row naming a campaign and customer that
another record already holds is quarantined here, where the store can tell.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
    CampaignMember,
    CompanyRecord,
    Consent,
    ContactRecord,
    Deal,
    Event,
    Interaction,
    Order,
    OrderLine,
    SourceRecord,
    SourceRecordHistory,
    Subscription,
    Ticket,
)
from rolodex.model.base import table, utcnow
from rolodex.secure.permissions import mask_email
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
    Kind.SUBSCRIPTIONS: (
        Subscription,
        {"plan": "plan", "status": "status", "started_at": "started_at"},
    ),
    Kind.DEALS: (
        Deal,
        {
            "deal_name": "name",
            "pipeline": "pipeline",
            "stage": "stage",
            "amount": "amount",
            "expected_close_date": "expected_close_date",
            "owner": "owner",
        },
    ),
    Kind.CAMPAIGN_MEMBERS: (
        CampaignMember,
        {
            "status": "status",
            "responded_at": "responded_at",
            "converted_at": "converted_at",
            "revenue": "revenue",
        },
    ),
}
_SALES = frozenset({"call", "meeting", "demo", "proposal", "quote", "task", "note", "sales email"})
_MARKETING = frozenset(
    {"open", "click", "visit", "response", "sent", "bounce", "unsubscribe", "form", "webinar"}
)
_SUPPORT = frozenset({"chat", "ticket", "support", "support call", "support email"})
# Months per billing interval, for the monthly amount of a subscription.
_MONTHS = {
    **dict.fromkeys(("month", "monthly", "months", "mo", "monat", "monatlich", "mois",
                     "mensuel", "mensuelle", "mes", "mensual"), 1.0),
    **dict.fromkeys(("year", "yearly", "years", "annual", "annually", "yr", "jahr",
                     "jährlich", "jahrlich", "an", "année", "annee", "annuel", "annuelle", "año",
                     "ano", "anual"), 12.0),
    **dict.fromkeys(("quarter", "quarterly", "quartal", "vierteljährlich", "trimestre",
                     "trimestriel", "trimestrielle", "trimestral"), 3.0),
    **dict.fromkeys(("half year", "semiannual", "semi annual", "halbjahr", "halbjährlich",
                     "semestre", "semestriel", "semestrielle", "semestral"), 6.0),
    **dict.fromkeys(("week", "weekly", "weeks", "woche", "wöchentlich", "semaine",
                     "hebdomadaire", "semana", "semanal"), 12 / 52),
    **dict.fromkeys(("day", "daily", "days", "tag", "täglich", "jour", "quotidien", "día",
                     "dia", "diario"), 12 / 365),
}  # fmt: skip
# Words of a deal's stage or status that say how it ended (accents folded, one word each).
_WON = frozenset({"won", "closedwon", "gewonnen", "gagne", "gagnee", "ganado", "ganada"})
_LOST = frozenset({"lost", "closedlost", "verloren", "perdu", "perdue", "perdido", "perdida"})
# A campaign member's status that says it responded or converted, when no column says so.
_RESPONDED = frozenset({"responded", "clicked", "replied", "visited", "converted", "purchased"})
_CONVERTED = frozenset({"converted", "purchased", "bought"})
# "Jane Doe <jane@example.com>", "Jane Doe (jane@example.com)": HubSpot's associations.
_NAMED_ADDRESS = re.compile(r"[<(]\s*([^<>()\s]+@[^<>()\s]+)\s*[>)]")


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
    # Contact points sealed ahead for the new and changed records, by record id (or None).
    points: pa.Table | None = None
    activity_records: list[int] = field(default_factory=list)  # rows whose contact to attach
    linked: int = 0  # golden records the caller created for `new_records`
    link_seconds: float = 0.0  # of `seconds`, creating those golden records
    problems: list[tuple[int, Problem]] = field(default_factory=list)  # (row, problem) added
    seconds: float = 0.0  # time the writer spent on the chunk
    idle_seconds: float = 0.0  # time the writer waited for the chunk, since the one before


def write_chunk(db: Bulk, chunk: PreparedChunk, *, ctx: WriteContext) -> ChunkResult:
    """Store one prepared chunk; see the module docstring for what happens to each row."""
    result = ChunkResult(read=len(chunk))
    existing = {} if ctx.first_load else _existing(db, ctx, chunk.keys)
    if ctx.kind is Kind.CAMPAIGN_MEMBERS:
        repeated = _quarantine_repeated_members(db, chunk, existing, ctx)
        # Found here, not when the chunk was prepared: the import summary hears of them here.
        result.problems.extend((chunk.numbers[i], chunk.problems[i][-1]) for i in repeated)
        if repeated and not ctx.first_load:
            existing.update(_existing(db, ctx, [chunk.keys[i] for i in repeated]))
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
        if ctx.kind is Kind.CONTACTS:
            result.points = planned_points(chunk, rows)
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
    at = pa.array(rows, pa.int64())
    picked = chunk.record_columns().take(at)
    tokens = None if chunk.sealed is None else chunk.sealed.payload
    data = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "source_id": pa.repeat(pa.scalar(ctx.source_id, pa.int64()), n),
            "kind": pa.repeat(pa.scalar(ctx.kind.value), n),
            "record_key": picked["key"],
            "external_id": picked["external_id"],
            "version": pa.repeat(pa.scalar(1, pa.int64()), n),
            "content_hash": picked["hash"],
            "payload": picked["payload"] if tokens is None else tokens.take(at),
            "batch_id": pa.repeat(pa.scalar(ctx.batch_id, pa.int64()), n),
            "created_batch_id": pa.repeat(pa.scalar(ctx.batch_id, pa.int64()), n),
            "file": pa.repeat(pa.scalar(chunk.file), n),
            "row_number": picked["number"],
            "status": pc.if_else(picked["fatal"], QUARANTINED, ACCEPTED),
            "issues": picked["issues"],
            "is_stub": pa.repeat(pa.scalar(False), n),
        }
    )
    db.ingest(table(SourceRecord), data, sealed=tokens is not None)


def _new_versions(
    db: Bulk, chunk: PreparedChunk, changed: list[tuple[int, int]], ctx: WriteContext
) -> None:
    """Move the current versions to history and store the new ones in their place."""
    now = utcnow()
    ids = [rid for _, rid in changed]
    pairs = db.stage_pairs([(rid, ctx.batch_id) for rid in ids])
    history = table(SourceRecordHistory).name
    # The old version's payload moves to history as the token it is (same context); the new
    # one is sealed here, as `ingest` would, unless it was sealed ahead.
    tokens = None if chunk.sealed is None else chunk.sealed.payload
    payloads = (
        db.sealer.seal("payload", [chunk.payloads[i] for i, _ in changed])
        if tokens is None
        else tokens.take(pa.array([i for i, _ in changed], pa.int64())).to_pylist()
    )
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
                payload,
                ctx.batch_id,
                chunk.file,
                chunk.numbers[i],
                chunk.status(i),
                chunk.issues_json(i),
                False,
                db.stamp(now),
                rid,
            )
            for (i, rid), payload in zip(changed, payloads, strict=True)
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

    Records in `replace` lose their previous view first (a new version, or an undo). A
    chunk sealed ahead (`PreparedChunk.sealed`) is stored as it was sealed.
    """
    model = ContactRecord if ctx.kind is Kind.CONTACTS else CompanyRecord
    _delete_where_in(db, table(model).name, "source_record_id", replace)
    if not rows:
        return
    at = pa.array([i for i, _ in rows], pa.int64())
    ids = pa.array([rid for _, rid in rows], pa.int64())
    if chunk.sealed is not None and chunk.sealed.view is not None:
        data = chunk.sealed.view.take(at).append_column("source_record_id", ids)
        db.ingest(table(model), data, sealed=True)
        return
    data = view_frame(chunk, ctx).to_arrow().take(at).append_column("source_record_id", ids)
    db.ingest(table(model), data)


def view_frame(chunk: PreparedChunk, ctx: WriteContext) -> pl.DataFrame:
    """The standardized view of every row of a contacts or companies chunk, as the view
    table's columns (all but `source_record_id`, which the writer assigns)."""
    view = _CONTACT_VIEW if ctx.kind is Kind.CONTACTS else _COMPANY_VIEW
    keep = {c: _RENAMES.get(c, c) for c in chunk.values.columns if _RENAMES.get(c, c) in view}
    return chunk.values.select([pl.col(c).alias(name) for c, name in keep.items()]).with_columns(
        pl.lit(ctx.source_id, dtype=pl.Int64).alias("source_id"),
        pl.Series("custom", chunk.fixed_columns()["custom"], dtype=pl.Utf8),
    )


def planned_points(chunk: PreparedChunk, rows: Sequence[tuple[int, int]]) -> pa.Table | None:
    """The contact points sealed ahead for these rows (row index, record id), with their
    record ids; None when the chunk was not sealed ahead."""
    if chunk.sealed is None or chunk.sealed.points is None:
        return None
    record_of: list[int | None] = [None] * len(chunk)
    for i, rid in rows:
        record_of[i] = rid
    points = chunk.sealed.points
    records = pa.array(record_of, pa.int64()).take(points.column("row"))
    keep = pc.is_valid(records)
    points, records = points.filter(keep), records.filter(keep)
    return points.drop_columns(["row"]).append_column("source_record_id", records)


def _delete_where_in(db: Bulk, name: str, column: str, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 500):
        marks = ",".join(str(int(i)) for i in ids[start : start + 500])
        db.execute(f'DELETE FROM "{name}" WHERE {column} IN ({marks})')


# --- customers named by activity rows ------------------------------------------------------


def _customer_ref(values: dict[str, Any], kind: Kind) -> tuple[str | None, str | None]:
    """Return the (customer id, email) a row names, as the lookup needs them."""
    cid, email = values.get("customer_id"), values.get("customer_email")
    if email is not None and (named := _NAMED_ADDRESS.search(str(email))) is not None:
        email = named.group(1)
    if kind is Kind.DEALS:
        # "Associated Contact IDs" lists several; the first is the deal's contact. A contact
        # column without an address names a person no lookup can find.
        if cid is not None:
            cid = str(cid).split(";")[0].strip() or None
        email = email if email is not None and "@" in str(email) else None
    return (None if cid is None else str(cid)), (None if email is None else str(email))


def _known_customers(
    db: Bulk, refs: Sequence[tuple[str | None, str | None]], ctx: WriteContext
) -> tuple[dict[str, int], dict[str, int]]:
    """Return the contact source records the source holds: by record key and by email."""
    ids = sorted({cid for cid, _ in refs if cid is not None})
    emails = sorted({email for cid, email in refs if cid is None and email is not None})
    by_id = {
        str(key): int(rid)
        for key, rid in db.query_in(
            "SELECT record_key, id FROM source_record"
            " WHERE source_id = ? AND kind = 'contacts' AND record_key IN (?*)",
            ids,
            [ctx.source_id],
        )
    }
    # Point values are sealed: found by their blind index, so an address matches whatever
    # its case (the index is of the lower-cased address).
    wanted: dict[str, list[str]] = {}
    for email in emails:
        if (index := db.sealer.email_index(email)) is not None:
            wanted.setdefault(index, []).append(email)
    by_email: dict[str, int] = {}
    for index, rid in db.query_in(
        "SELECT p.value_index, min(p.source_record_id) FROM contact_point p JOIN source_record r"
        " ON r.id = p.source_record_id WHERE r.source_id = ? AND p.kind = 'email'"
        " AND p.value_index IN (?*) GROUP BY p.value_index",
        sorted(wanted),
        [ctx.source_id],
    ):
        for email in wanted.get(str(index), []):
            by_email[email] = int(rid)
    return by_id, by_email


def _stub_key(db: Bulk, email: str) -> str:
    """The record key of a stub known only by its email: the address's blind index, so the
    key names no one and every spelling of the address (case, spaces) is one stub."""
    return f"email:{db.sealer.email_index(email)}"


def _customer_records(
    db: Bulk, chunk: PreparedChunk, rows: Sequence[tuple[int, int]], ctx: WriteContext
) -> tuple[dict[int, int | None], list[int]]:
    """Find (or create as stubs) the contact source record each row names.

    Returns:
        row source-record id -> customer source-record id (None for a deal that names only
        its company), and the ids of stubs created.
    """
    refs = {rid: _customer_ref(chunk.row_values(i), ctx.kind) for i, rid in rows}
    by_id, by_email = _known_customers(db, list(refs.values()), ctx)
    stubs: dict[str, tuple[int, str | None, str | None]] = {}
    keyed: dict[str, str] = {}  # email -> its stub's key
    for (i, _), (cid, email) in zip(rows, refs.values(), strict=True):
        if cid is not None and cid not in by_id:
            stubs.setdefault(cid, (i, cid, email))
        elif cid is None and email is not None and email not in by_email:
            keyed[email] = _stub_key(db, email)
            stubs.setdefault(keyed[email], (i, None, email))
    stub_ids = _create_stubs(db, chunk, stubs, ctx)
    made = dict(zip(stubs, stub_ids, strict=True))
    by_email_key = set(keyed.values())
    for key, rid in made.items():
        if key not in by_email_key:
            by_id[key] = rid
    for email, key in keyed.items():
        by_email[email] = made[key]
    out: dict[int, int | None] = {}
    for rid, (cid, email) in refs.items():
        if cid is not None:
            out[rid] = by_id[cid]
        else:
            out[rid] = by_email[email] if email is not None else None
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
    """Write the activity rows of a customer kind; return the stubs created."""
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
    if ctx.kind in (Kind.INTERACTIONS, Kind.EVENTS, Kind.CAMPAIGN_MEMBERS):
        names = {v["campaign"] for v in values.values() if "campaign" in v}
        campaigns = _campaign_ids(db, names)
        data["campaign_id"] = [campaigns.get(v.get("campaign", "")) for v in values.values()]
    if ctx.kind is Kind.SUBSCRIPTIONS:
        data.update(_subscription_columns(list(values.values())))
    if ctx.kind is Kind.DEALS:
        data.update(_deal_columns(db, list(values.values()), ctx))
    if ctx.kind is Kind.CAMPAIGN_MEMBERS:
        data.update(_member_columns(list(values.values()), set(chunk.values.columns)))
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
            date: pa.date32(),
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


def _subscription_columns(values: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Derive the stored cancellation, monthly amount and currency of subscriptions.

    The end of a subscription is when its revenue stopped, so an end date (Stripe's "Ended
    At") is stored as the cancellation before the date it was cancelled on (a cancellation
    at the period's end comes earlier). An amount per year, quarter, week or day becomes
    the amount per month; without a known interval it is taken as monthly.
    """
    amounts: list[float | None] = []
    for v in values:
        amount = v.get("monthly_amount")
        interval = str(v.get("billing_interval", "month")).strip().casefold()
        amounts.append(None if amount is None else amount / _MONTHS.get(interval, 1.0))
    return {
        "cancelled_at": [v.get("ended_at", v.get("cancelled_at")) for v in values],
        "monthly_amount": amounts,
        "currency": [_currency(v) for v in values],
    }


def _currency(values: dict[str, Any]) -> str | None:
    return str(values["currency"]).strip().upper()[:3] if "currency" in values else None


def _deal_columns(db: Bulk, values: list[dict[str, Any]], ctx: WriteContext) -> dict[str, Any]:
    """Derive a deal's outcome, close time, probability (0-1), currency and golden company.

    A closed deal without a separate close time closed on its close date (HubSpot and
    Salesforce set "Close Date" to the day a deal is won or lost).
    """
    won = [_deal_won(v) for v in values]
    closed_at = []
    for v, outcome in zip(values, won, strict=True):
        day = v.get("expected_close_date")
        if "closed_at" in v or outcome is None or day is None:
            closed_at.append(v.get("closed_at"))
        else:
            closed_at.append(datetime(day.year, day.month, day.day, tzinfo=UTC))
    return {
        "is_won": won,
        "closed_at": closed_at,
        "probability": [_probability(v.get("probability")) for v in values],
        "currency": [_currency(v) for v in values],
        "company_id": _deal_companies(db, values, ctx),
    }


def _probability(value: float | None) -> float | None:
    """Read a probability given as 0-1 or as a percentage; None outside both."""
    if value is None or value < 0 or value > 100:
        return None
    return value if value <= 1 else value / 100


def _outcome(text: Any) -> str | None:
    """Return "won", "lost" or "open" for a deal stage or status, None when there is none."""
    if text is None:
        return None
    folded = unicodedata.normalize("NFKD", str(text).casefold())
    words = set(re.split(r"[^a-z0-9]+", folded.encode("ascii", "ignore").decode()))
    if words & _WON:
        return "won"
    if words & _LOST:
        return "lost"
    return "open"


def _deal_won(v: dict[str, Any]) -> bool | None:
    """Decide whether a deal was won (True), lost (False) or is still open (None).

    The file's own yes/no columns decide first (an open deal, `closed` no, is neither won
    nor lost); without them the status, then the stage ("Closed Won", "Verloren") decide.
    """
    closed, won = v.get("closed"), v.get("won")
    said = _outcome(v.get("status"))
    if said in (None, "open"):
        said = _outcome(v.get("stage")) or said
    if closed is False:
        return None
    if won is True or (won is None and said == "won"):
        return True
    if won is False:
        return None if said == "open" and closed is None else False
    return False if said == "lost" else None


def _deal_companies(db: Bulk, values: list[dict[str, Any]], ctx: WriteContext) -> list[int | None]:
    """Find the golden company of each deal by the source's company id, else by exact name.

    A company not imported yet stays unknown (the raw row keeps its name and id).
    """
    ids = sorted({str(v["company_id"]) for v in values if "company_id" in v})
    names = sorted({str(v["company_name"]) for v in values if "company_name" in v})
    by_id = {
        str(key): int(company)
        for key, company in db.query_in(
            "SELECT r.record_key, l.company_id FROM source_record r JOIN company_link l"
            " ON l.source_record_id = r.id WHERE r.source_id = ? AND r.kind = 'companies'"
            " AND r.record_key IN (?*)",
            ids,
            [ctx.source_id],
        )
    }
    by_name = {
        str(name): int(company)
        for name, company in db.query_in(
            "SELECT name, min(id) FROM company WHERE merged_into_id IS NULL AND name IN (?*)"
            " GROUP BY name",
            names,
        )
    }
    out: list[int | None] = []
    for v in values:
        found = by_id.get(str(v["company_id"])) if "company_id" in v else None
        if found is None and "company_name" in v:
            found = by_name.get(str(v["company_name"]))
        out.append(found)
    return out


def _member_columns(values: list[dict[str, Any]], columns: set[str]) -> dict[str, list[Any]]:
    """Derive a campaign member's arm and its responded and converted flags.

    A flag the file does not give follows from its date column when the file has one (an
    empty response date is no response), else from the status ("Responded", "Converted").
    A member flagged as control without an arm name is in the arm "control".
    """

    def flag(v: dict[str, Any], name: str, statuses: frozenset[str]) -> bool | None:
        if name in v:
            return bool(v[name])
        if f"{name}_at" in columns:
            return f"{name}_at" in v
        if "status" in v:
            return str(v["status"]).strip().casefold() in statuses
        return None

    return {
        "arm": [v.get("arm", "control" if v.get("control") else None) for v in values],
        "responded": [flag(v, "responded", _RESPONDED) for v in values],
        "converted": [flag(v, "converted", _CONVERTED) for v in values],
    }


def _quarantine_repeated_members(
    db: Bulk, chunk: PreparedChunk, existing: dict[str, tuple[int, bytes]], ctx: WriteContext
) -> list[int]:
    """Quarantine member rows whose campaign and customer another record already holds.

    A customer is in a campaign once: the first row (in the store, or earlier in this
    import) keeps the membership, a repeat is quarantined with a pointer to it. A record's
    own new version (a row with the same member id) is no repeat. Rows without ids are
    known by their content, so a later file with new outcomes for the same people repeats
    their memberships: undo the earlier import first, or give the rows member ids.

    Returns:
        The rows quarantined (their keys now name their content).
    """
    rows = [i for i in range(len(chunk)) if not chunk.is_fatal(i)]
    if not rows:
        return []
    values = {i: chunk.row_values(i) for i in rows}
    refs = {i: _customer_ref(values[i], ctx.kind) for i in rows}
    by_id, by_email = _known_customers(db, list(refs.values()), ctx)
    names = sorted({str(v["campaign"]) for v in values.values()})
    campaigns = {
        str(n): int(c)
        for n, c in db.query_in("SELECT name, id FROM campaign WHERE name IN (?*)", names)
    }

    def customer(i: int) -> int | str:
        cid, email = refs[i]
        if cid is not None:
            return by_id.get(cid, f"id:{cid}")
        return by_email.get(str(email), f"email:{email}")

    known = sorted({c for i in rows if isinstance(c := customer(i), int)})
    held: dict[tuple[int | str, int | str], tuple[int | None, str]] = {}
    for campaign, record, own, file, row in db.query_in(
        "SELECT m.campaign_id, m.customer_record_id, m.source_record_id, s.file, s.row_number"
        " FROM campaign_member m LEFT JOIN source_record s ON s.id = m.source_record_id"
        " WHERE m.customer_record_id IN (?*)",
        known,
    ):
        where = f"{file} row {row}" if file is not None else "an earlier import"
        held[(int(campaign), int(record))] = (None if own is None else int(own), where)
    repeated: list[int] = []
    for i in rows:
        name = str(values[i]["campaign"])
        pair = (campaigns.get(name, f"new:{name}"), customer(i))
        own = existing.get(chunk.keys[i], (None, b""))[0]
        holder = held.get(pair)
        if holder is None:
            held[pair] = (own, f"{chunk.file} row {chunk.numbers[i]}")
            continue
        if own is not None and holder[0] == own:
            continue
        cid, email = refs[i]
        # The issues are stored as they are: an address in them is masked.
        who = cid if cid is not None else mask_email(email)
        chunk.problems[i].append(
            Problem(
                f"duplicate campaign member: customer {who!r} is already in campaign"
                f" {name!r} (from {holder[1]}); a customer is a member of a campaign once"
            )
        )
        chunk.keys[i] = f"q:{chunk.hashes[i].hex()}#{chunk.ordinals[i]}"
        repeated.append(i)
    if repeated:
        chunk.forget_status()
    return repeated


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
    customers: dict[int, int | None],
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
