"""GDPR duties over the whole store: what we hold about a person (access), forgetting them
(erasure, with crypto-shredding and an optional suppression list), and retention of data
nobody has touched for a while.

A *person* is the golden contact(s) a subject (email, phone or contact id) names, every
contact merged into them, and every contact source record linked to any of them; their
orders, tickets, interactions, ... are the activity rows that name those contacts or records.

Erasure deletes the person and their raw rows in one transaction and keeps only anonymous
aggregates: activity rows keep amounts, dates and statuses but lose their person, their
source row and their personal text. The audit log is append-only and keeps the contact ids
(ids are not personal data), never values. Deleted bytes are then made unrecoverable
(`scrub_deleted`); backups are covered by destroying, in the key vault outside the database,
the subject keys of every row erased (crypto-shredding: `rolodex.secure.vault`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from rolodex.clean.email import standardize_email
from rolodex.clean.phone import standardize_phone
from rolodex.collect.fields import Kind
from rolodex.collect.prepare import PreparedChunk
from rolodex.collect.rows import Problem
from rolodex.config import RetentionPolicy
from rolodex.exceptions import ConfigError, InputError, NotFoundError
from rolodex.model.base import utcnow
from rolodex.secure.crypto import Cipher
from rolodex.share.export import neutralize
from rolodex.store.audit import append_audit
from rolodex.store.sealed import SUBJECT_PATTERN, Sealer, sealer_of

HashValue = Callable[[str, str], str]
"""Keyed hash of a (kind, normalized value) pair, as kept in the suppression list."""

SUPPRESSED_REASON = "suppressed: this person asked to be erased"

# Rows that name a customer (CustomerOwnedMixin). Consents are the person's own decisions
# and mean nothing without them: deleted. The others stay as anonymous aggregates.
_ACTIVITY = (
    "order",
    "payment",
    "subscription",
    "deal",
    "ticket",
    "interaction",
    "event",
    "campaign_member",
)
# Personal free text (or identifiers the source system can map back to the person) that an
# anonymised row must lose; every other column is an amount, a date, a status or a code.
_PERSONAL_TEXT: dict[str, str] = {
    "order": "external_id = 'erased-' || CAST(id AS VARCHAR(20))",
    "deal": "name = NULL",
    "ticket": "subject = NULL, external_id = NULL",
    "interaction": "subject = NULL",
    "event": "url = NULL, properties = NULL",
}
# Golden contact columns that say who someone is; what an anonymised contact keeps is its id,
# country, language, lifecycle stage, company and timestamps.
_CONTACT_PERSONAL = (
    "salutation",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "full_name",
    "email",
    "phone",
    "company_name",
    "job_title",
    "department",
    "city",
    "region",
    "postcode",
    "birth_date",
    "gender",
    "owner",
    "custom",
    "lineage",
)
_E164 = re.compile(r"\+[1-9][0-9]{5,16}")
_EMAIL_COLUMNS = ("email", "email2")
_PHONE_COLUMNS = ("phone_key", "phone", "mobile", "work_phone", "other_phone")


# --- values and hashes ----------------------------------------------------------------------


def normalize_value(kind: str, value: str, *, region: str | None = None) -> str | None:
    """Return the form an email or phone is compared and hashed in, or None when it has none.

    Emails: the clean stage's standardized address, lower-cased. Phones: E.164, as the clean
    stage writes it (national numbers need `region`).
    """
    raw = value.strip()
    if not raw:
        return None
    if kind == "email":
        return (standardize_email(raw).value or raw).lower()
    if _E164.fullmatch(raw):
        return raw
    found = standardize_phone(raw, region=region)
    if found.key:
        return found.key
    return found.value if found.value and _E164.fullmatch(found.value) else None


def suppression_hasher(cipher: Cipher) -> HashValue:
    """Return the keyed hash the suppression list is kept in: an HMAC under a key derived
    from the workspace's index key, which never changes on rotation (see secure.crypto)."""

    def hash_value(kind: str, value: str) -> str:
        return cipher.hash_for_suppression(value, kind=kind)

    return hash_value


class SuppressionFilter:
    """Quarantines the rows of a contacts import whose email or phone is on the suppression
    list. Runs after cleaning, on the standardized values."""

    def __init__(self, hashes: dict[str, set[str]], hash_value: HashValue) -> None:
        self._hashes = hashes
        self._hash = hash_value

    def __call__(self, chunk: PreparedChunk) -> None:
        found: dict[int, list[Problem]] = {}
        for kind, columns in (("email", _EMAIL_COLUMNS), ("phone", _PHONE_COLUMNS)):
            wanted = self._hashes.get(kind)
            if not wanted:
                continue
            for column in columns:
                if column not in chunk.values.columns:
                    continue
                verdict: dict[str, bool] = {}
                for i, value in enumerate(chunk.values.get_column(column).to_list()):
                    if value is None or i in found or chunk.is_fatal(i):
                        continue
                    text_value = str(value)
                    if text_value not in verdict:
                        norm = normalize_value(kind, text_value)
                        verdict[text_value] = norm is not None and self._hash(kind, norm) in wanted
                    if verdict[text_value]:
                        found[i] = [Problem(SUPPRESSED_REASON, column=column)]
        if found:
            chunk.add_problems(found)

    def wrap(self, cleaner: Callable[[PreparedChunk], None]) -> Callable[[PreparedChunk], None]:
        """Return `cleaner` followed by this filter."""

        def run(chunk: PreparedChunk) -> None:
            cleaner(chunk)
            self(chunk)

        return run


def suppression_filter(
    conn: Connection, *, kind: Kind, hasher: Callable[[], HashValue]
) -> SuppressionFilter | None:
    """Return the filter an import of `kind` runs, or None when there is nothing to check
    (not contacts, or an empty suppression list: the import then pays one tiny query).

    `hasher` gives the keyed hash; it is only asked for when someone is suppressed.

    Raises:
        ConfigError: people are suppressed but the workspace has no keys to check with.
    """
    if kind is not Kind.CONTACTS:
        return None
    if conn.execute(text("SELECT 1 FROM suppression LIMIT 1")).first() is None:
        return None
    hashes: dict[str, set[str]] = {}
    for which, value_hash in conn.execute(text("SELECT kind, value_hash FROM suppression")):
        hashes.setdefault(str(which), set()).add(str(value_hash))
    return SuppressionFilter(hashes, hasher())


# --- who the subject is ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Everything that identifies one subject in the store."""

    survivors: tuple[int, ...]  # golden contacts now in use
    contacts: tuple[int, ...]  # the survivors and every contact merged into them
    records: tuple[int, ...]  # contact source records linked to those contacts
    mentions: tuple[int, ...] = ()  # other raw rows naming the person (quarantined, unlinked)


def _in(ids: Iterable[int]) -> str:
    return ",".join(str(int(i)) for i in sorted(set(ids))) or "NULL"


def _ids(conn: Connection, sql: str, **params: Any) -> list[int]:
    return [int(r[0]) for r in conn.execute(text(sql), params) if r[0] is not None]


def _survivor(conn: Connection, contact_id: int) -> int | None:
    seen: set[int] = set()
    current: int | None = contact_id
    while current is not None and current not in seen:
        seen.add(current)
        row = conn.execute(
            text("SELECT merged_into_id FROM contact WHERE id = :id"), {"id": current}
        ).first()
        if row is None:
            return None
        if row[0] is None:
            return current
        current = int(row[0])
    return current


def find_subject(conn: Connection, subject: str, *, region: str | None = None) -> list[int]:
    """Return the golden contacts (survivors) a subject names.

    Args:
        subject: "contact:123" or 123 (that contact, followed to the one it was merged
            into), an email address, or a phone number (international form, or national
            with `region`).
        region: ISO country for reading a national phone number.

    Raises:
        InputError: the subject is neither an id, an email nor a readable phone number.
        NotFoundError: nothing in the store matches it.
    """
    given = subject.strip()
    sealer = sealer_of(conn)
    found: list[int]
    if re.fullmatch(r"(?:contact:)?[0-9]+", given):
        found = [int(given.removeprefix("contact:"))]
    elif "@" in given:
        email = normalize_value("email", given) or given.lower()
        key = standardize_email(given).key
        # Sealed values compare through their blind indexes. A record's email2 has none: it
        # is found through the contact points its contact holds (every email2 is one).
        found = _ids(
            conn,
            "SELECT contact_id FROM contact_point WHERE kind = 'email' AND value_index = :e"
            " UNION SELECT l.contact_id FROM contact_record r JOIN contact_link l"
            " ON l.source_record_id = r.source_record_id WHERE r.email_key_index = :k"
            " OR r.email_index = :e",
            e=sealer.email_index(email),
            k=sealer.index_one("email_key", key or email),
        )
    else:
        phone = normalize_value("phone", given, region=region)
        if phone is None:
            raise InputError(
                f"{subject!r} is not a contact id, an email address or a phone number that can"
                " be read; write phone numbers in international form (+44 20 7946 0321)"
            )
        # Mobile and work phones are contact points too (see the email case).
        found = _ids(
            conn,
            "SELECT contact_id FROM contact_point WHERE kind = 'phone' AND value_index = :p"
            " UNION SELECT l.contact_id FROM contact_record r JOIN contact_link l"
            " ON l.source_record_id = r.source_record_id WHERE r.phone_index = :p",
            p=sealer.phone_index(phone),
        )
    survivors = sorted({s for c in found if (s := _survivor(conn, c)) is not None})
    if not survivors:
        raise NotFoundError(f"no contact matches {subject!r}")
    return survivors


def person_of(conn: Connection, survivors: Sequence[int], *, mentions: bool = True) -> Person:
    """Gather the contacts merged into `survivors`, their source records, and (`mentions`)
    the other raw rows, quarantined or unlinked, whose payload holds one of their emails
    (a scan of every raw row: right for a request about one person, not for thousands)."""
    contacts = set(survivors)
    frontier = set(survivors)
    while frontier:
        frontier = (
            set(_ids(conn, f"SELECT id FROM contact WHERE merged_into_id IN ({_in(frontier)})"))
            - contacts
        )
        contacts |= frontier
    records = set(
        _ids(
            conn, f"SELECT source_record_id FROM contact_link WHERE contact_id IN ({_in(contacts)})"
        )
    )
    found = (
        _mentions(conn, _values_of(conn, contacts, records)["email"], contacts, records)
        if mentions
        else []
    )
    return Person(
        survivors=tuple(sorted(survivors)),
        contacts=tuple(sorted(contacts)),
        records=tuple(sorted(records)),
        mentions=tuple(found),
    )


def _values_of(
    conn: Connection, contacts: Iterable[int], records: Iterable[int]
) -> dict[str, set[str]]:
    """The person's emails and phones, normalized; names as written (for scrubbing text)."""
    c, r = _in(contacts), _in(records)
    out: dict[str, set[str]] = {"email": set(), "phone": set(), "name": set()}
    queries = [
        f"SELECT kind, value FROM contact_point WHERE contact_id IN ({c})"
        " AND kind IN ('email', 'phone')",
        f"SELECT 'email', email FROM contact WHERE id IN ({c})",
        f"SELECT 'phone', phone FROM contact WHERE id IN ({c})",
    ]
    for kind, names in (("email", _EMAIL_COLUMNS), ("phone", _PHONE_COLUMNS)):
        queries += [
            f"SELECT '{kind}', {name} FROM contact_record WHERE source_record_id IN ({r})"
            for name in names
        ]
    rows = [(str(k), v) for sql in queries for k, v in conn.execute(text(sql))]
    sealer = sealer_of(conn)
    for kind in ("email", "phone"):  # sealed by their kind, wherever they are stored
        values = sealer.open(kind, [v for k, v in rows if k == kind])
        for value in values:
            if value is not None and (norm := normalize_value(kind, str(value))) is not None:
                out[kind].add(norm)
    for columns in (
        f"SELECT first_name, last_name, full_name FROM contact WHERE id IN ({c})",
        f"SELECT first_name, last_name, full_name FROM contact_record"
        f" WHERE source_record_id IN ({r})",
    ):
        for row in conn.execute(text(columns)):
            out["name"].update(str(v) for v in sealer.open("name", list(row)) if v)
    return out


def _mentions(
    conn: Connection, emails: Iterable[str], contacts: set[int], records: set[int]
) -> list[int]:
    """Raw rows outside the person's records whose payload holds one of their emails and
    that belong to nobody else: quarantined rows, activity rows without a customer."""
    candidates = _payloads_holding(conn, emails) - records
    if not candidates:
        return []
    ids = _in(candidates)
    others = set(
        _ids(
            conn,
            f"SELECT source_record_id FROM contact_link WHERE source_record_id IN ({ids})"
            f" AND contact_id NOT IN ({_in(contacts)})"
            f" UNION SELECT source_record_id FROM company_link WHERE source_record_id IN ({ids})",
        )
    )
    for name in (*_ACTIVITY, "consent"):
        others.update(
            _ids(
                conn,
                f'SELECT source_record_id FROM "{name}" WHERE source_record_id IN ({ids})'
                f" AND customer_record_id IS NOT NULL AND customer_record_id NOT IN"
                f" ({_in(records)})",
            )
        )
    return sorted(candidates - others)


_SCAN_PAGE = 5000


def _payloads_holding(conn: Connection, emails: Iterable[str]) -> set[int]:
    """Source records whose payload (current or in history) holds one of `emails`, ignoring
    case. Payloads are sealed, so SQL cannot search them: every one is read a page at a time
    and opened here (right for a request about one person, not for thousands)."""
    wanted = sorted({e.lower() for e in emails if e})
    if not wanted:
        return set()
    sealer = sealer_of(conn)
    found: set[int] = set()
    for table, record in (
        ("source_record", "id"),
        ("source_record_history", "source_record_id"),
    ):
        after = 0
        while True:
            page = conn.execute(
                text(
                    f"SELECT id, {record}, payload FROM {table} WHERE id > :after"
                    " ORDER BY id LIMIT :n"
                ),
                {"after": after, "n": _SCAN_PAGE},
            ).all()
            if not page:
                break
            after = int(page[-1][0])
            payloads = sealer.open("payload", [row[2] for row in page])
            for row, payload in zip(page, payloads, strict=True):
                if payload and any(e in str(payload).lower() for e in wanted):
                    found.add(int(row[1]))
    return found


# --- export (right of access) ---------------------------------------------------------------


@dataclass
class PrivacyExport:
    """What `privacy export` wrote: the files and the rows per section."""

    contacts: list[int]
    files: list[Path]
    counts: dict[str, int]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(conn: Connection, sql: str) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in conn.execute(text(sql))]


def _owner_clause(person: Person) -> str:
    return (
        f"contact_id IN ({_in(person.contacts)}) OR customer_record_id IN ({_in(person.records)})"
        f" OR source_record_id IN ({_in(person.mentions)})"
    )


def subject_sections(conn: Connection, person: Person) -> dict[str, list[dict[str, Any]]]:
    """Everything held about a person, section by section (the export's content)."""
    c = _in(person.contacts)
    owner = _owner_clause(person)
    orders = _ids(conn, f'SELECT id FROM "order" WHERE {owner}')
    own = set(person.records) | set(person.mentions)
    for name in (*_ACTIVITY, "consent"):
        own.update(_ids(conn, f'SELECT source_record_id FROM "{name}" WHERE {owner}'))
    own.update(
        _ids(conn, f"SELECT source_record_id FROM order_line WHERE order_id IN ({_in(orders)})")
    )
    r = _in(own)
    sections: dict[str, list[dict[str, Any]]] = {
        "contacts": _rows(conn, f"SELECT * FROM contact WHERE id IN ({c}) ORDER BY id"),
        "contact_points": _rows(
            conn, f"SELECT * FROM contact_point WHERE contact_id IN ({c}) ORDER BY id"
        ),
        "companies": _rows(
            conn,
            "SELECT id, name FROM company WHERE id IN"
            f" (SELECT company_id FROM contact WHERE id IN ({c})) ORDER BY id",
        ),
        "source_records": _rows(
            conn,
            "SELECT r.id, s.name AS source, r.kind, r.external_id, r.version, r.status,"
            " r.file, r.row_number, r.issues, r.payload, r.created_at, r.updated_at"
            f" FROM source_record r JOIN source s ON s.id = r.source_id WHERE r.id IN ({r})"
            " ORDER BY r.id",
        ),
        "source_record_history": _rows(
            conn,
            "SELECT source_record_id, version, payload, file, row_number, status,"
            f" superseded_at FROM source_record_history WHERE source_record_id IN ({r})"
            " ORDER BY id",
        ),
        "standardized_records": _rows(
            conn,
            f"SELECT * FROM contact_record WHERE source_record_id IN ({r})"
            " ORDER BY source_record_id",
        ),
        "links": _rows(
            conn,
            "SELECT source_record_id, contact_id, match_probability, linked_by, linked_at"
            f" FROM contact_link WHERE contact_id IN ({c}) ORDER BY source_record_id",
        ),
        "merge_events": _rows(
            conn,
            f"SELECT * FROM merge_event WHERE contact_id IN ({c}) OR other_contact_id IN ({c})"
            f" OR source_record_id IN ({r}) ORDER BY id",
        ),
        "match_decisions": _rows(
            conn,
            f"SELECT * FROM match_decision WHERE left_record_id IN ({r})"
            f" OR right_record_id IN ({r}) ORDER BY id",
        ),
    }
    for name in _ACTIVITY[:-1]:  # campaign members below, with their campaign's name
        sections[f"{name}s"] = _rows(conn, f'SELECT * FROM "{name}" WHERE {owner} ORDER BY id')
    sections["campaign_members"] = _rows(
        conn,
        "SELECT m.*, (SELECT g.name FROM campaign g WHERE g.id = m.campaign_id) AS campaign"
        f" FROM campaign_member m WHERE {owner} ORDER BY m.id",
    )
    sections["order_lines"] = _rows(
        conn, f"SELECT * FROM order_line WHERE order_id IN ({_in(orders)}) ORDER BY id"
    )
    sections["consents"] = _rows(
        conn, f"SELECT * FROM consent WHERE {owner} ORDER BY occurred_at, id"
    )
    sections["scores"] = _rows(conn, f"SELECT * FROM contact_score WHERE contact_id IN ({c})")
    sections["segment_memberships"] = _rows(
        conn,
        "SELECT g.name AS segment, m.contact_id, m.entered_at, m.left_at FROM segment_member m"
        f" JOIN segment g ON g.id = m.segment_id WHERE m.contact_id IN ({c}) ORDER BY m.id",
    )
    ids_as_text = ", ".join(f"'{i}'" for i in person.contacts) or "NULL"
    sections["audit_entries"] = _rows(
        conn,
        "SELECT id, occurred_at, actor, action, entity, entity_id, details FROM audit_log"
        f" WHERE entity = 'contact' AND entity_id IN ({ids_as_text}) ORDER BY id",
    )
    _open_sections(sealer_of(conn), sections)
    return sections


_OPENED = {
    "contacts": "contact",
    "contact_points": "contact_point",
    "standardized_records": "contact_record",
    "source_records": "source_record",
    "source_record_history": "source_record_history",
}
"""Export section -> the table whose sealed columns its rows hold."""


def _open_sections(sealer: Sealer, sections: dict[str, list[dict[str, Any]]]) -> None:
    """Decrypt the sealed values of an export in place; blind indexes are left out (keyed
    hashes that tell the person nothing)."""
    for name, table in _OPENED.items():
        rows = sealer.open_rows(table, sections[name])
        sections[name] = [{k: v for k, v in r.items() if not k.endswith("_index")} for r in rows]
    for row in sections["source_records"] + sections["source_record_history"]:
        row["payload"] = json.loads(row["payload"]) if row.get("payload") else None
    for row in sections["merge_events"]:
        details = row.get("details")
        parsed = json.loads(details) if isinstance(details, str) else details
        if isinstance(parsed, dict) and isinstance(parsed.get("golden_before"), dict):
            parsed["golden_before"] = sealer.open_row("contact", parsed["golden_before"])
            row["details"] = json.dumps(parsed) if isinstance(details, str) else parsed


def _csv_text(rows: list[dict[str, Any]]) -> str:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(columns))
    for row in rows:
        cells = [row.get(k) for k in columns]
        writer.writerow(
            [
                neutralize(json.dumps(v, default=str) if isinstance(v, dict | list) else v)
                for v in cells
            ]
        )
    return buffer.getvalue()


def export_subject(
    conn: Connection,
    *,
    subject: str,
    out: Path,
    formats: Sequence[str] = ("json", "csv"),
    actor: str = "cli",
    region: str | None = None,
) -> PrivacyExport:
    """Write everything held about a subject to `out` (a directory): one JSON document
    and/or a zip of one CSV per section. Audited with counts only.

    Raises:
        NotFoundError: nothing matches the subject.
        InputError: an unknown format.
    """
    unknown = set(formats) - {"json", "csv"}
    if unknown:
        raise InputError(f"unknown export format(s) {sorted(unknown)}: use json and/or csv")
    person = person_of(conn, find_subject(conn, subject, region=region))
    sections = subject_sections(conn, person)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"privacy-export-contact-{person.survivors[0]}"
    files: list[Path] = []
    if "json" in formats:
        path = out / f"{stem}.json"
        document = {"exported_at": utcnow().isoformat(), "contacts": list(person.survivors)}
        path.write_text(
            json.dumps({**document, **sections}, indent=2, ensure_ascii=False, default=str),
            encoding="utf-8",
        )
        files.append(path)
    if "csv" in formats:
        path = out / f"{stem}.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, rows in sections.items():
                if rows:
                    archive.writestr(f"{name}.csv", _csv_text(rows))
        files.append(path)
    counts = {name: len(rows) for name, rows in sections.items()}
    append_audit(
        conn,
        actor=actor,
        action="privacy.export",
        entity="contact",
        entity_id=_entity_id(person),
        details={"sections": {k: v for k, v in counts.items() if v}, "formats": list(formats)},
    )
    return PrivacyExport(contacts=list(person.survivors), files=files, counts=counts)


def _entity_id(person: Person) -> str:
    joined = ",".join(str(i) for i in person.survivors)
    return joined if len(joined) <= 100 else f"{person.survivors[0]},..."


# --- erasure --------------------------------------------------------------------------------


@dataclass
class ErasureSummary:
    """What an erasure removed; `scrubbed` says whether freed bytes were overwritten."""

    erasure_id: str
    contacts: list[int]
    deleted: dict[str, int] = field(default_factory=dict)
    anonymized: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0
    keys_destroyed: int = 0
    scrubbed: bool = False


def _count(summary: dict[str, int], name: str, n: int) -> None:
    if n:
        summary[name] = summary.get(name, 0) + n


def _exec(conn: Connection, sql: str, **params: Any) -> int:
    return int(conn.execute(text(sql), params).rowcount or 0)


def _erase_people(
    conn: Connection, person: Person, summary: ErasureSummary, *, keep_contacts: bool = False
) -> dict[str, set[str]]:
    """Remove a person's data (or, with `keep_contacts`, leave their contacts as anonymous
    shells their activity stays attached to); return the values they were known by."""
    values = _values_of(conn, person.contacts, person.records)
    c, owner = _in(person.contacts), _owner_clause(person)
    sealer = sealer_of(conn)
    names = {
        (str(sealer.open_one("name", first)), str(sealer.open_one("name", last)))
        for first, last in conn.execute(
            text(
                "SELECT first_name_key, last_name_key FROM contact_record"
                f" WHERE source_record_id IN ({_in(person.records)})"
                " AND first_name_key IS NOT NULL AND last_name_key IS NOT NULL"
            )
        )
    }
    # The raw rows to delete: the person's, and the activity rows' own (their payloads name
    # the customer), found before the rows lose their links.
    raw = set(person.records) | set(person.mentions)
    orders = _in(_ids(conn, f'SELECT id FROM "order" WHERE {owner}'))
    raw.update(_ids(conn, f"SELECT source_record_id FROM order_line WHERE order_id IN ({orders})"))
    for name in (*_ACTIVITY, "consent"):
        raw.update(_ids(conn, f'SELECT source_record_id FROM "{name}" WHERE {owner}'))
    r = _in(raw)
    keep = "" if keep_contacts else "contact_id = NULL, "
    anonymize = [
        (
            "order_line",
            f"UPDATE order_line SET source_record_id = NULL WHERE order_id IN ({orders})",
        )
    ]
    for name in _ACTIVITY:
        extra = f", {_PERSONAL_TEXT[name]}" if name in _PERSONAL_TEXT else ""
        anonymize.append(
            (
                name,
                f'UPDATE "{name}" SET {keep}customer_record_id = NULL, source_record_id = NULL'
                f"{extra} WHERE {owner}",
            )
        )
    delete = [
        ("consent", f"DELETE FROM consent WHERE {owner}"),
        (
            "match_decision",
            f"DELETE FROM match_decision WHERE left_record_id IN ({r}) OR right_record_id IN ({r})",
        ),
        (
            "match_review",
            f"DELETE FROM match_review WHERE left_record_id IN ({r}) OR right_record_id IN ({r})",
        ),
        # Merge events keep golden-record snapshots: personal data, not just lineage.
        (
            "merge_event",
            f"DELETE FROM merge_event WHERE contact_id IN ({c})"
            f" OR other_contact_id IN ({c}) OR source_record_id IN ({r})",
        ),
        (
            "contact_point",
            f"DELETE FROM contact_point WHERE contact_id IN ({c}) OR source_record_id IN ({r})",
        ),
        (
            "contact_link",
            f"DELETE FROM contact_link WHERE contact_id IN ({c}) OR source_record_id IN ({r})",
        ),
    ]
    if keep_contacts:
        cleared = ", ".join(f"{col} = NULL" for col in _CONTACT_PERSONAL)
        anonymize.append(("contact", f"UPDATE contact SET {cleared} WHERE id IN ({c})"))
    else:
        _exec(
            conn,
            "UPDATE segment SET member_count = member_count - (SELECT count(*) FROM"
            " segment_member m WHERE m.segment_id = segment.id AND m.left_at IS NULL AND"
            f" m.contact_id IN ({c})) WHERE member_count IS NOT NULL AND id IN"
            f" (SELECT segment_id FROM segment_member WHERE contact_id IN ({c}))",
        )
        delete += [
            ("segment_member", f"DELETE FROM segment_member WHERE contact_id IN ({c})"),
            ("contact_score", f"DELETE FROM contact_score WHERE contact_id IN ({c})"),
            ("contact", f"DELETE FROM contact WHERE id IN ({c})"),
        ]
    delete += [
        ("contact_record", f"DELETE FROM contact_record WHERE source_record_id IN ({r})"),
        (
            "source_record_history",
            f"DELETE FROM source_record_history WHERE source_record_id IN ({r})",
        ),
        ("source_record", f"DELETE FROM source_record WHERE id IN ({r})"),
    ]
    # The keys of every sealed value about to go (crypto-shredding): found before the rows are.
    shredded = _subjects_in(conn, [sql for _, sql in delete])
    if keep_contacts:
        shredded |= _subjects_in(conn, [f"DELETE FROM contact WHERE id IN ({c})"])
    for name, sql in anonymize:
        _count(summary.anonymized, name, _exec(conn, sql))
    for name, sql in delete:
        _count(summary.deleted, name, _exec(conn, sql))
    # Name frequencies the matcher keeps: a name only this person had would still name them.
    for first, last in sorted(names):
        held, params = sealer.name_lookup(last, first)
        _count(
            summary.deleted,
            "match_tf",
            _exec(
                conn,
                "DELETE FROM match_tf WHERE \"column\" = 'name' AND value = :v AND NOT EXISTS"
                f" (SELECT 1 FROM contact_record WHERE {held})",
                v=sealer.tf_value("name", f"{first} {last}"),
                **params,
            ),
        )
    summary.keys_destroyed += _destroy_keys(conn, shredded)
    return values


_SUBJECT_TOKEN = re.compile(SUBJECT_PATTERN)


def _subjects_in(conn: Connection, deletes: Iterable[str]) -> set[str]:
    """The subjects of the sealed values in the rows these DELETE statements remove (every
    text column is looked at: snapshots and histories hold tokens inside JSON too)."""
    found: set[str] = set()
    for sql in deletes:
        select = sql.replace("DELETE FROM", "SELECT * FROM", 1)
        for row in conn.execute(text(select)):
            for value in row:
                if isinstance(value, str) and "sub1:" in value:
                    found.update(_SUBJECT_TOKEN.findall(value))
    return found


def _destroy_keys(conn: Connection, subjects: set[str]) -> int:
    """Destroy the subject keys of what was erased, in the key vault (outside the database
    and its backups). Runs before the erase commits: should the commit fail, the data left
    is unreadable already and erasing again finishes the job."""
    vault = sealer_of(conn).vault
    if vault is None or not subjects:
        return 0
    return vault.destroy(subjects)


def _suppress(
    conn: Connection, values: dict[str, set[str]], hash_value: HashValue, reason: str | None
) -> int:
    now = utcnow()
    held = {
        (str(k), str(h)) for k, h in conn.execute(text("SELECT kind, value_hash FROM suppression"))
    }
    rows = []
    for kind in ("email", "phone"):
        for value in sorted(values[kind]):
            pair = (kind, hash_value(kind, value))
            if pair not in held:
                held.add(pair)
                rows.append({"kind": kind, "h": pair[1], "reason": reason, "now": now})
    if rows:
        conn.execute(
            text(
                "INSERT INTO suppression (kind, value_hash, reason, created_at)"
                " VALUES (:kind, :h, :reason, :now)"
            ),
            rows,
        )
    return len(rows)


def _scrub_text(message: str | None, values: dict[str, set[str]]) -> str | None:
    """Remove the person's emails, phones and names from free text kept after them."""
    if message is None:
        return None
    cleaned = message
    for value in sorted(set().union(*values.values()), key=len, reverse=True):
        if len(value) >= 2:
            cleaned = re.sub(re.escape(value), "[erased]", cleaned, flags=re.IGNORECASE)
    return cleaned[:200]


_TOUCHED = (
    "contact",
    "contact_point",
    "contact_record",
    "contact_link",
    "source_record",
    "source_record_history",
    "merge_event",
    "match_decision",
    "match_review",
    "match_tf",
    "contact_score",
    "segment_member",
    "consent",
    "order_line",
    *_ACTIVITY,
)


def erase_subject(
    target: Engine | Connection,
    *,
    subject: str,
    suppress: bool,
    reason: str | None,
    actor: str,
    hash_value: HashValue | None,
    region: str | None = None,
) -> ErasureSummary:
    """Erase a person everywhere in one transaction, then make the deleted bytes unreadable.

    Deletes the golden record(s), merged duplicates, contact points, standardized and raw
    source records with their history, links, match decisions and reviews, merge events
    (their snapshots hold personal data), scores and segment memberships; anonymises the
    activity rows (amounts, dates and statuses stay; the person, the source rows, order
    numbers and personal text go); deletes consents; destroys the subject keys (backups);
    with `suppress`, keeps keyed hashes of the emails and phones so an import refuses them.

    Given an Engine, the erase commits and `scrub_deleted` runs; given a Connection, the
    caller's transaction holds the erase and the caller runs `scrub_deleted` after commit.

    Raises:
        NotFoundError: nothing matches the subject.
        ConfigError: `suppress` without a `hash_value`.
    """
    if suppress and hash_value is None:
        raise ConfigError("suppression needs a keyed hash: configure privacy.suppression_key")
    if isinstance(target, Engine):
        with target.connect() as conn:
            secure = _secure_delete(conn, on=True)
            try:
                with conn.begin():
                    summary = erase_subject(
                        conn,
                        subject=subject,
                        suppress=suppress,
                        reason=reason,
                        actor=actor,
                        hash_value=hash_value,
                        region=region,
                    )
            finally:
                if secure is not None:
                    _secure_delete(conn, on=bool(secure))
        summary.scrubbed = scrub_deleted(target, tables=_TOUCHED)
        return summary
    conn = target
    _secure_delete(conn, on=True)
    person = person_of(conn, find_subject(conn, subject, region=region))
    summary = ErasureSummary(erasure_id=uuid.uuid4().hex, contacts=list(person.survivors))
    values = _erase_people(conn, person, summary)
    if suppress:
        assert hash_value is not None
        summary.suppressed = _suppress(conn, values, hash_value, _scrub_text(reason, values))
    append_audit(
        conn,
        actor=actor,
        action="privacy.erase",
        entity="contact",
        entity_id=_entity_id(person),
        details={
            "erasure_id": summary.erasure_id,
            "reason": _scrub_text(reason, values),
            "deleted": summary.deleted,
            "anonymized": summary.anonymized,
            "suppressed": summary.suppressed,
            "keys_destroyed": summary.keys_destroyed,
        },
    )
    return summary


def _secure_delete(conn: Connection, *, on: bool) -> int | None:
    """Zero freed SQLite cells on this connection (returns the previous setting); no-op
    elsewhere. Without it SQLite leaves deleted rows readable in free pages."""
    if conn.dialect.name != "sqlite":
        return None
    raw: Any = conn.connection.driver_connection
    before = raw.execute("PRAGMA secure_delete").fetchone()[0]
    raw.execute(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}")
    return int(before)


def scrub_deleted(engine: Engine, *, tables: Sequence[str] = _TOUCHED) -> bool:
    """Make what was deleted unrecoverable from the database files; True when complete.

    SQLite: VACUUM rebuilds the file from live rows only (no free pages, no stale cells),
    then a TRUNCATE checkpoint copies it back and empties the WAL, which still held the
    pages as they were before the erase. The checkpoint is incomplete (False) while another
    process reads the file; running it again later finishes it. PostgreSQL: VACUUM on the
    touched tables prunes the dead row versions (outside a transaction, as it must run);
    the server's own WAL and old backups keep them until recycled, which the destroyed
    subject keys cover for encrypted values.
    """
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = cursor.fetchone()
            cursor.close()
        except sqlite3.OperationalError:  # another process holds the file: try again later
            return False
        finally:
            raw.close()
        return row is not None and int(row[0]) == 0
    with engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in tables:
            auto.exec_driver_sql(f'VACUUM "{name}"')
    return True


# --- retention ------------------------------------------------------------------------------


@dataclass
class RetentionSummary:
    """What the retention policies removed or anonymised (or would, on a dry run)."""

    dry_run: bool
    cutoffs: dict[str, str] = field(default_factory=dict)  # policy -> oldest kept moment
    contacts: dict[str, int] = field(default_factory=dict)  # policy -> contacts affected
    rows: dict[str, int] = field(default_factory=dict)  # policy -> activity rows affected
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    anonymized: dict[str, int] = field(default_factory=dict)  # table -> rows anonymised


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def _stamp(conn: Connection, moment: datetime) -> Any:
    """A moment as a parameter compared against stored times (SQLite keeps them as text)."""
    if conn.dialect.name == "postgresql":
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(" ")


# (table, time column that says when the row happened) per activity kind.
_KIND_TABLES = {
    "orders": ("order", "ordered_at"),
    "interactions": ("interaction", "occurred_at"),
    "tickets": ("ticket", "coalesce(solved_at, opened_at, created_at)"),
    "events": ("event", "occurred_at"),
}


def _source_id(conn: Connection, source: str | None) -> int | None:
    if source is None:
        return None
    found = conn.execute(text("SELECT id FROM source WHERE name = :n"), {"n": source}).scalar()
    if found is None:
        raise NotFoundError(f"retention policy names source {source!r}, which does not exist")
    return int(found)


def _inactive_contacts(conn: Connection, cut: Any, source_id: int | None) -> list[int]:
    """Golden contacts with no order, interaction, ticket, event or record change since `cut`
    (a record's time is the source's own last change when it says, else when it arrived)."""
    recent = (
        "SELECT 1 FROM contact_link l JOIN source_record s ON s.id = l.source_record_id"
        " LEFT JOIN contact_record cr ON cr.source_record_id = s.id WHERE l.contact_id = c.id"
        " AND coalesce(cr.source_updated_at, cr.source_created_at, s.updated_at, s.created_at)"
        " >= :cut"
    )
    checks = [recent] + [
        f'SELECT 1 FROM "{name}" t WHERE t.contact_id = c.id AND {column} >= :cut'
        for name, column in _KIND_TABLES.values()
    ]
    where = " AND ".join(f"NOT EXISTS ({check})" for check in checks)
    if source_id is not None:
        # A person another source still knows is that source's policy's to keep or drop.
        where += (
            " AND EXISTS (SELECT 1 FROM contact_link l JOIN source_record s ON"
            " s.id = l.source_record_id WHERE l.contact_id = c.id AND s.source_id = :src)"
            " AND NOT EXISTS (SELECT 1 FROM contact_link l JOIN source_record s ON"
            " s.id = l.source_record_id WHERE l.contact_id = c.id AND s.source_id <> :src)"
        )
    return _ids(
        conn,
        f"SELECT c.id FROM contact c WHERE c.merged_into_id IS NULL AND {where} ORDER BY c.id",
        cut=cut,
        src=source_id,
    )


def _expire_rows(
    conn: Connection,
    policy: RetentionPolicy,
    cut: Any,
    source_id: int | None,
    summary: RetentionSummary,
) -> int:
    name, column = _KIND_TABLES[policy.kind]
    where = f"{column} < :cut"
    if policy.action == "anonymize":  # rows anonymised by an earlier run are left alone
        where += " AND (contact_id IS NOT NULL OR source_record_id IS NOT NULL)"
    if source_id is not None:
        where += " AND source_record_id IN (SELECT id FROM source_record WHERE source_id = :src)"
    ids = _ids(conn, f'SELECT id FROM "{name}" WHERE {where}', cut=cut, src=source_id)
    if not ids:
        return 0
    rows = _in(ids)
    raw = set(_ids(conn, f'SELECT source_record_id FROM "{name}" WHERE id IN ({rows})'))
    if name == "order":
        raw.update(
            _ids(conn, f"SELECT source_record_id FROM order_line WHERE order_id IN ({rows})")
        )
    if policy.action == "delete":
        if name == "order":
            _count(
                summary.anonymized,
                "payment",
                _exec(conn, f"UPDATE payment SET order_id = NULL WHERE order_id IN ({rows})"),
            )
            _count(
                summary.deleted,
                "order_line",
                _exec(conn, f"DELETE FROM order_line WHERE order_id IN ({rows})"),
            )
        _count(summary.deleted, name, _exec(conn, f'DELETE FROM "{name}" WHERE id IN ({rows})'))
    else:
        extra = f", {_PERSONAL_TEXT[name]}" if name in _PERSONAL_TEXT else ""
        if name == "order":
            _exec(conn, f"UPDATE order_line SET source_record_id = NULL WHERE order_id IN ({rows})")
        _count(
            summary.anonymized,
            name,
            _exec(
                conn,
                f'UPDATE "{name}" SET contact_id = NULL, customer_record_id = NULL,'
                f" source_record_id = NULL{extra} WHERE id IN ({rows})",
            ),
        )
    r = _in(raw)
    deletes = {
        "source_record_history": (
            f"DELETE FROM source_record_history WHERE source_record_id IN ({r})"
        ),
        "source_record": f"DELETE FROM source_record WHERE id IN ({r})",
    }
    shredded = _subjects_in(conn, deletes.values())
    for table_name, sql in deletes.items():
        _count(summary.deleted, table_name, _exec(conn, sql))
    _destroy_keys(conn, shredded)
    return len(ids)


def apply_retention(
    conn: Connection,
    *,
    policies: Sequence[RetentionPolicy],
    now: datetime,
    dry_run: bool,
    actor: str = "cli",
) -> RetentionSummary:
    """Apply the retention policies in the caller's transaction (rolled back on a dry run).

    Contacts inactive for a policy's months are erased (`delete`) or kept as anonymous shells
    their activity stays attached to (`anonymize`); activity rows older than that are deleted
    or anonymised. A scheduler (cron, a systemd timer) runs `rolodex privacy retention`.

    Raises:
        NotFoundError: a policy names a source that does not exist.
    """
    summary = RetentionSummary(dry_run=dry_run)
    savepoint = conn.begin_nested()
    try:
        for policy in policies:
            label = f"{policy.kind}{'@' + policy.source if policy.source else ''}:{policy.months}m"
            cutoff = months_before(now, policy.months)
            summary.cutoffs[label] = cutoff.isoformat()
            cut, source_id = _stamp(conn, cutoff), _source_id(conn, policy.source)
            if policy.kind == "contacts":
                ids = _inactive_contacts(conn, cut, source_id)
                summary.contacts[label] = len(ids)
                erased = ErasureSummary(erasure_id="", contacts=ids)
                for contact in ids:
                    _erase_people(
                        conn,
                        person_of(conn, [contact], mentions=False),
                        erased,
                        keep_contacts=policy.action == "anonymize",
                    )
                for target, source in (
                    (summary.deleted, erased.deleted),
                    (summary.anonymized, erased.anonymized),
                ):
                    for k, v in source.items():
                        _count(target, k, v)
            else:
                summary.rows[label] = _expire_rows(conn, policy, cut, source_id, summary)
        if dry_run:
            savepoint.rollback()
            return summary
        savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    append_audit(
        conn,
        actor=actor,
        action="privacy.retention",
        details={
            "contacts": summary.contacts,
            "rows": summary.rows,
            "deleted": summary.deleted,
            "anonymized": summary.anonymized,
        },
    )
    return summary
