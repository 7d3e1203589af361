"""Golden records for records nobody has matched yet: each is its own contact (or company).

Until matching runs, every contact source record is its own golden contact, with its emails,
phones, address and social handles as contact points. The work is set-based SQL inside the
caller's transaction: links first (with reserved ids), then contacts and points copied from
the standardized view through a staged table of (record, golden id) pairs, so a million
records cost seconds, not minutes. Sealed values are copied as their tokens. Contact points
are made by `plan_points`, which reuses the record's tokens and needs the plaintext only for
blind indexes and the address line: an import plans them ahead, in the process that prepares
its chunks; other callers read the records back and open them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

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
from rolodex.store.sealed import SUBJECT_PATTERN, Sealer

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
    "phone": "coalesce(r.phone, r.mobile, r.work_phone, r.other_phone)",
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
# (kind, label, column): the contact points of a record, in the order they are written.
_POINTS = (
    ("email", None, "email"),
    ("email", None, "email2"),
    ("phone", None, "phone"),
    ("phone", "mobile", "mobile"),
    ("phone", "work", "work_phone"),
    ("phone", "other", "other_phone"),
    ("social", "linkedin", "linkedin"),
    ("social", "twitter", "twitter"),
)
# The address columns of a record and of its address point; with the columns of `_POINTS`,
# every record column the points are made of.
_ADDRESS_PARTS = ("street", "street2", "city", "region", "postcode", "country")
_POINT_SOURCES = (*(c for _, _, c in _POINTS), *_ADDRESS_PARTS)
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
) -> tuple[str, list[tuple[int, int]]]:
    """Reserve golden ids, link the records to them and copy the fields; return the staging
    and its (record, golden id) pairs."""
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
    return staged, pairs


def link_new_contacts(
    db: Bulk, record_ids: Sequence[int], *, now: datetime, points: pa.Table | None = None
) -> int:
    """Give each contact record in `record_ids` its own golden contact and contact points.

    Args:
        points: The records' contact points as `plan_points` made them (with their
            `source_record_id`), when the import built them ahead; else they are made here
            from the stored records.

    Returns:
        The number of golden contacts created.
    """
    if not record_ids:
        return 0
    staged, pairs = _create_golden(db, record_ids, company=False, now=now)
    _insert_points(db, staged, pairs, points)
    return len(pairs)


def link_new_companies(db: Bulk, record_ids: Sequence[int], *, now: datetime) -> int:
    """Give each company record in `record_ids` its own golden company."""
    if not record_ids:
        return 0
    return len(_create_golden(db, record_ids, company=True, now=now)[1])


def _insert_points(
    db: Bulk, staged: str, pairs: Sequence[tuple[int, int]], planned: pa.Table | None
) -> None:
    """Write the contact points of the staged (record, golden contact) pairs.

    Points planned ahead (sealed in the importing process) are only given their contact;
    otherwise the records are read back, opened and planned here. Either way `plan_points`
    makes them, so an import, an undo and a refresh write the same points.
    """
    if planned is None:
        planned = _points_from_store(db, staged)
    golden = dict(pairs)
    contacts = pa.array(
        [golden.get(r) for r in planned.column("source_record_id").to_pylist()], pa.int64()
    )
    keep = pc.is_valid(contacts)
    data = planned.filter(keep).append_column("contact_id", contacts.filter(keep))
    db.ingest(table(ContactPoint), data, sealed=True)


def _points_from_store(db: Bulk, staged: str) -> pa.Table:
    """`plan_points` of the staged records as the store holds them."""
    found = db.query(
        f"SELECT r.source_record_id, r.email_index, {', '.join('r.' + c for c in _POINT_SOURCES)}"
        f" FROM {staged} n JOIN contact_record r ON r.source_record_id = n.record_id"
        f"{_within(staged)} ORDER BY r.source_record_id"
    )
    names = ("source_record_id", "email_index", *_POINT_SOURCES)
    stored = pl.DataFrame(
        {n: list(v) for n, v in zip(names, zip(*found, strict=True), strict=True)}
        if found
        else {n: [] for n in names},
        schema={n: pl.Int64 if n == "source_record_id" else pl.Utf8 for n in names},
    )
    plain = db.sealer.open_frame("contact_record", stored)
    points = plan_points(plain, stored.to_arrow(), db.sealer)
    records = stored.to_arrow().column("source_record_id").take(points.column("row"))
    return points.drop_columns(["row"]).append_column("source_record_id", records)


def plan_points(
    plain: pl.DataFrame,
    stored: pa.Table,
    sealer: Sealer,
    *,
    keys: Mapping[str, Any] | None = None,
) -> pa.Table:
    """The contact points of contact records: emails, phones, social handles, the address.

    Args:
        plain: The records' standardized view in plaintext (missing columns are empty).
        stored: The same rows as stored: sealed values, which the points reuse as they
            are (a value's encryption context is its kind, so the token of the record's
            phone is the token of its phone point), and the `email_index` when present.
        sealer: Computes the blind indexes, and seals the one value no record holds (the
            address on one line), under the record's subject.
        keys: The records' subjects' opened keys, when the caller has them at hand.

    Returns:
        One row per point, ordered by record: `row` (the record's position in `plain`),
        kind, label, value, value_index, is_primary and the address columns.
    """
    n = plain.height
    names = set(stored.column_names)
    none = pl.lit(None, pl.Utf8)
    frame = pl.DataFrame(
        {
            "row": pl.int_range(n, eager=True, dtype=pl.Int64),
            **{
                f"text_{c}": plain[c].cast(pl.Utf8)
                if c in plain.columns
                else pl.repeat(None, n, dtype=pl.Utf8, eager=True)
                for c in _POINT_SOURCES
            },
            **{
                f"kept_{c}": pl.Series(stored.column(c)).cast(pl.Utf8)
                if c in names
                else pl.repeat(None, n, dtype=pl.Utf8, eager=True)
                for c in (*_POINT_SOURCES, "email_index")
            },
        }
    )
    t = {c: pl.col(f"text_{c}") for c in _POINT_SOURCES}
    primaries = (
        pl.lit(True),
        t["email"].is_null(),
        pl.lit(True),
        t["phone"].is_null(),
        t["phone"].is_null() & t["mobile"].is_null(),
        t["phone"].is_null() & t["mobile"].is_null() & t["work_phone"].is_null(),
        pl.lit(True),
        pl.lit(True),
    )
    parts = [
        frame.filter(t[name].is_not_null()).select(
            "row",
            pl.lit(order, pl.Int64).alias("order"),
            pl.lit(kind, pl.Utf8).alias("kind"),
            pl.lit(label, pl.Utf8).alias("label"),
            pl.col(f"kept_{name}").alias("value"),
            t[name].alias("opened"),
            (pl.col("kept_email_index") if name == "email" else none).alias("known"),
            primary.alias("is_primary"),
            *(none.alias(part) for part in _ADDRESS_PARTS),
        )
        for order, ((kind, label, name), primary) in enumerate(zip(_POINTS, primaries, strict=True))
    ]
    # The address on one line: "street, postcode city, country", without missing parts.
    line = pl.concat_str(
        [t["street"] + ", ", t["postcode"] + " ", t["city"] + ", ", t["country"]],
        ignore_nulls=True,
    ).str.strip_chars_end(", ")
    parts.append(
        frame.filter(
            pl.any_horizontal(t[c].is_not_null() for c in ("street", "city", "postcode", "country"))
        ).select(
            "row",
            pl.lit(len(_POINTS), pl.Int64).alias("order"),
            pl.lit("address", pl.Utf8).alias("kind"),
            none.alias("label"),
            none.alias("value"),
            line.alias("opened"),
            none.alias("known"),
            pl.lit(True).alias("is_primary"),
            *(
                (pl.col(f"kept_{p}") if p in ("street", "street2") else t[p]).alias(p)
                for p in _ADDRESS_PARTS
            ),
        )
    )
    points = pl.concat(parts).sort("row", "order")
    kinds = points["kind"].to_list()
    opened = points["opened"].to_list()
    known = points["known"].to_list()
    # The record's email index serves its first email; other emails and phones get theirs
    # here, one batch per kind, and the address line is sealed here, in one batch.
    wanted = [None if k is not None else kind for kind, k in zip(kinds, known, strict=True)]
    computed = sealer.point_indexes(wanted, opened)
    values = points["value"].to_list()
    lines = [at for at, kind in enumerate(kinds) if kind == "address"]
    # Sealed under the record's own subject (that of its sealed values), so erasing the
    # record's person shreds the line too; a record with none gets a subject for it.
    anchors = frame.select(
        pl.coalesce(pl.col(f"kept_{c}") for c in _POINT_SOURCES).str.extract(
            "^" + SUBJECT_PATTERN, 1
        )
    ).to_series()
    rows = points["row"].to_list()
    subjects = [anchors[rows[at]] for at in lines]
    sealed = sealer.seal("street", [opened[at] for at in lines], subjects=subjects, keys=keys)
    for at, token in zip(lines, sealed, strict=True):
        values[at] = token
    return points.select(
        "row",
        "kind",
        "label",
        pl.Series("value", values, pl.Utf8),
        pl.Series(
            "value_index",
            [c if k is None else k for k, c in zip(known, computed, strict=True)],
            pl.Utf8,
        ),
        "is_primary",
        *_ADDRESS_PARTS,
    ).to_arrow()


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


def _refresh(
    db: Bulk, record_ids: Sequence[int], *, company: bool, now: datetime
) -> tuple[str, list[tuple[int, int]]] | None:
    """Rewrite golden records backed by exactly one of `record_ids`; return the staging and
    its (record, golden id) pairs."""
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
    pairs = [(int(r), int(g)) for r, g in links]
    staged = db.stage_pairs(pairs)
    db.execute(
        f"UPDATE {golden} SET ({', '.join(fields)}, updated_at) = (SELECT"
        f" {', '.join(fields.values())}, ? FROM {staged} n JOIN {view} r"
        f" ON r.source_record_id = n.record_id WHERE n.golden_id = {golden}.id)"
        f" WHERE id IN (SELECT golden_id FROM {staged})",
        [db.stamp(now)],
    )
    return staged, pairs


def refresh_contacts(
    db: Bulk, record_ids: Sequence[int], *, now: datetime, points: pa.Table | None = None
) -> None:
    """Bring the golden contacts of changed single-record contacts up to date.

    A contact backed by one record simply mirrors it, points included (`points` as for
    `link_new_contacts`); contacts with several records are left to survivorship (the
    resolve stage proper).
    """
    refreshed = _refresh(db, record_ids, company=False, now=now)
    if refreshed is not None:
        staged, pairs = refreshed
        db.execute(
            f"DELETE FROM contact_point WHERE contact_id IN (SELECT golden_id FROM {staged})"
        )
        _insert_points(db, staged, pairs, points)


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
