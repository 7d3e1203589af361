"""Golden records for records nobody has matched yet: each is its own contact (or company).

Until matching runs, every contact source record is its own golden contact, with its emails,
phones, address and social handles as contact points. The work is set-based SQL inside the
caller's transaction: links first (with reserved ids), then contacts and points copied from
the standardized view, so a million records cost seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Connection, Table, text

from rolodex.model import (
    Company,
    CompanyLink,
    Consent,
    Contact,
    ContactLink,
    Event,
    Interaction,
    Order,
    Ticket,
)
from rolodex.model.base import table
from rolodex.store.bulk import insert_rows, reserve_ids

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
_COMPANY_FIELDS = {
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
_ACTIVITY_TABLES: tuple[Table, ...] = (
    table(Order),
    table(Ticket),
    table(Interaction),
    table(Event),
    table(Consent),
)


def _slices(ids: Sequence[int], size: int = 1000) -> Iterator[str]:
    """Yield comma-joined id lists to inline (ints only, so nothing user-given reaches SQL)."""
    for start in range(0, len(ids), size):
        yield ",".join(str(int(i)) for i in ids[start : start + size])


def link_new_contacts(conn: Connection, record_ids: Sequence[int], *, now: datetime) -> int:
    """Give each contact record in `record_ids` its own golden contact and contact points.

    Returns:
        The number of golden contacts created.
    """
    if not record_ids:
        return 0
    contact_ids = reserve_ids(conn, table(Contact), len(record_ids))
    insert_rows(
        conn,
        table(ContactLink),
        ("source_record_id", "contact_id", "match_probability", "linked_by", "linked_at"),
        [(r, c, None, LINKED_BY, now) for r, c in zip(record_ids, contact_ids, strict=True)],
    )
    columns = ", ".join(_CONTACT_FIELDS)
    select = ", ".join(_CONTACT_FIELDS.values())
    for ids in _slices(record_ids):
        conn.execute(
            text(
                f"INSERT INTO contact (id, {columns}, created_at) SELECT l.contact_id, {select},"
                " :now FROM contact_link l JOIN contact_record r"
                f" ON r.source_record_id = l.source_record_id WHERE l.source_record_id IN ({ids})"
            ),
            {"now": now},
        )
        _insert_points(conn, ids)
    return len(contact_ids)


def _insert_points(conn: Connection, ids: str) -> None:
    """Copy the emails, phones, address and handles of the records `ids` to contact points."""
    head = (
        "INSERT INTO contact_point (contact_id, kind, label, value, is_primary,"
        " street, street2, city, region, postcode, country, source_record_id)"
    )
    join = (
        " FROM contact_link l JOIN contact_record r ON r.source_record_id = l.source_record_id"
        f" WHERE l.source_record_id IN ({ids})"
    )
    for kind, label, value, primary, condition in _POINTS:
        conn.execute(
            text(
                f"{head} SELECT l.contact_id, :kind, :label, {value}, {primary} = 1, NULL, NULL,"
                f" NULL, NULL, NULL, NULL, r.source_record_id{join} AND {condition}"
            ),
            {"kind": kind, "label": label},
        )
    conn.execute(
        text(
            f"{head} SELECT l.contact_id, 'address', NULL, {_ADDRESS}, 1 = 1, r.street, r.street2,"
            f" r.city, r.region, r.postcode, r.country, r.source_record_id{join} AND"
            " (r.street IS NOT NULL OR r.city IS NOT NULL OR r.postcode IS NOT NULL"
            " OR r.country IS NOT NULL)"
        )
    )


def refresh_contacts(conn: Connection, record_ids: Sequence[int], *, now: datetime) -> int:
    """Bring the golden contacts of changed single-record contacts up to date.

    A contact backed by one record simply mirrors it; contacts with several records are left
    to survivorship (the resolve stage proper).

    Returns:
        The number of golden contacts rewritten.
    """
    done = 0
    columns = ", ".join(_CONTACT_FIELDS)
    select = ", ".join(_CONTACT_FIELDS.values())
    for ids in _slices(record_ids):
        single = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT l.contact_id FROM contact_link l WHERE l.source_record_id IN"
                    f" ({ids}) AND (SELECT count(*) FROM contact_link o"
                    " WHERE o.contact_id = l.contact_id) = 1"
                )
            )
        ]
        if not single:
            continue
        contacts = ",".join(str(int(c)) for c in single)
        conn.execute(
            text(
                f"UPDATE contact SET ({columns}, updated_at) = (SELECT {select}, :now"
                " FROM contact_link l JOIN contact_record r"
                " ON r.source_record_id = l.source_record_id WHERE l.contact_id = contact.id)"
                f" WHERE id IN ({contacts})"
            ),
            {"now": now},
        )
        conn.execute(text(f"DELETE FROM contact_point WHERE contact_id IN ({contacts})"))
        records = ",".join(
            str(int(r[0]))
            for r in conn.execute(
                text(f"SELECT source_record_id FROM contact_link WHERE contact_id IN ({contacts})")
            )
        )
        _insert_points(conn, records)
        done += len(single)
    return done


def link_new_companies(conn: Connection, record_ids: Sequence[int], *, now: datetime) -> int:
    """Give each company record in `record_ids` its own golden company."""
    if not record_ids:
        return 0
    company_ids = reserve_ids(conn, table(Company), len(record_ids))
    insert_rows(
        conn,
        table(CompanyLink),
        ("source_record_id", "company_id", "match_probability", "linked_by", "linked_at"),
        [(r, c, None, LINKED_BY, now) for r, c in zip(record_ids, company_ids, strict=True)],
    )
    columns = ", ".join(_COMPANY_FIELDS)
    select = ", ".join(_COMPANY_FIELDS.values())
    for ids in _slices(record_ids):
        conn.execute(
            text(
                f"INSERT INTO company (id, {columns}, created_at) SELECT l.company_id, {select},"
                " :now FROM company_link l JOIN company_record r"
                f" ON r.source_record_id = l.source_record_id WHERE l.source_record_id IN ({ids})"
            ),
            {"now": now},
        )
    return len(company_ids)


def refresh_companies(conn: Connection, record_ids: Sequence[int], *, now: datetime) -> int:
    """Bring single-record golden companies up to date with their changed record."""
    columns = ", ".join(_COMPANY_FIELDS)
    select = ", ".join(_COMPANY_FIELDS.values())
    done = 0
    for ids in _slices(record_ids):
        result = conn.execute(
            text(
                f"UPDATE company SET ({columns}, updated_at) = (SELECT {select}, :now"
                " FROM company_link l JOIN company_record r"
                " ON r.source_record_id = l.source_record_id WHERE l.company_id = company.id)"
                " WHERE id IN (SELECT company_id FROM company_link WHERE source_record_id IN"
                f" ({ids})) AND (SELECT count(*) FROM company_link o"
                " WHERE o.company_id = company.id) = 1"
            ),
            {"now": now},
        )
        done += result.rowcount
    return done


def attach_activity(conn: Connection, record_ids: Sequence[int]) -> None:
    """Point orders, tickets, interactions, events and consents at their golden contact."""
    for activity in _ACTIVITY_TABLES:
        name = activity.name
        for ids in _slices(record_ids):
            conn.execute(
                text(
                    f'UPDATE "{name}" SET contact_id = (SELECT l.contact_id FROM contact_link l'
                    f' WHERE l.source_record_id = "{name}".customer_record_id)'
                    f" WHERE source_record_id IN ({ids})"
                )
            )
