"""Saved segments over golden records, their scores and aggregates (`rolodex segment ...`).

The filter language lives in `segment.expr`; this module gives it its fields (one query joins
each current golden contact with its `contact_score` row, order and ticket aggregates and its
marketing consent), stores segments, keeps membership history at every refresh (a row per
stay: who entered, who left, when) and exports members, leaving out those without marketing
consent unless told otherwise.

Emails, phones and dates of birth are stored encrypted, so SQL cannot judge a filter such as
`email ilike '%@example.com'`: `_Decrypted` answers those conditions in memory (the decrypted
values go into a private in-memory SQLite database, never to disk nor back to the store, and
the condition runs there as compiled) and the segment query gets the ids they hold for.
Members shown and exported are decrypted as they are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import StaticPool

from rolodex.analyze.rfm import RFM_SEGMENTS
from rolodex.exceptions import InputError
from rolodex.model import (
    Contact,
    ContactScore,
    CustomFieldDefinition,
    Order,
    Segment,
    SegmentMember,
    Ticket,
)
from rolodex.model.base import table
from rolodex.pipeline.analytics import VOID_STATUSES
from rolodex.pipeline.consent import granted_contacts, standing_grants
from rolodex.segment.expr import CompiledFilter, Field, compile_filter
from rolodex.share.export import Parts, Transform, write_rows
from rolodex.store.sealed import SEALED, Sealer, sealer_of

RFM_PREFIX = "rfm: "
MARKETING = "marketing"  # consent purposes containing this word allow marketing use

_CONTACT_FIELDS: dict[str, tuple[str, str]] = {
    "first_name": ("text", "first name"),
    "last_name": ("text", "last name"),
    "email": ("text", "primary email"),
    "phone": ("text", "primary phone (E.164)"),
    "company_name": ("text", "company"),
    "job_title": ("text", "job title"),
    "city": ("text", "city"),
    "region": ("text", "region or state code"),
    "postcode": ("text", "postcode"),
    "country": ("text", "country, ISO 3166 alpha-2 (DE, US, ...)"),
    "gender": ("text", "gender"),
    "language": ("text", "language"),
    "lifecycle_stage": ("text", "lifecycle stage (lead, customer, ...)"),
    "owner": ("text", "owner"),
    "birth_date": ("date", "date of birth"),
    "created_at": ("datetime", "when Rolodex first saw the customer"),
}
_SCORE_FIELDS: dict[str, tuple[str, str]] = {
    "rfm_segment": ("text", "RFM segment (Champions, At risk, ...; rolodex analyze rfm)"),
    "r_score": ("number", "RFM recency score 1-5"),
    "f_score": ("number", "RFM frequency score 1-5"),
    "m_score": ("number", "RFM monetary score 1-5"),
    "recency_days": ("number", "days since the last order (RFM)"),
    "p_alive": ("number", "probability the customer is still active (rolodex analyze clv)"),
    "expected_purchases_12m": ("number", "expected purchases in the next 12 months"),
    "clv_12m": ("number", "expected value of the next 12 months (rolodex analyze clv)"),
    "churn_risk": ("number", "churn probability 0-1 (rolodex analyze churn)"),
}


@dataclass(frozen=True)
class SegmentInfo:
    """A segment and what its last refresh did."""

    name: str
    expression: str
    description: str | None
    is_predefined: bool
    members: int
    entered: int = 0  # at the last refresh
    left: int = 0
    refreshed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class ExportSummary:
    """What a segment export wrote and what it left out, and why."""

    path: Path
    written: int
    left_out: int
    purpose: str | None


_CUSTOM_TYPES = {"text": "text", "integer": "number", "number": "number", "boolean": "boolean"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _custom_fields(conn: Connection) -> dict[str, Field]:
    """Contacts' declared custom fields, read out of the JSON column (portably: SQLAlchemy
    renders json_extract on SQLite and ->> on PostgreSQL). Dates are stored as ISO text and
    compare as text ('2024-01-31')."""
    definition = table(CustomFieldDefinition)
    contact = table(Contact)
    rows = conn.execute(
        sa.select(definition.c.name, definition.c.type, definition.c.label).where(
            definition.c.entity == "contact"
        )
    )
    found: dict[str, Field] = {}
    for name, kind, label in rows:
        if not _IDENTIFIER.fullmatch(str(name)):
            continue
        value = contact.c.custom[str(name)]
        typed = _CUSTOM_TYPES.get(str(kind), "text")
        column = {
            "number": value.as_float(),
            "boolean": value.as_boolean(),
        }.get(typed, value.as_string())
        about = f"custom field ({label or name}, {kind})"
        found[str(name)] = Field(str(name), column, typed, about)  # type: ignore[arg-type]
    return found


def _query_base(conn: Connection | None = None) -> _Fields:
    """The join every segment filters, and the fields it offers (the workspace's custom
    fields too when a connection is given; a built-in name wins over a custom one)."""
    contact = table(Contact)
    score = table(ContactScore)
    order = table(Order)
    ticket = table(Ticket)
    paid = sa.func.lower(sa.func.coalesce(order.c.status, "")).not_in(sorted(VOID_STATUSES))
    orders = (
        sa.select(
            order.c.contact_id,
            sa.func.count().label("order_count"),
            sa.func.sum(order.c.total_amount).label("total_spend"),
            sa.func.min(order.c.ordered_at).label("first_order_at"),
            sa.func.max(order.c.ordered_at).label("last_order_at"),
        )
        .where(order.c.contact_id.is_not(None), paid)
        .group_by(order.c.contact_id)
        .subquery("orders")
    )
    tickets = (
        sa.select(
            ticket.c.contact_id,
            sa.func.count().label("ticket_count"),
            sa.func.sum(
                sa.case(
                    (
                        sa.func.lower(sa.func.coalesce(ticket.c.status, "")).in_(
                            ["solved", "closed", "resolved", "done"]
                        ),
                        0,
                    ),
                    else_=1,
                )
            ).label("open_tickets"),
        )
        .where(ticket.c.contact_id.is_not(None))
        .group_by(ticket.c.contact_id)
        .subquery("tickets")
    )
    # Granted, and not overtaken by a later decision for the same purpose (latest wins).
    grants = standing_grants(purpose=MARKETING).subquery("grants")
    granted = sa.select(grants.c.contact_id).where(grants.c.contact_id == contact.c.id).exists()
    joins: dict[str, tuple[sa.FromClause, sa.ColumnElement[bool]]] = {
        "score": (score, score.c.contact_id == contact.c.id),
        "orders": (orders, orders.c.contact_id == contact.c.id),
        "tickets": (tickets, tickets.c.contact_id == contact.c.id),
    }
    fields: dict[str, Field] = {"contact_id": Field("contact_id", contact.c.id, "number")}
    # Names are judged in SQL unless the workspace encrypts them (they are not by default).
    names_sealed = conn is not None and sealer_of(conn).seals("name")
    sealed = {n for n, g in SEALED["contact"].items() if g != "name" or names_sealed}
    for name, (kind, about) in _CONTACT_FIELDS.items():
        fields[name] = Field(
            name,
            contact.c[name],
            kind,  # type: ignore[arg-type]
            about,
            sealed=name in sealed,
        )
    for name, (kind, about) in _SCORE_FIELDS.items():
        fields[name] = Field(name, score.c[name], kind, about)  # type: ignore[arg-type]
    fields["order_count"] = Field(
        "order_count", sa.func.coalesce(orders.c.order_count, 0), "number", "orders placed"
    )
    fields["total_spend"] = Field(
        "total_spend", sa.func.coalesce(orders.c.total_spend, 0), "number", "total order value"
    )
    fields["first_order_at"] = Field(
        "first_order_at", orders.c.first_order_at, "datetime", "first order"
    )
    fields["last_order_at"] = Field(
        "last_order_at", orders.c.last_order_at, "datetime", "most recent order"
    )
    fields["ticket_count"] = Field(
        "ticket_count", sa.func.coalesce(tickets.c.ticket_count, 0), "number", "support tickets"
    )
    fields["open_tickets"] = Field(
        "open_tickets", sa.func.coalesce(tickets.c.open_tickets, 0), "number", "unsolved tickets"
    )
    fields["has_marketing_consent"] = Field(
        "has_marketing_consent", granted, "boolean", "granted consent to a marketing purpose"
    )
    if conn is not None:
        for name, custom in _custom_fields(conn).items():
            if name.lower() not in {f.lower() for f in fields}:
                fields[name] = custom
    needs = dict.fromkeys(_SCORE_FIELDS, "score")
    needs |= dict.fromkeys(
        ("order_count", "total_spend", "first_order_at", "last_order_at"), "orders"
    )
    needs |= dict.fromkeys(("ticket_count", "open_tickets"), "tickets")
    return _Fields(fields=fields, joins=joins, needs=needs)


@dataclass(frozen=True)
class _Fields:
    """The fields, and the join each needs beyond the contact table (joined only when used:
    aggregating every order for a filter on the RFM segment costs seconds)."""

    fields: dict[str, Field]
    joins: dict[str, tuple[sa.FromClause, sa.ColumnElement[bool]]]
    needs: dict[str, str]


def segment_fields(conn: Connection | None = None) -> dict[str, Field]:
    """The fields a segment filter may use, by name (custom fields with a connection)."""
    return _query_base(conn).fields


_BATCH = 10_000  # values decrypted at a time


class _Decrypted:
    """Answers filter conditions on encrypted contact fields on their decrypted values.

    Each condition is run, as compiled, in a private in-memory SQLite database holding the
    current contacts' decrypted values of the fields it reads (loaded on first use, once per
    compile); the segment query gets `contact.id IN (those ids)`. Nothing is decrypted until
    the query runs (the ids are a lazily computed parameter), so checking a filter is free.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sealer: Sealer = sealer_of(conn)
        self.memory: Engine | None = None
        self.loaded: set[str] = set()

    def __call__(self, condition: sa.ColumnElement[bool], fields: tuple[Field, ...]) -> Any:
        columns = tuple(sorted({str(f.column.key) for f in fields}))
        found: list[list[int]] = []

        def ids() -> list[int]:
            if not found:
                found.append(self.ids(condition, columns))
            return found[0]

        return _id_in(table(Contact).c.id, ids, self.conn.dialect.name)

    def ids(self, condition: sa.ColumnElement[bool], columns: tuple[str, ...]) -> list[int]:
        """The current contacts the condition holds for."""
        memory = self._memory()
        for column in columns:
            if column not in self.loaded:
                self._load(memory, column)
                self.loaded.add(column)
        contact = table(Contact)
        with memory.connect() as conn:
            query = sa.select(contact.c.id).where(condition).order_by(contact.c.id)
            return [int(i) for i in conn.execute(query).scalars()]

    def _memory(self) -> Engine:
        if self.memory is None:
            # One connection for the engine's life: the database lives as long as it does.
            engine = sa.create_engine("sqlite://", poolclass=StaticPool)
            event.listen(engine, "connect", _unicode_lower)
            metadata = sa.MetaData()
            sa.Table(
                "contact",
                metadata,
                sa.Column("id", sa.BigInteger, primary_key=True),
                *(sa.Column(name, sa.Text) for name in SEALED["contact"]),
            )
            metadata.create_all(engine)
            self.memory = engine
        return self.memory

    def _load(self, memory: Engine, column: str) -> None:
        """Copy one field's decrypted values of the current contacts into memory."""
        contact = table(Contact)
        kind = SEALED["contact"][column]
        query = (
            sa.select(contact.c.id, contact.c[column])
            .where(contact.c.merged_into_id.is_(None), contact.c[column].is_not(None))
            .execution_options(yield_per=_BATCH)
        )
        upsert = sa.text(
            f"INSERT INTO contact (id, {column}) VALUES (:id, :value)"
            f" ON CONFLICT (id) DO UPDATE SET {column} = excluded.{column}"
        )
        with memory.begin() as target:
            for part in self.conn.execute(query).partitions():
                ids = [int(r[0]) for r in part]
                opened = self.sealer.open(kind, [r[1] for r in part])
                target.execute(
                    upsert,
                    [{"id": i, "value": v} for i, v in zip(ids, opened, strict=True)],
                )


def _unicode_lower(dbapi_connection: Any, _record: Any) -> None:
    """Fold case as PostgreSQL does (SQLite's own lower() folds ASCII letters only)."""
    dbapi_connection.create_function(
        "lower", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True
    )


def _id_in(column: Any, ids: Callable[[], list[int]], dialect: str) -> sa.ColumnElement[bool]:
    """`column IN ids` as one parameter however many ids (computed when the query runs)."""
    if dialect == "postgresql":
        array = sa.bindparam(
            "sealed_ids", callable_=ids, type_=postgresql.ARRAY(sa.BigInteger), unique=True
        )
        return column == sa.any_(array)  # type: ignore[no-any-return]
    listed = sa.bindparam(
        "sealed_ids", callable_=lambda: json.dumps(ids()), type_=sa.Text, unique=True
    )
    values = sa.func.json_each(listed).table_valued("value")
    return column.in_(sa.select(values.c.value))  # type: ignore[no-any-return]


def _compile(expression: str, conn: Connection) -> tuple[sa.Select[tuple[int]], CompiledFilter]:
    base = _query_base(conn)
    compiled = compile_filter(expression, base.fields, judge=_Decrypted(conn))
    contact = table(Contact)
    joined: sa.FromClause = contact
    for join in dict.fromkeys(base.needs[f] for f in compiled.fields_used if f in base.needs):
        target, on = base.joins[join]
        joined = joined.outerjoin(target, on)
    query = (
        sa.select(contact.c.id)
        .select_from(joined)
        .where(contact.c.merged_into_id.is_(None), compiled.where)
    )
    return query, compiled


def _segment(conn: Connection, name: str) -> sa.RowMapping:
    segment = table(Segment)
    row = conn.execute(sa.select(segment).where(segment.c.name == name)).mappings().first()
    if row is None:
        names = conn.execute(sa.select(segment.c.name).order_by(segment.c.name)).scalars().all()
        raise InputError(
            f"no segment {name!r}; segments: {', '.join(names) or 'none yet'}"
            " (`rolodex segment create NAME --where EXPR`)"
        )
    return row


def ensure_rfm_segments(conn: Connection, *, actor: str = "rolodex") -> int:
    """Create the predefined RFM segments that are missing; return how many were made."""
    segment = table(Segment)
    have = set(conn.execute(sa.select(segment.c.name)).scalars())
    made = 0
    for name in RFM_SEGMENTS:
        full = RFM_PREFIX + name
        if full in have:
            continue
        conn.execute(
            segment.insert().values(
                name=full,
                expression=f"rfm_segment = '{name}'",
                description=f"RFM segment {name} (kept up to date by rolodex analyze rfm)",
                is_predefined=True,
                created_by=actor,
                created_at=datetime.now(UTC),
            )
        )
        made += 1
    return made


def refresh_rfm_segments(conn: Connection, *, actor: str) -> list[SegmentInfo]:
    """Make the predefined RFM segments follow the scores just stored by an RFM run."""
    ensure_rfm_segments(conn, actor=actor)
    return [refresh_segment(conn, name=RFM_PREFIX + name) for name in RFM_SEGMENTS]


def create_segment(
    conn: Connection,
    *,
    name: str,
    expression: str,
    description: str | None = None,
    actor: str,
) -> SegmentInfo:
    """Check the filter, save the segment and fill it (its first refresh)."""
    name = name.strip()
    if not name:
        raise InputError("a segment needs a name")
    _, compiled = _compile(expression, conn)
    segment = table(Segment)
    if conn.execute(sa.select(segment.c.id).where(segment.c.name == name)).first():
        raise InputError(f"a segment named {name!r} exists; pick another name")
    conn.execute(
        segment.insert().values(
            name=name,
            expression=compiled.text,
            description=description,
            is_predefined=False,
            created_by=actor,
            created_at=datetime.now(UTC),
        )
    )
    return refresh_segment(conn, name=name)


def refresh_segment(conn: Connection, *, name: str) -> SegmentInfo:
    """Recompute a segment's members: open a stay for each newcomer, close those who left."""
    row = _segment(conn, name)
    query, _ = _compile(str(row["expression"]), conn)
    now = datetime.now(UTC)
    current = set(conn.execute(query).scalars())
    member = table(SegmentMember)
    open_rows = conn.execute(
        sa.select(member.c.id, member.c.contact_id).where(
            member.c.segment_id == row["id"], member.c.left_at.is_(None)
        )
    ).all()
    held = {int(contact): int(stay) for stay, contact in open_rows}
    left = [held[c] for c in held.keys() - current]
    entered = sorted(current - held.keys())
    for start in range(0, len(left), 500):
        conn.execute(
            member.update().where(member.c.id.in_(left[start : start + 500])).values(left_at=now)
        )
    if entered:
        conn.execute(
            member.insert(),
            [
                {"segment_id": row["id"], "contact_id": c, "entered_at": now, "left_at": None}
                for c in entered
            ],
        )
    segment = table(Segment)
    conn.execute(
        segment.update()
        .where(segment.c.id == row["id"])
        .values(refreshed_at=now, member_count=len(current), updated_at=now)
    )
    return SegmentInfo(
        name=str(row["name"]),
        expression=str(row["expression"]),
        description=row["description"],
        is_predefined=bool(row["is_predefined"]),
        members=len(current),
        entered=len(entered),
        left=len(left),
        refreshed_at=now,
    )


def refresh_all(conn: Connection) -> list[SegmentInfo]:
    """Refresh every segment (the predefined RFM ones included)."""
    ensure_rfm_segments(conn)
    segment = table(Segment)
    names = conn.execute(sa.select(segment.c.name).order_by(segment.c.id)).scalars().all()
    return [refresh_segment(conn, name=str(n)) for n in names]


def list_segments(conn: Connection) -> list[SegmentInfo]:
    """Every segment with its member count at the last refresh."""
    segment = table(Segment)
    rows = conn.execute(sa.select(segment).order_by(segment.c.is_predefined, segment.c.name))
    return [
        SegmentInfo(
            name=str(r["name"]),
            expression=str(r["expression"]),
            description=r["description"],
            is_predefined=bool(r["is_predefined"]),
            members=int(r["member_count"] or 0),
            refreshed_at=r["refreshed_at"],
        )
        for r in rows.mappings()
    ]


def show_segment(conn: Connection, *, name: str, limit: int = 20) -> dict[str, Any]:
    """A segment, its current members (first `limit`) and its membership history."""
    row = _segment(conn, name)
    member = table(SegmentMember)
    contact = table(Contact)
    members = conn.execute(
        sa.select(
            contact.c.id,
            contact.c.first_name,
            contact.c.last_name,
            contact.c.email,
            contact.c.country,
            member.c.entered_at,
        )
        .join(contact, contact.c.id == member.c.contact_id)
        .where(member.c.segment_id == row["id"], member.c.left_at.is_(None))
        .order_by(member.c.entered_at, contact.c.id)
        .limit(limit)
    ).mappings()
    events: dict[str, dict[str, int]] = {}
    for when, column in (("entered", member.c.entered_at), ("left", member.c.left_at)):
        counts = conn.execute(
            sa.select(column, sa.func.count())
            .where(member.c.segment_id == row["id"], column.is_not(None))
            .group_by(column)
        )
        for at, n in counts:
            stamp = at.isoformat() if isinstance(at, datetime) else str(at)
            events.setdefault(stamp, {"entered": 0, "left": 0})[when] = int(n)
    return {
        "name": row["name"],
        "expression": row["expression"],
        "description": row["description"],
        "is_predefined": bool(row["is_predefined"]),
        "members": int(row["member_count"] or 0),
        "refreshed_at": row["refreshed_at"],
        "sample": sealer_of(conn).open_rows("contact", [dict(m) for m in members]),
        "history": [{"at": at, **counts} for at, counts in sorted(events.items())],
    }


_EXPORT_COLUMNS = (
    "contact_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company_name",
    "country",
    "rfm_segment",
    "clv_12m",
    "churn_risk",
    "entered_at",
)


def export_segment(
    conn: Connection,
    *,
    name: str,
    out: Path,
    purpose: str | None = MARKETING,
    everyone: bool = False,
    transform: Transform | None = None,
) -> ExportSummary:
    """Write a segment's current members to CSV.

    For a marketing export (`purpose`, the default) members whose latest consent for a
    purpose naming it is not "granted" are left out, and counted, unless `everyone` is set:
    a withdrawal after a grant wins. `transform` applies the caller's field permissions.
    """
    row = _segment(conn, name)
    member, contact, score = (table(m) for m in (SegmentMember, Contact, ContactScore))
    query = (
        sa.select(
            contact.c.id.label("contact_id"),
            contact.c.first_name,
            contact.c.last_name,
            contact.c.email,
            contact.c.phone,
            contact.c.company_name,
            contact.c.country,
            score.c.rfm_segment,
            score.c.clv_12m,
            score.c.churn_risk,
            member.c.entered_at,
        )
        .join(contact, contact.c.id == member.c.contact_id)
        .outerjoin(score, score.c.contact_id == contact.c.id)
        .where(member.c.segment_id == row["id"], member.c.left_at.is_(None))
        .order_by(contact.c.id)
    )
    rows = sealer_of(conn).open_rows("contact", [dict(r) for r in conn.execute(query).mappings()])
    allowed: set[int] | None = None
    if purpose and not everyone:
        allowed = granted_contacts(conn, purpose=purpose)
    kept = [r for r in rows if allowed is None or int(r["contact_id"]) in allowed]
    out.parent.mkdir(parents=True, exist_ok=True)
    columns: list[str] = list(_EXPORT_COLUMNS)
    parts: Parts = iter([[tuple(r[c] for c in _EXPORT_COLUMNS) for r in kept]])
    if transform is not None:
        columns, parts = transform(columns, parts)
    write_rows(out, columns, parts)
    return ExportSummary(
        path=out,
        written=len(kept),
        left_out=len(rows) - len(kept),
        purpose=None if everyone else purpose,
    )
