"""Reading golden contacts for the HTTP API: filtered lists with keyset pagination, search
by email, phone, name or company, and the 360° view of one customer.

Everything is SQLAlchemy Core with bound parameters over one connection; results are plain
dicts (or a `Page` with `to_dict()`) ready for JSON. Merged-away contacts are never listed;
asked for by id they answer with the contact that holds their records now.

Emails, phones, streets and dates of birth are stored encrypted (`rolodex.store.sealed`):
exact lookups go through their blind indexes, every row is decrypted in memory as it is
read, and the one filter SQL cannot judge on tokens (`email_domain`) is judged in Python.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection

from rolodex.clean.base import Flag
from rolodex.clean.email import standardize_email
from rolodex.clean.names import name_key, surname_key
from rolodex.clean.phone import standardize_phone
from rolodex.exceptions import InputError, NotFoundError
from rolodex.model import (
    Company,
    Consent,
    Contact,
    ContactLink,
    ContactPoint,
    ContactRecord,
    ContactScore,
    Interaction,
    Order,
    Segment,
    SegmentMember,
    Source,
    SourceRecord,
    Ticket,
)
from rolodex.model.base import table
from rolodex.store.sealed import Sealer, sealer_of

__all__ = [
    "CONTACT",
    "FILTERS",
    "Page",
    "contact_360",
    "contact_dict",
    "etag",
    "get_contact_row",
    "list_contacts",
    "search_contacts",
]

CONTACT: Final = table(Contact)
"""The golden contact table: what a caller's `where` clause (a permission scope) refers to."""

_POINT = table(ContactPoint)
_LINK = table(ContactLink)
_RECORD = table(SourceRecord)
_VIEW = table(ContactRecord)
_SOURCE = table(Source)
_COMPANY = table(Company)
_ORDER = table(Order)
_TICKET = table(Ticket)
_INTERACTION = table(Interaction)
_CONSENT = table(Consent)
_SEGMENT = table(Segment)
_MEMBER = table(SegmentMember)
_SCORE = table(ContactScore)

_TEXT_FILTERS: Final = (
    "country",
    "city",
    "region",
    "postcode",
    "lifecycle_stage",
    "owner",
    "language",
    "last_name",
    "company_name",
)
FILTERS: Final = (
    *_TEXT_FILTERS,
    "company_id",
    "created_since",
    "updated_since",
    "segment",
    "email_domain",
)
"""Filter fields `list_contacts` understands. Text fields match exactly, or by prefix when
the value ends with `*` ("Ber*"); `*_since` take an ISO date or timestamp (UTC unless it
says otherwise); `segment` is a segment name; `email_domain` the part after the @."""

MAX_LIMIT: Final = 1000
_SCAN: Final = 2000  # contacts decrypted per batch when a filter is judged in Python
_CURSOR_PREFIX: Final = "c1:"
_LATEST: Final = 50
_PHONE_TEXT = re.compile(r"^\+?[0-9 ()./\-]{6,30}$")


def plain(value: Any) -> Any:
    """Render a stored value for JSON: times in UTC ISO form, dates ISO, the rest as is."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def etag(row: Mapping[str, Any]) -> str:
    """Return a strong ETag (quoted) for a golden contact row: a hash of every column value.

    Any change to the contact, its golden values, lineage, company or merge state, gives a
    new tag, so an update carrying an older one is refused instead of overwriting silently.
    """
    values = [plain(row[c.name]) for c in CONTACT.columns]
    body = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def contact_dict(row: Mapping[str, Any], *, lineage: bool = False) -> dict[str, Any]:
    """Return a golden contact row as a JSON-ready dict with its ETag."""
    out = {c.name: plain(row[c.name]) for c in CONTACT.columns if c.name != "lineage" or lineage}
    out["etag"] = etag(row)
    return out


def get_contact_row(
    conn: Connection,
    contact_id: int,
    *,
    follow: bool = True,
    query: sa.Select[Any] | None = None,
) -> tuple[dict[str, Any], int | None]:
    """Return the contact row (following merged-away ids to their survivor when `follow`)
    and the id it was merged from, if any. `query` selects the row by `:id` with more
    columns (the 360° view's presence flags).

    Raises:
        NotFoundError: no contact has that id.
    """
    asked = contact_id
    seen: set[int] = set()
    while True:
        statement = _BY_ID if query is None else query
        row = conn.execute(statement, {"id": contact_id}).mappings().first()
        if row is None:
            raise NotFoundError(f"there is no contact {asked}")
        merged = row["merged_into_id"]
        if not follow or merged is None or contact_id in seen:
            opened = sealer_of(conn).open_row("contact", dict(row))
            return opened, (asked if contact_id != asked else None)
        seen.add(contact_id)
        contact_id = int(merged)


# --- list --------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of rows (contacts, orders, ...) and the cursor of the next one (None on the
    last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    limit: int
    filters: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the page as a JSON-ready dict."""
        return {
            "items": self.items,
            "next_cursor": self.next_cursor,
            "limit": self.limit,
            "filters": self.filters,
        }


def encode_cursor(last_id: int) -> str:
    """Return the opaque cursor that continues after contact `last_id`."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the contact id a cursor continues after.

    Raises:
        InputError: the cursor is not one this module made.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InputError("invalid cursor", column="after") from exc
    if not raw.startswith(_CURSOR_PREFIX) or not raw[len(_CURSOR_PREFIX) :].isdigit():
        raise InputError("invalid cursor", column="after")
    return int(raw[len(_CURSOR_PREFIX) :])


def _like_escape(text: str) -> str:
    """Escape LIKE wildcards so the text matches literally (escape character backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_condition(column: sa.ColumnElement[Any], value: str) -> ColumnElement[bool]:
    if value.endswith("*"):
        prefix = value[:-1]
        return column.ilike(_like_escape(prefix) + "%", escape="\\")
    return column == value


def _since(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{value!r} is not an ISO date or timestamp", column=name) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def filter_conditions(
    filters: Mapping[str, str], *, sealed_names: bool = False
) -> list[ColumnElement[bool]]:
    """Translate API filters into conditions on the golden contact table (`email_domain`
    is left out: emails are encrypted, `decrypted_filter` gives what Python judges instead;
    so is `last_name` when names are encrypted).

    Raises:
        InputError: an unknown filter field or a value of the wrong form.
    """
    out: list[ColumnElement[bool]] = []
    for name, raw in filters.items():
        value = str(raw)
        if name == "last_name" and sealed_names:
            continue  # judged on decrypted names
        if name in _TEXT_FILTERS:
            out.append(_text_condition(CONTACT.c[name], value))
        elif name == "company_id":
            if not value.strip().isdigit():
                raise InputError(f"{value!r} is not a company id", column=name)
            out.append(CONTACT.c.company_id == int(value))
        elif name in ("created_since", "updated_since"):
            column = CONTACT.c.created_at if name == "created_since" else CONTACT.c.updated_at
            out.append(column >= _since(name, value))
        elif name == "segment":
            out.append(
                sa.exists(
                    sa.select(_MEMBER.c.id)
                    .join(_SEGMENT, _SEGMENT.c.id == _MEMBER.c.segment_id)
                    .where(
                        _SEGMENT.c.name == value,
                        _MEMBER.c.contact_id == CONTACT.c.id,
                        _MEMBER.c.left_at.is_(None),
                    )
                )
            )
        elif name == "email_domain":
            email_domain_of(filters)  # checked here, judged on decrypted emails
        else:
            raise InputError(
                f"unknown filter {name!r}; filters are: {', '.join(FILTERS)}", column=name
            )
    return out


def email_domain_of(filters: Mapping[str, str]) -> str | None:
    """The `email_domain` filter's domain, lowercased and without a leading @ (None: none).

    Raises:
        InputError: the filter is given without a domain.
    """
    if "email_domain" not in filters:
        return None
    domain = str(filters["email_domain"]).strip().lower().lstrip("@")
    if not domain:
        raise InputError("an email domain is needed", column="email_domain")
    return domain


def _in_domain(email: Any, domain: str) -> bool:
    """Whether a decrypted email ends with @domain, ignoring case (as ILIKE '%@domain')."""
    return isinstance(email, str) and email.lower().endswith("@" + domain)


def _text_matches(value: Any, wanted: str) -> bool:
    """`_text_condition` judged in Python: equal, or a prefix ignoring case with a `*`."""
    if not isinstance(value, str):
        return False
    if wanted.endswith("*"):
        return value.lower().startswith(wanted[:-1].lower())
    return value == wanted


Judge = Callable[[Mapping[str, Any]], bool]


def decrypted_filter(filters: Mapping[str, str], sealer: Sealer) -> Judge | None:
    """The filters SQL cannot judge on tokens, as one test of a decrypted contact row:
    `email_domain`, and `last_name` when names are encrypted (None: no such filter)."""
    tests: list[Judge] = []
    domain = email_domain_of(filters)
    if domain is not None:
        tests.append(lambda row: _in_domain(row["email"], domain))
    if "last_name" in filters and sealer.seals("name"):
        last = str(filters["last_name"])
        tests.append(lambda row: _text_matches(row["last_name"], last))
    if not tests:
        return None
    return lambda row: all(test(row) for test in tests)


def _scan(
    conn: Connection,
    conditions: list[ColumnElement[bool]],
    judge: Judge,
    wanted: int,
    sealer: Sealer,
) -> list[dict[str, Any]]:
    """The first `wanted` contacts (id order) meeting `conditions` and `judge`: tokens cannot
    be matched in SQL, so batches are decrypted and judged here."""
    query = sa.select(CONTACT).where(*conditions).order_by(CONTACT.c.id).limit(_SCAN)
    found: list[dict[str, Any]] = []
    last: int | None = None
    while len(found) < wanted:
        batch = query if last is None else query.where(CONTACT.c.id > last)
        rows = conn.execute(batch).mappings().all()
        if not rows:
            break
        opened = sealer.open_rows("contact", [dict(r) for r in rows])
        found += [r for r in opened if judge(r)]
        last = int(rows[-1]["id"])
        if len(rows) < _SCAN:
            break
    return found[:wanted]


def list_contacts(
    conn: Connection,
    *,
    filters: Mapping[str, str] | None = None,
    after: str | None = None,
    limit: int = 50,
    where: ColumnElement[bool] | None = None,
) -> Page:
    """List current golden contacts in id order, a page at a time.

    Args:
        conn: an open connection.
        filters: field -> value; see `FILTERS` for the fields and their semantics.
        after: the cursor of the previous page's `next_cursor`.
        limit: contacts per page (1 to 1000).
        where: an extra condition on `CONTACT` (the caller's row-level permission scope).

    Returns:
        The page; its `next_cursor` is None when no contact follows.

    Raises:
        InputError: an unknown filter, a bad value, a bad cursor or limit.

    Examples:
        >>> page = list_contacts(conn, filters={"country": "DE", "city": "Ber*"}, limit=2)
        >>> list_contacts(conn, filters={"country": "DE"}, after=page.next_cursor)
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}", column="limit")
    sealer = sealer_of(conn)
    conditions = [
        CONTACT.c.merged_into_id.is_(None),
        *filter_conditions(filters or {}, sealed_names=sealer.seals("name")),
    ]
    if after is not None:
        conditions.append(CONTACT.c.id > decode_cursor(after))
    if where is not None:
        conditions.append(where)
    judge = decrypted_filter(filters or {}, sealer)
    if judge is not None:
        rows = _scan(conn, conditions, judge, limit + 1, sealer)
    else:
        query = sa.select(CONTACT).where(*conditions).order_by(CONTACT.c.id).limit(limit + 1)
        rows = sealer.open_rows("contact", [dict(r) for r in conn.execute(query).mappings()])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=[contact_dict(r) for r in rows],
        next_cursor=encode_cursor(int(rows[-1]["id"])) if more and rows else None,
        limit=limit,
        filters={k: str(v) for k, v in (filters or {}).items()},
    )


# --- search ------------------------------------------------------------------------------


def classify_query(q: str, *, region: str | None = None) -> tuple[str, str]:
    """Tell what a search text is: ("email", address), ("phone", E.164) or ("name", text)."""
    text = q.strip()
    if "@" in text and " " not in text:
        email = standardize_email(text)
        if email.value is not None and email.flag is not Flag.INVALID:
            return "email", email.value
    if _PHONE_TEXT.fullmatch(text) and sum(ch.isdigit() for ch in text) >= 6:
        phone = standardize_phone(text, region=region)
        if phone.key is not None:
            return "phone", phone.key
    return "name", text


_BY_EMAIL = (
    sa.select(CONTACT)
    .where(
        CONTACT.c.merged_into_id.is_(None),
        CONTACT.c.id.in_(
            sa.select(_POINT.c.contact_id).where(
                _POINT.c.kind == "email", _POINT.c.value_index == sa.bindparam("ix")
            )
        ),
    )
    .order_by(CONTACT.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def _point_holders(kind: str, index: str | None) -> sa.Select[tuple[int]]:
    """Contacts with a point of `kind` whose blind index is `index` (emails and phones)."""
    return sa.select(_POINT.c.contact_id).where(
        _POINT.c.kind == kind, _POINT.c.value_index == index
    )


def _contact_dicts(sealer: Sealer, rows: Any) -> list[dict[str, Any]]:
    """Stored contact rows as JSON-ready dicts, decrypted (ETags on the plain values)."""
    return [contact_dict(r) for r in sealer.open_rows("contact", [dict(r) for r in rows])]


def search_contacts_by_email(
    conn: Connection, *, value: str, limit: int, where: ColumnElement[bool] | None
) -> list[dict[str, Any]]:
    """Contacts holding this email point (through its blind index: trimmed, any case)."""
    sealer = sealer_of(conn)
    index = sealer.email_index(value)
    if where is None:
        rows = conn.execute(_BY_EMAIL, {"ix": index, "limit": limit}).mappings().all()
    else:
        query = sa.select(CONTACT).where(
            CONTACT.c.merged_into_id.is_(None),
            CONTACT.c.id.in_(_point_holders("email", index)),
            where,
        )
        rows = conn.execute(query.order_by(CONTACT.c.id).limit(limit)).mappings().all()
    return _contact_dicts(sealer, rows)


def search_contacts(
    conn: Connection,
    *,
    q: str,
    limit: int = 20,
    where: ColumnElement[bool] | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Find current contacts by email, phone, name or company.

    An email is looked up exactly among every contact's email points (indexed); a phone is
    standardized to E.164 (national numbers read in `region`) and looked up exactly among
    the phone points and the records' phone keys; any other text is a case-insensitive
    prefix of the last, first or full name or the company name ("Jane Do" also matches
    first name "Jane" with last name "Do..."). Where names are encrypted, a name is found
    only whole: first and last name, in either order, through their blind index.

    Returns:
        {"q", "kind" (email | phone | name), "items": [contact dicts]}.

    Raises:
        InputError: an empty query or a bad limit.
    """
    if not q or not q.strip():
        raise InputError("a search text is needed", column="q")
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}", column="limit")
    kind, value = classify_query(q, region=region)
    if kind == "name" and ("@" in value or "(at)" in value.lower()):
        # A malformed address is stored as given (flagged): look for it exactly first,
        # which the email index answers at once (in any case), before a name search scans.
        kind, value = "email", value.strip()
        found = search_contacts_by_email(conn, value=value, limit=limit, where=where)
        if found or "@" in value:
            return {"q": q, "kind": kind, "items": found}
        kind, value = classify_query(q, region=region)
    if kind == "email":
        # The most common lookup: one statement built once, the email index.
        found = search_contacts_by_email(conn, value=value, limit=limit, where=where)
        return {"q": q, "kind": kind, "items": found}
    sealer = sealer_of(conn)
    if kind == "phone":
        # Every phone point and the records' first phone, both through the blind index.
        index = sealer.phone_index(value)
        records = (
            sa.select(_LINK.c.contact_id)
            .join(_VIEW, _VIEW.c.source_record_id == _LINK.c.source_record_id)
            .where(_VIEW.c.phone_index == index)
        )
        condition: ColumnElement[bool] = sa.or_(
            CONTACT.c.id.in_(_point_holders("phone", index)), CONTACT.c.id.in_(records)
        )
    elif sealer.seals("name"):
        condition = _sealed_name_condition(value, sealer)
    else:
        condition = _name_condition(value)
    conditions = [CONTACT.c.merged_into_id.is_(None), condition]
    if where is not None:
        conditions.append(where)
    rows = (
        conn.execute(sa.select(CONTACT).where(*conditions).order_by(CONTACT.c.id).limit(limit))
        .mappings()
        .all()
    )
    return {"q": q, "kind": kind, "items": _contact_dicts(sealer, rows)}


def _name_condition(text: str) -> ColumnElement[bool]:
    """Case-insensitive prefix on the name fields and the company name."""

    def prefix(column: sa.ColumnElement[Any], value: str) -> ColumnElement[bool]:
        return column.ilike(_like_escape(value) + "%", escape="\\")

    text = " ".join(text.split())
    options = [
        prefix(CONTACT.c.last_name, text),
        prefix(CONTACT.c.first_name, text),
        prefix(CONTACT.c.full_name, text),
        prefix(CONTACT.c.company_name, text),
    ]
    words = text.split(" ")
    if len(words) == 2:
        first, last = words
        options.append(
            sa.and_(
                CONTACT.c.first_name.ilike(_like_escape(first), escape="\\"),
                prefix(CONTACT.c.last_name, last),
            )
        )
        options.append(
            sa.and_(
                CONTACT.c.last_name.ilike(_like_escape(first), escape="\\"),
                prefix(CONTACT.c.first_name, last),
            )
        )
    return sa.or_(*options)


def _sealed_name_condition(text: str, sealer: Sealer) -> ColumnElement[bool]:
    """Encrypted names: a first and last name (either order, nicknames folded as matching
    folds them) found exactly through the records' name index; a company name prefix."""
    company = CONTACT.c.company_name.ilike(_like_escape(" ".join(text.split())) + "%", escape="\\")
    words = text.split()
    indexes = set()
    if len(words) >= 2:
        for first, last in ((words[0], words[-1]), (words[-1], words[0])):
            first_key, last_key = name_key(first), surname_key(last)
            if (index := sealer.name_index(last_key, first_key)) is not None:
                indexes.add(index)
    if not indexes:
        return company
    records = (
        sa.select(_LINK.c.contact_id)
        .join(_VIEW, _VIEW.c.source_record_id == _LINK.c.source_record_id)
        .where(_VIEW.c.name_index.in_(sorted(indexes)))
    )
    return sa.or_(company, CONTACT.c.id.in_(records))


# --- the 360° view ---------------------------------------------------------------------
# Each statement is built once: building and keying a select costs more than running it on
# an indexed lookup, and the view runs a dozen of them per request.

_CID = sa.bindparam("cid", type_=sa.Integer)
_BY_ID = sa.select(CONTACT).where(CONTACT.c.id == sa.bindparam("id", type_=sa.Integer))
_POINTS = (
    sa.select(
        _POINT.c.id,
        _POINT.c.kind,
        _POINT.c.label,
        _POINT.c.value,
        _POINT.c.is_primary,
        _POINT.c.street,
        _POINT.c.street2,
        _POINT.c.city,
        _POINT.c.region,
        _POINT.c.postcode,
        _POINT.c.country,
        _POINT.c.source_record_id,
    )
    .where(_POINT.c.contact_id == _CID)
    .order_by(_POINT.c.kind, _POINT.c.is_primary.desc(), _POINT.c.id)
)
_COMPANY_BY_ID = sa.select(_COMPANY).where(_COMPANY.c.id == sa.bindparam("id", type_=sa.Integer))
_ORDERS_LATEST = (
    sa.select(
        _ORDER.c.id,
        _ORDER.c.external_id,
        _ORDER.c.ordered_at,
        _ORDER.c.total_amount,
        _ORDER.c.currency,
        _ORDER.c.quantity,
        _ORDER.c.status,
        _ORDER.c.source_record_id,
    )
    .where(_ORDER.c.contact_id == _CID)
    .order_by(_ORDER.c.ordered_at.desc().nulls_last(), _ORDER.c.id.desc())
    .limit(_LATEST)
)
_ORDER_TOTALS = (
    sa.select(
        _ORDER.c.currency,
        sa.func.count(),
        sa.func.sum(_ORDER.c.total_amount),
        sa.func.min(_ORDER.c.ordered_at),
        sa.func.max(_ORDER.c.ordered_at),
    )
    .where(_ORDER.c.contact_id == _CID)
    .group_by(_ORDER.c.currency)
)


def _latest_with_count(tbl: sa.Table, when: sa.Column[Any]) -> sa.Select[Any]:
    """The newest rows of a contact with the count of all of them, in one statement."""
    return (
        sa.select(tbl, sa.func.count().over().label("_total"))
        .where(tbl.c.contact_id == _CID)
        .order_by(when.desc().nulls_last(), tbl.c.id.desc())
        .limit(_LATEST)
    )


_TICKETS = _latest_with_count(_TICKET, _TICKET.c.opened_at)
_INTERACTIONS = _latest_with_count(_INTERACTION, _INTERACTION.c.occurred_at)
_CONSENTS = (
    sa.select(
        _CONSENT.c.id,
        _CONSENT.c.purpose,
        _CONSENT.c.status,
        _CONSENT.c.lawful_basis,
        _CONSENT.c.occurred_at,
        _CONSENT.c.source_id,
    )
    .where(_CONSENT.c.contact_id == _CID)
    .order_by(_CONSENT.c.purpose, _CONSENT.c.occurred_at.nulls_first(), _CONSENT.c.id)
)
_SEGMENTS = (
    sa.select(_SEGMENT.c.id, _SEGMENT.c.name, _MEMBER.c.entered_at)
    .join(_SEGMENT, _SEGMENT.c.id == _MEMBER.c.segment_id)
    .where(_MEMBER.c.contact_id == _CID, _MEMBER.c.left_at.is_(None))
    .order_by(_SEGMENT.c.name)
)
_SCORES = sa.select(_SCORE).where(_SCORE.c.contact_id == _CID)
_LINEAGE = (
    sa.select(
        _LINK.c.source_record_id,
        _SOURCE.c.name.label("source"),
        _RECORD.c.external_id,
        _RECORD.c.record_key,
        _RECORD.c.status,
        _LINK.c.match_probability,
        _LINK.c.linked_by,
        _LINK.c.linked_at,
    )
    .join(_RECORD, _RECORD.c.id == _LINK.c.source_record_id)
    .join(_SOURCE, _SOURCE.c.id == _RECORD.c.source_id)
    .where(_LINK.c.contact_id == _CID)
    .order_by(_LINK.c.source_record_id)
)


# The contact row with what it has, in one statement: the sections it has nothing in are
# not queried (most contacts have no tickets, many no orders), which halves the statements
# of a typical view.
_PRESENCE: Final = (
    ("points", _POINT.c.contact_id),
    ("orders", _ORDER.c.contact_id),
    ("tickets", _TICKET.c.contact_id),
    ("interactions", _INTERACTION.c.contact_id),
    ("consents", _CONSENT.c.contact_id),
    ("segments", _MEMBER.c.contact_id),
    ("scores", _SCORE.c.contact_id),
    ("links", _LINK.c.contact_id),
)
_BY_ID_WITH_PRESENCE = sa.select(
    CONTACT,
    *(
        sa.exists()
        .where(
            column == CONTACT.c.id,
            *((_MEMBER.c.left_at.is_(None),) if name == "segments" else ()),
        )
        .label(f"has_{name}")
        for name, column in _PRESENCE
    ),
).where(CONTACT.c.id == sa.bindparam("id", type_=sa.Integer))


def _rows(
    conn: Connection, query: sa.Select[Any], params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in r.items()} for r in conn.execute(query, params).mappings()]


def contact_360(
    conn: Connection, *, contact_id: int, where: ColumnElement[bool] | None = None
) -> dict[str, Any]:
    """Everything known about one customer: golden fields, contact points, company, orders
    (latest 50 and totals), tickets, interactions (latest 50), consents (latest per purpose),
    open segment memberships, scores and lineage (source records and which golden field
    came from which record).

    A merged-away id answers with its survivor, saying so in `merged_into`.

    Raises:
        NotFoundError: no contact has that id (or `where` hides it).
    """
    row, merged_from = get_contact_row(conn, contact_id, query=_BY_ID_WITH_PRESENCE)
    has = {name: bool(row[f"has_{name}"]) for name, _ in _PRESENCE}
    cid = int(row["id"])
    if where is not None:
        allowed = conn.execute(sa.select(CONTACT.c.id).where(CONTACT.c.id == cid, where)).first()
        if allowed is None:
            raise NotFoundError(f"there is no contact {contact_id}")
    key = {"cid": cid}
    out = contact_dict(row)
    out["requested_id"] = contact_id
    out["merged_into"] = cid if merged_from is not None else None
    points = _rows(conn, _POINTS, key) if has["points"] else []
    out["contact_points"] = sealer_of(conn).open_rows("contact_point", points)
    out["company"] = _company(conn, row["company_id"])
    out["orders"] = _orders(conn, key if has["orders"] else None)
    out["tickets"] = _latest(conn, _TICKETS, key if has["tickets"] else None)
    out["interactions"] = _latest(conn, _INTERACTIONS, key if has["interactions"] else None)
    out["consents"] = _consents(conn, key) if has["consents"] else []
    out["segments"] = _rows(conn, _SEGMENTS, key) if has["segments"] else []
    scores = _rows(conn, _SCORES, key) if has["scores"] else []
    out["scores"] = scores[0] if scores else None
    records = _rows(conn, _LINEAGE, key) if has["links"] else []
    out["lineage"] = _lineage(records, row.get("lineage"))
    return out


def _company(conn: Connection, company_id: int | None) -> dict[str, Any] | None:
    seen: set[int] = set()
    while company_id is not None and company_id not in seen:
        seen.add(company_id)
        found = _rows(conn, _COMPANY_BY_ID, {"id": company_id})
        if not found:
            return None
        if found[0]["merged_into_id"] is None:
            return found[0]
        company_id = int(found[0]["merged_into_id"])
    return None


def _orders(conn: Connection, key: Mapping[str, Any] | None) -> dict[str, Any]:
    """The orders section; `key` None: the contact has none (nothing to query)."""
    latest = _rows(conn, _ORDERS_LATEST, key) if key is not None else []
    totals = conn.execute(_ORDER_TOTALS, key).all() if key is not None else []
    firsts = [plain(t[3]) for t in totals if t[3] is not None]
    lasts = [plain(t[4]) for t in totals if t[4] is not None]
    return {
        "count": sum(int(t[1]) for t in totals),
        "revenue": {str(t[0] or ""): round(float(t[2] or 0.0), 4) for t in totals},
        "first_order_at": min(firsts) if firsts else None,
        "last_order_at": max(lasts) if lasts else None,
        "latest": latest,
    }


def _latest(
    conn: Connection, query: sa.Select[Any], key: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A latest-rows section; `key` None: the contact has none (nothing to query)."""
    latest = _rows(conn, query, key) if key is not None else []
    count = latest[0].get("_total", 0) if latest else 0
    for r in latest:
        r.pop("_total", None)
    return {"count": int(count), "latest": latest}


def _consents(conn: Connection, key: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = _rows(conn, _CONSENTS, key)
    latest: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for r in rows:  # ordered oldest first within a purpose: the last one seen wins
        latest[r["purpose"]] = r
        counts[r["purpose"]] = counts.get(r["purpose"], 0) + 1
    return [{**latest[p], "history_count": counts[p]} for p in sorted(latest)]


def _lineage(records: list[dict[str, Any]], lineage: Any) -> dict[str, Any]:
    if isinstance(lineage, str):
        lineage = json.loads(lineage)
    by_id = {r["source_record_id"]: r for r in records}
    fields: list[dict[str, Any]] = []
    for name, origin in sorted((lineage or {}).items()):
        entry: dict[str, Any] = {"field": name, "source_record_id": None, "source": None}
        if isinstance(origin, int) and origin in by_id:
            entry.update(
                source_record_id=origin,
                source=by_id[origin]["source"],
                external_id=by_id[origin]["external_id"],
            )
        elif isinstance(origin, str) and origin.startswith(MANUAL_PREFIX):
            entry.update(source="manual", edited_by=origin[len(MANUAL_PREFIX) :])
        else:
            entry["source_record_id"] = origin
        fields.append(entry)
    return {"records": records, "fields": fields}


MANUAL_PREFIX: Final = "manual:"
"""Lineage of a golden field a person edited: "manual:<actor>" instead of a record id."""
