"""Companies and the records tied to customers (orders, interactions, tickets, consents,
deals) for the HTTP API: filtered lists with keyset pagination and single records.

SQLAlchemy Core over one connection, results as JSON-ready dicts. Permissions are not
decided here: the workspace passes the acting user's row scope as `where` and shapes the
answer; this module only reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection

from rolodex.exceptions import InputError, NotFoundError
from rolodex.model import Company, Consent, Contact, Deal, Interaction, Order, OrderLine, Ticket
from rolodex.model.base import table
from rolodex.pipeline.contacts_read import Page, decode_cursor, encode_cursor, plain
from rolodex.secure.permissions import Family

__all__ = [
    "MAX_LIMIT",
    "RECORD_KINDS",
    "Page",
    "RecordKind",
    "RecordType",
    "company",
    "consent_history",
    "list_companies",
    "list_records",
    "order",
    "record_type",
]

MAX_LIMIT: Final = 1000
CONTACT_IDS: Final = 100
"""How many contact ids a company answer lists at most (the count is always exact)."""
HISTORY: Final = 1000
"""How many consent decisions a contact's history answer holds at most (newest first)."""

_COMPANY = table(Company)
_CONTACT = table(Contact)
_CONSENT = table(Consent)
_LINE = table(OrderLine)

RecordKind = Literal["orders", "interactions", "tickets", "consents", "deals"]
RECORD_KINDS: Final[tuple[RecordKind, ...]] = get_args(RecordKind)


@dataclass(frozen=True)
class RecordType:
    """One kind of customer record: its table, permission family, audit entity name and the
    column `since`/`until` compare against."""

    kind: RecordKind
    table: sa.Table
    family: Family
    entity: str
    when: str

    @property
    def owner_column(self) -> sa.Column[Any] | None:
        """The row's own owner column, when it has one (deals)."""
        return self.table.c.get("owner")


_TYPES: Final[Mapping[RecordKind, RecordType]] = {
    "orders": RecordType("orders", table(Order), "orders", "order", "ordered_at"),
    "interactions": RecordType(
        "interactions", table(Interaction), "interactions", "interaction", "occurred_at"
    ),
    "tickets": RecordType("tickets", table(Ticket), "tickets", "ticket", "opened_at"),
    "consents": RecordType("consents", _CONSENT, "consents", "consent", "occurred_at"),
    # A deal's own dates: when it is expected to close (a date, compared by day).
    "deals": RecordType("deals", table(Deal), "deals", "deal", "expected_close_date"),
}


def record_type(kind: str) -> RecordType:
    """Return the record type called `kind`.

    Raises:
        InputError: no such kind.
    """
    found = _TYPES.get(kind)  # type: ignore[call-overload]
    if found is None:
        raise InputError(f"unknown record kind {kind!r}; kinds: {', '.join(RECORD_KINDS)}")
    assert isinstance(found, RecordType)
    return found


def _dicts(conn: Connection, query: sa.Select[Any]) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in r.items()} for r in conn.execute(query).mappings()]


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}", column="limit")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _page(
    conn: Connection,
    tbl: sa.Table,
    conditions: list[ColumnElement[bool]],
    *,
    after: str | None,
    limit: int,
    filters: dict[str, str],
) -> Page:
    """Read one id-ordered page of `tbl` matching `conditions`."""
    _check_limit(limit)
    if after is not None:
        conditions = [*conditions, tbl.c.id > decode_cursor(after)]
    rows = _dicts(conn, sa.select(tbl).where(*conditions).order_by(tbl.c.id).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=rows,
        next_cursor=encode_cursor(int(rows[-1]["id"])) if more and rows else None,
        limit=limit,
        filters=filters,
    )


# --- companies ------------------------------------------------------------------------------


def list_companies(
    conn: Connection,
    *,
    name: str | None = None,
    domain: str | None = None,
    country: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page:
    """List current companies in id order, a page at a time.

    Args:
        name: a case-insensitive prefix of the name.
        domain: the web domain, exactly (case does not matter).
        country: the country as stored (an ISO code after cleaning), case-insensitive.
        after: the previous page's `next_cursor`.
        limit: companies per page (1 to 1000).

    Raises:
        InputError: a bad cursor or limit, or an empty filter value.
    """
    conditions: list[ColumnElement[bool]] = [_COMPANY.c.merged_into_id.is_(None)]
    filters: dict[str, str] = {}
    for key, value in (("name", name), ("domain", domain), ("country", country)):
        if value is None:
            continue
        text = value.strip()
        if not text:
            raise InputError(f"an empty {key} filter matches nothing; leave it out", column=key)
        filters[key] = text
    if "name" in filters:
        conditions.append(_COMPANY.c.name.ilike(_like_prefix(filters["name"]), escape="\\"))
    if "domain" in filters:
        wanted = filters["domain"].lower().removeprefix("www.")
        conditions.append(sa.func.lower(_COMPANY.c.domain) == wanted)
    if "country" in filters:
        conditions.append(sa.func.upper(_COMPANY.c.country) == filters["country"].upper())
    return _page(conn, _COMPANY, conditions, after=after, limit=limit, filters=filters)


def company(
    conn: Connection,
    *,
    company_id: int,
    contacts_where: ColumnElement[bool] | None = None,
    list_contacts: bool = True,
    contacts_limit: int = CONTACT_IDS,
) -> dict[str, Any]:
    """One company (a merged-away id answers with its survivor) with how many current
    contacts work there and, when `list_contacts`, the first `contacts_limit` of their ids.

    Args:
        contacts_where: a condition on the contact table (the caller's row scope): only
            those contacts are counted and listed.

    Raises:
        NotFoundError: no company has that id.
    """
    asked, cid = company_id, company_id
    seen: set[int] = set()
    while True:
        found = _dicts(conn, sa.select(_COMPANY).where(_COMPANY.c.id == cid))
        if not found or cid in seen:
            raise NotFoundError(f"there is no company {asked}")
        row = found[0]
        if row["merged_into_id"] is None:
            break
        seen.add(cid)
        cid = int(row["merged_into_id"])
    conditions: list[ColumnElement[bool]] = [
        _CONTACT.c.company_id == cid,
        _CONTACT.c.merged_into_id.is_(None),
    ]
    if contacts_where is not None:
        conditions.append(contacts_where)
    count = conn.execute(
        sa.select(sa.func.count()).select_from(_CONTACT).where(*conditions)
    ).scalar_one()
    row["requested_id"] = asked
    row["merged_into"] = cid if cid != asked else None
    row["contacts_count"] = int(count)
    row["contact_ids"] = (
        [
            int(i)
            for i in conn.execute(
                sa.select(_CONTACT.c.id)
                .where(*conditions)
                .order_by(_CONTACT.c.id)
                .limit(contacts_limit)
            ).scalars()
        ]
        if list_contacts
        else None
    )
    return row


# --- records tied to customers --------------------------------------------------------------


def list_records(
    conn: Connection,
    kind: RecordType,
    *,
    contact_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: str | None = None,
    limit: int = 50,
    where: ColumnElement[bool] | None = None,
) -> Page:
    """List records of one kind in id order, a page at a time.

    Args:
        kind: which records (`record_type("orders")`, ...).
        contact_id: only this golden contact's records.
        since: only records at or after this moment (naive: UTC); by day for deals.
        until: only records before this moment (naive: UTC); by day for deals.
        after: the previous page's `next_cursor`.
        limit: records per page (1 to 1000).
        where: an extra condition on the record table (the caller's row scope).

    Raises:
        InputError: a bad cursor or limit, or `until` not after `since`.
    """
    tbl = kind.table
    conditions: list[ColumnElement[bool]] = []
    filters: dict[str, str] = {}
    if contact_id is not None:
        conditions.append(tbl.c.contact_id == contact_id)
        filters["contact_id"] = str(contact_id)
    start = None if since is None else _utc(since)
    end = None if until is None else _utc(until)
    if start is not None and end is not None and end <= start:
        raise InputError("until must be later than since", column="until")
    when = tbl.c[kind.when]
    by_day = isinstance(when.type, sa.Date)
    if start is not None:
        conditions.append(when >= (start.date() if by_day else start))
        filters["since"] = start.isoformat()
    if end is not None:
        conditions.append(when < (end.date() if by_day else end))
        filters["until"] = end.isoformat()
    if where is not None:
        conditions.append(where)
    return _page(conn, tbl, conditions, after=after, limit=limit, filters=filters)


def order(
    conn: Connection, *, order_id: int, where: ColumnElement[bool] | None = None
) -> dict[str, Any]:
    """One order with its line items (in line order).

    Raises:
        NotFoundError: no order has that id (or `where` hides it).
    """
    tbl = _TYPES["orders"].table
    conditions: list[ColumnElement[bool]] = [tbl.c.id == order_id]
    if where is not None:
        conditions.append(where)
    found = _dicts(conn, sa.select(tbl).where(*conditions))
    if not found:
        raise NotFoundError(f"there is no order {order_id}")
    row = found[0]
    row["lines"] = _dicts(
        conn,
        sa.select(_LINE.c.id, _LINE.c.sku, _LINE.c.name, _LINE.c.quantity, _LINE.c.unit_price)
        .where(_LINE.c.order_id == order_id)
        .order_by(_LINE.c.id),
    )
    return row


def consent_history(
    conn: Connection,
    *,
    contact_id: int,
    where: ColumnElement[bool] | None = None,
    limit: int = HISTORY,
) -> dict[str, Any]:
    """A contact's consents: the decision in force per purpose, and the history.

    The latest decision per purpose (case-insensitive) wins, by when it was made (else when
    it was recorded), then by id: the same rule the marketing export applies.

    Args:
        contact_id: a golden contact (a merged-away id answers with its survivor's).
        where: a condition on the contact table (the caller's row scope).
        limit: how many decisions of the history to return, newest first.

    Raises:
        NotFoundError: no contact has that id (or `where` hides it).
    """
    from rolodex.pipeline.contacts_read import get_contact_row

    row, merged_from = get_contact_row(conn, contact_id)
    cid = int(row["id"])
    if where is not None:
        visible = conn.execute(sa.select(_CONTACT.c.id).where(_CONTACT.c.id == cid, where))
        if visible.first() is None:
            raise NotFoundError(f"there is no contact {contact_id}")
    moment = sa.func.coalesce(_CONSENT.c.occurred_at, _CONSENT.c.created_at)
    rows = _dicts(
        conn,
        sa.select(_CONSENT)
        .where(_CONSENT.c.contact_id == cid)
        .order_by(moment.desc(), _CONSENT.c.id.desc()),
    )
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:  # newest first: the first one seen per purpose is in force
        latest.setdefault(str(r["purpose"]).strip().lower(), r)
    return {
        "contact_id": cid,
        "requested_id": contact_id,
        "merged_into": cid if merged_from is not None else None,
        "latest": [latest[p] for p in sorted(latest)],
        "history": rows[:limit],
        "history_count": len(rows),
    }
