"""Golden records for records nobody has matched yet: each is its own contact (or company).

Until matching runs, every contact source record is its own golden contact, with its emails,
phones, address and social handles as contact points. The work is set-based SQL inside the
caller's transaction: links first (with reserved ids), then contacts and points copied from
the standardized view through a staged table of (record, golden id) pairs, so a million
records cost seconds, not minutes. Sealed values are copied as their tokens; the points SQL
cannot build over tokens (blind indexes of phones, the address line) are built in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from rolodex.model import (
    CampaignMember,
    Company,
    Consent,
    Contact,
    ContactPoint,
    Deal,
    Event,
    Interaction,
    Order,
    Subscription,
    Ticket,
)
from rolodex.model.base import table
from rolodex.store.bulk import Bulk
from rolodex.store.sealed import SEALED

LINKED_BY = "import"

# Golden contact column <- standardized contact_record expression.
_CONTACT_FIELDS = {
    "salutation": "r.salutation",
    "first_name": "r.first_name",
    "middle_name": "r.middle_name",
    "last_name": "r.last_name",
    "suffix": "r.suffix",
    "full_name": "r.full_name",
    "email": "coalesce(r.email, r.email2)",
    "phone": "coalesce(r.phone, r.mobile, r.work_phone)",
    "company_name": "r.company_name",
    "job_title": "r.job_title",
    "department": "r.department",
    "city": "r.city",
    "region": "r.region",
    "postcode": "r.postcode",
    "country": "r.country",
    "birth_date": "r.birth_date",
    "gender": "r.gender",
    "language": "r.language",
    "lifecycle_stage": "r.lifecycle_stage",
    "owner": "r.owner",
    "custom": "r.custom",
}
COMPANY_FIELDS = {
    name: f"r.{name}"
    for name in (
        "name",
        "domain",
        "industry",
        "employee_count",
        "annual_revenue",
        "phone",
        "street",
        "city",
        "region",
        "postcode",
        "country",
        "founded_year",
        "company_type",
        "custom",
    )
}
_ADDRESS = (
    "rtrim(coalesce(r.street || ', ', '') || coalesce(r.postcode || ' ', '')"
    " || coalesce(r.city || ', ', '') || coalesce(r.country, ''), ', ')"
)
# (kind, label, value expression, primary expression, condition)
_POINTS = (
    ("email", None, "r.email", "1", "r.email IS NOT NULL"),
    (
        "email",
        None,
        "r.email2",
        "CASE WHEN r.email IS NULL THEN 1 ELSE 0 END",
        "r.email2 IS NOT NULL",
    ),
    ("phone", None, "r.phone", "1", "r.phone IS NOT NULL"),
    (
        "phone",
        "mobile",
        "r.mobile",
        "CASE WHEN r.phone IS NULL THEN 1 ELSE 0 END",
        "r.mobile IS NOT NULL",
    ),
    (
        "phone",
        "work",
        "r.work_phone",
        "CASE WHEN r.phone IS NULL AND r.mobile IS NULL THEN 1 ELSE 0 END",
        "r.work_phone IS NOT NULL",
    ),
    ("social", "linkedin", "r.linkedin", "1", "r.linkedin IS NOT NULL"),
    ("social", "twitter", "r.twitter", "1", "r.twitter IS NOT NULL"),
)
_ADDRESS_POINT = (
    "address",
    None,
    _ADDRESS,
    "1",
    "(r.street IS NOT NULL OR r.city IS NOT NULL OR r.postcode IS NOT NULL"
    " OR r.country IS NOT NULL)",
)
# Rows that belong to a customer and follow it to its golden contact: each has its own
# `source_record_id`, the `customer_record_id` it names and the `contact_id` kept in step.
ACTIVITY_TABLES = (
    Order,
    Ticket,
    Interaction,
    Event,
    Consent,
    Subscription,
    Deal,
    CampaignMember,
)


def _within(staged: str) -> str:
    """A range condition on the view's key, the staged ids' lowest to highest.

    The staged records are the newest, at the end of the view: with the range, PostgreSQL
    reads them by primary key; without it, it hash-joins a scan of the whole view, chunk
    after chunk, and an import of a million rows slows down as it goes.
    """
    return (
        f" AND r.source_record_id BETWEEN (SELECT min(record_id) FROM {staged})"
        f" AND (SELECT max(record_id) FROM {staged})"
    )


def _create_golden(
    db: Bulk, record_ids: Sequence[int], *, company: bool, now: datetime
) -> tuple[str, int]:
    """Reserve golden ids, link the records to them and copy the fields; return the staging."""
    golden = table(Company) if company else table(Contact)
    view, link, key = (
        ("company_record", "company_link", "company_id")
        if company
        else (
            "contact_record",
            "contact_link",
            "contact_id",
        )
    )
    fields = COMPANY_FIELDS if company else _CONTACT_FIELDS
    pairs = list(zip(record_ids, db.reserve_ids(golden, len(record_ids)), strict=True))
    staged = db.stage_pairs(pairs)
    stamp = db.stamp(now)
    db.execute(
        f"INSERT INTO {link} (source_record_id, {key}, linked_by, linked_at)"
        f" SELECT record_id, golden_id, ?, ? FROM {staged}",
        [LINKED_BY, stamp],
    )
    db.execute(
        f"INSERT INTO {golden.name} (id, {', '.join(fields)}, created_at) SELECT n.golden_id,"
        f" {', '.join(fields.values())}, ? FROM {staged} n JOIN {view} r"
        f" ON r.source_record_id = n.record_id{_within(staged)}",
        [stamp],
    )
    return staged, len(pairs)


def link_new_contacts(db: Bulk, record_ids: Sequence[int], *, now: datetime) -> int:
    """Give each contact record in `record_ids` its own golden contact and contact points.

    Returns:
        The number of golden contacts created.
    """
    if not record_ids:
        return 0
    staged, created = _create_golden(db, record_ids, company=False, now=now)
    _insert_points(db, staged)
    return created


def link_new_companies(db: Bulk, record_ids: Sequence[int], *, now: datetime) -> int:
    """Give each company record in `record_ids` its own golden company."""
    if not record_ids:
        return 0
    return _create_golden(db, record_ids, company=True, now=now)[1]


def _insert_points(db: Bulk, staged: str) -> None:
    """Copy emails, phones, address and handles of the staged records to contact points.

    The primary emails and the handles are copied in SQL, in one pass over the records:
    each is joined once to the list of point kinds and unpivoted with CASE, rather than
    read again for every kind; sealed emails are copied as their tokens, with the blind
    index the record already has. The points whose blind index (other emails, phones) or
    value (the address line, built from a sealed street) SQL cannot compute are built in
    Python from the decrypted record (`_decrypted_points`).
    """
    sealed_street = db.sealer.seals("street")
    in_sql = [
        (n, point)
        for n, point in enumerate((*_POINTS, _ADDRESS_POINT), start=1)
        if point[0] == "social" or (n == 1) or (point is _ADDRESS_POINT and not sealed_street)
    ]
    kinds = " UNION ALL ".join(
        f"SELECT {n} AS n, '{kind}' AS kind, {'NULL' if label is None else repr(label)} AS label"
        for n, (kind, label, _, _, _) in in_sql
    )
    # An email without its blind index (a record stored before there was one) is left to
    # Python, which computes it.
    value = " ".join(
        f"WHEN {n} THEN CASE WHEN {cond}{' AND r.email_index IS NOT NULL' if n == 1 else ''}"
        f" THEN {expr} END"
        for n, (_, _, expr, _, cond) in in_sql
    )
    primary = " ".join(f"WHEN {n} THEN {prim}" for n, (_, _, _, prim, _) in in_sql)
    address = len(_POINTS) + 1
    parts = ", ".join(
        f"CASE WHEN k.n = {address} THEN r.{c} END AS {c}"
        for c in ("street", "street2", "city", "region", "postcode", "country")
    )
    db.execute(
        "INSERT INTO contact_point (contact_id, kind, label, value, value_index, is_primary,"
        " street, street2, city, region, postcode, country, source_record_id)"
        " SELECT contact_id, kind, label, value, value_index, is_primary = 1, street, street2,"
        " city, region, postcode, country, source_record_id FROM (SELECT n.golden_id AS"
        f" contact_id, k.kind, k.label, CASE k.n {value} END AS value,"
        " CASE WHEN k.n = 1 THEN r.email_index END AS value_index,"
        f" CASE k.n {primary} END AS is_primary, {parts}, r.source_record_id FROM {staged} n"
        f" JOIN contact_record r ON r.source_record_id = n.record_id{_within(staged)}"
        f" CROSS JOIN ({kinds}) k) p WHERE value IS NOT NULL"
        # No ORDER BY: sorting the wide rows first cost more than twice the insert itself.
    )
    _decrypted_points(db, staged, address=sealed_street)


_DECRYPTED = ("email", "email2", "phone", "mobile", "work_phone", "street", "street2")


def _decrypted_points(db: Bulk, staged: str, *, address: bool) -> None:
    """Insert the points of the staged records that SQL cannot build over sealed values:
    emails without a blind index on the record, second emails and phones (whose blind
    indexes need the plaintext), and, when streets are sealed, the address (its one-line
    value joins the street to the rest). `ingest` seals them and adds their indexes."""
    wanted = [
        "r.email IS NOT NULL AND r.email_index IS NULL",
        "r.email2 IS NOT NULL",
        "r.phone IS NOT NULL",
        "r.mobile IS NOT NULL",
        "r.work_phone IS NOT NULL",
    ]
    if address:
        wanted.append(str(_ADDRESS_POINT[4]))
    found = db.query(
        "SELECT n.golden_id, r.source_record_id, r.email_index,"
        f" {', '.join('r.' + c for c in _DECRYPTED)}, r.city, r.region, r.postcode, r.country"
        f" FROM {staged} n JOIN contact_record r ON r.source_record_id = n.record_id"
        f"{_within(staged)} WHERE {' OR '.join(f'({w})' for w in wanted)}"
        " ORDER BY r.source_record_id"
    )
    if not found:
        return
    raw = list(zip(*found, strict=True))
    # Only what these points show is decrypted: the email only where it has no blind index
    # (elsewhere SQL copied it), the streets only for the address.
    raw[3] = tuple(e if ix is None else None for e, ix in zip(raw[3], raw[2], strict=True))
    opened = {
        name: db.sealer.open(SEALED["contact_record"][name], raw[3 + i])
        for i, name in enumerate(_DECRYPTED)
        if address or name not in ("street", "street2")
    }
    has_email = [ix is not None or e is not None for e, ix in zip(raw[3], raw[2], strict=True)]
    out: dict[str, list[Any]] = {c: [] for c in POINT_COLUMNS}

    def add(i: int, kind: str, label: str | None, value: str, primary: bool) -> None:
        for column, item in (
            ("contact_id", int(raw[0][i])),
            ("kind", kind),
            ("label", label),
            ("value", value),
            ("is_primary", primary),
            ("source_record_id", int(raw[1][i])),
        ):
            out[column].append(item)
        for n, column in enumerate(("street", "street2", "city", "region", "postcode", "country")):
            out[column].append(
                (opened[column][i] if n < 2 else raw[8 + n][i]) if kind == "address" else None
            )

    for i in range(len(found)):
        email, email2 = opened["email"][i], opened["email2"][i]
        if email is not None:
            add(i, "email", None, email, True)
        if email2 is not None:
            add(i, "email", None, email2, not has_email[i])
        phone, mobile, work = opened["phone"][i], opened["mobile"][i], opened["work_phone"][i]
        if phone is not None:
            add(i, "phone", None, phone, True)
        if mobile is not None:
            add(i, "phone", "mobile", mobile, phone is None)
        if work is not None:
            add(i, "phone", "work", work, phone is None and mobile is None)
        if address:
            parts = (opened["street"][i], raw[12][i], raw[10][i], raw[13][i])
            if any(p is not None for p in parts):
                add(i, "address", None, address_line(*parts), True)
    types = {"contact_id": pa.int64(), "source_record_id": pa.int64(), "is_primary": pa.bool_()}
    db.ingest(
        table(ContactPoint),
        pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in out.items()}),
    )


# The contact_point columns a golden record's points are written with.
POINT_COLUMNS = (
    "contact_id",
    "kind",
    "label",
    "value",
    "is_primary",
    "street",
    "street2",
    "city",
    "region",
    "postcode",
    "country",
    "source_record_id",
)


def address_line(
    street: str | None, postcode: str | None, city: str | None, country: str | None
) -> str:
    """The address on one line, "street, postcode city, country", as the SQL of
    `_ADDRESS` renders it for unsealed streets."""
    line = (
        (street + ", " if street is not None else "")
        + (postcode + " " if postcode is not None else "")
        + (city + ", " if city is not None else "")
        + (country or "")
    )
    return line.rstrip(", ")


def _refresh(db: Bulk, record_ids: Sequence[int], *, company: bool, now: datetime) -> str | None:
    """Rewrite golden records backed by exactly one of `record_ids`; return the staging."""
    if not record_ids:
        return None
    golden, view, link, key = (
        ("company", "company_record", "company_link", "company_id")
        if company
        else ("contact", "contact_record", "contact_link", "contact_id")
    )
    fields = COMPANY_FIELDS if company else _CONTACT_FIELDS
    links = db.query_in(
        f"SELECT l.source_record_id, l.{key} FROM {link} l WHERE l.source_record_id IN (?*)"
        f" AND (SELECT count(*) FROM {link} o WHERE o.{key} = l.{key}) = 1",
        list(record_ids),
    )
    if not links:
        return None
    staged = db.stage_pairs([(int(r), int(g)) for r, g in links])
    db.execute(
        f"UPDATE {golden} SET ({', '.join(fields)}, updated_at) = (SELECT"
        f" {', '.join(fields.values())}, ? FROM {staged} n JOIN {view} r"
        f" ON r.source_record_id = n.record_id WHERE n.golden_id = {golden}.id)"
        f" WHERE id IN (SELECT golden_id FROM {staged})",
        [db.stamp(now)],
    )
    return staged


def refresh_contacts(db: Bulk, record_ids: Sequence[int], *, now: datetime) -> None:
    """Bring the golden contacts of changed single-record contacts up to date.

    A contact backed by one record simply mirrors it, points included; contacts with
    several records are left to survivorship (the resolve stage proper).
    """
    staged = _refresh(db, record_ids, company=False, now=now)
    if staged is not None:
        db.execute(
            f"DELETE FROM contact_point WHERE contact_id IN (SELECT golden_id FROM {staged})"
        )
        _insert_points(db, staged)


def refresh_companies(db: Bulk, record_ids: Sequence[int], *, now: datetime) -> None:
    """Bring single-record golden companies up to date with their changed record."""
    _refresh(db, record_ids, company=True, now=now)


def link_unlinked(
    db: Bulk, *, companies: bool = False, after: int = 0, limit: int = 50_000, now: datetime
) -> tuple[int, int]:
    """Give up to `limit` not-yet-linked records (ids above `after`) their own golden record.

    Walks the standardized view in id order, so repeated calls cover everything once:
    records a killed import left without a golden record are picked up by the next run.

    Returns:
        (golden records created, the last record id looked at, or 0 when none was left).
    """
    view, link = (
        ("company_record", "company_link") if companies else ("contact_record", "contact_link")
    )
    rows = db.query(
        f"SELECT r.source_record_id FROM {view} r WHERE r.source_record_id > ? AND NOT EXISTS"
        f" (SELECT 1 FROM {link} l WHERE l.source_record_id = r.source_record_id)"
        " ORDER BY r.source_record_id LIMIT ?",
        [after, limit],
    )
    ids = [int(r[0]) for r in rows]
    if not ids:
        return 0, 0
    if companies:
        return link_new_companies(db, ids, now=now), ids[-1]
    return link_new_contacts(db, ids, now=now), ids[-1]


def attach_batch_activity(db: Bulk, batch_id: int) -> None:
    """Point the activity rows an import batch wrote at their customers' golden contacts."""
    for model in ACTIVITY_TABLES:
        name = table(model).name
        db.execute(
            f'UPDATE "{name}" SET contact_id = (SELECT l.contact_id FROM contact_link l'
            f' WHERE l.source_record_id = "{name}".customer_record_id)'
            " WHERE contact_id IS NULL AND source_record_id IN"
            " (SELECT id FROM source_record WHERE batch_id = ?)",
            [batch_id],
        )
