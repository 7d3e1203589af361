"""Writing contacts through the HTTP API: creates that run the import's own mapping, cleaning
and writing path plus the real-time match, and manual edits of golden fields guarded by
ETags.

A create is an in-memory import: the records become `RawRow`s of one chunk, mapped by
`infer_mapping`, prepared by `ChunkPreparer`, cleaned by the import's cleaner, keyed by
`SeenKeys` and stored by `write_chunk` (source records with payload, content hash and
batch, standardized views), all in one transaction, without a temporary file. Each
accepted record is then matched against the stored contacts with the trained model, as
`Workspace.match` does, but in one batch of indexed lookups:

- no candidate reaches "match": the record gets its own golden contact (created);
- `on_match="merge"`: linked into the best matching contact, whose golden values are rebuilt
  by survivorship (merged);
- `on_match="create"`: its own golden contact regardless (created; a later resolve may still
  join them, as it would after an import);
- `on_match="report"`: the source record is kept, unlinked, and no golden contact is made
  (possible_duplicate). Sending the same record again with "merge" or "create" settles it
  (records are keyed by `record_id`, else by content, so the resend finds it). Left alone,
  the next resolve matches it like any new record, and the next import's clean-up pass gives
  any unlinked record its own contact.

Without a trained model (no resolve yet) candidates are contacts sharing the exact email or
phone match key (role mailboxes excepted), decision "match".

Personal data is stored encrypted (`rolodex.store.sealed`): edits seal what they write and
set the blind indexes, lookups go through those indexes, and ETags hash the decrypted
values, so a tag does not change with every new token of the same value.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from statistics import fmean
from typing import Any, Final, Literal, get_args

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection, Engine, text

from rolodex.clean.address import standardize_country, standardize_postcode, standardize_region
from rolodex.clean.base import Flag, Result
from rolodex.clean.company import standardize_company
from rolodex.clean.email import standardize_email
from rolodex.clean.names import standardize_name
from rolodex.clean.phone import standardize_phone
from rolodex.collect.convert import ParseError, parse_date
from rolodex.collect.fields import Kind, field_names
from rolodex.collect.mapping import infer_mapping
from rolodex.collect.prepare import ChunkPreparer
from rolodex.collect.rows import RawRow
from rolodex.collect.seen import SeenKeys
from rolodex.collect.writer import WriteContext, write_chunk
from rolodex.config import ResolveSettings, Settings
from rolodex.exceptions import InputError, NotFoundError, RolodexError, TerminalError
from rolodex.model.base import utcnow
from rolodex.pipeline.contacts_read import (
    CONTACT,
    MANUAL_PREFIX,
    contact_dict,
    etag,
    get_contact_row,
)
from rolodex.pipeline.replay import make_cleaner
from rolodex.resolve import model as m
from rolodex.resolve import singletons
from rolodex.resolve.realtime import Scorer, feature_rows, stored_term_frequencies
from rolodex.resolve.run import follow_activity, identifier_fields, read_records, write_golden
from rolodex.resolve.survivorship import GOLDEN_FIELDS
from rolodex.secure.permissions import PermissionDenied
from rolodex.store import repo
from rolodex.store.audit import append_audit
from rolodex.store.bulk import ConnectionBulk
from rolodex.store.sealed import Sealer, contact_subject, sealer_of

__all__ = [
    "EDITABLE",
    "READ_ONLY",
    "CreateResult",
    "OnMatch",
    "PreconditionFailed",
    "create_contacts",
    "match_records",
    "update_contact",
    "update_contacts",
]

OnMatch = Literal["report", "merge", "create"]
Status = Literal["created", "merged", "possible_duplicate", "invalid", "unchanged", "updated"]

EDITABLE: Final = (*(f for f in GOLDEN_FIELDS), "company_id")
"""Golden fields a person may edit."""
READ_ONLY: Final = ("id", "lineage", "merged_into_id", "created_at", "updated_at")

# Encrypted columns are unbounded text (tokens are longer than values): the plain limits.
_PLAIN_LENGTHS: Final = {"email": 320, "phone": 100}
_MAX_CANDIDATES: Final = 200  # per lookup key, as the single-record match
_NAME_PARTS: Final = ("salutation", "first_name", "middle_name", "last_name", "suffix")


class PreconditionFailed(TerminalError):
    """The contact changed since the caller read it (its ETag differs from If-Match)."""


# --- manual edits ------------------------------------------------------------------------


def _matches(if_match: str, current: str) -> bool:
    """Strong comparison of an If-Match header value (a list, or *) with the current tag."""
    wanted = [t.strip() for t in if_match.split(",") if t.strip()]
    return "*" in wanted or any(
        not t.startswith("W/") and t.strip('"') == current.strip('"') for t in wanted
    )


def _refuse(name: str, result: Result) -> None:
    if result.flag is Flag.INVALID:
        reason = "; ".join(result.notes) or "invalid"
        raise InputError(f"{reason}", column=name)


def _has_nul(value: object) -> bool:
    """Tell whether a NUL character hides in a key or text at any depth (PostgreSQL stores
    no NUL in text or JSON, so it must be refused before it reaches a statement)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


NUL_REFUSED = "text must not contain NUL characters (\\u0000)"


def _text_value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"expected text, got {type(value).__name__}", column=name)
    value = " ".join(value.split())
    limit = _PLAIN_LENGTHS.get(name, getattr(CONTACT.c[name].type, "length", None))
    if limit is not None and len(value) > limit:
        raise InputError(f"longer than {limit} characters", column=name)
    return value or None


def standardize_changes(
    conn: Connection,
    changes: Mapping[str, Any],
    *,
    current: Mapping[str, Any],
    region: str | None = None,
) -> dict[str, Any]:
    """Validate and standardize edited golden values with the import's clean functions.

    Raises:
        InputError: an unknown or read-only field, or a value that cannot be made valid.
    """
    if _has_nul(changes):
        raise InputError(NUL_REFUSED)
    for name in changes:
        if name in READ_ONLY:
            raise InputError("read-only field", column=name)
        if name not in EDITABLE:
            raise InputError(
                f"unknown field; editable fields are: {', '.join(EDITABLE)}", column=name
            )
    out: dict[str, Any] = {}
    texts = {
        n: _text_value(n, v)
        for n, v in changes.items()
        if n not in ("custom", "birth_date", "company_id")
    }
    country = current.get("country")
    if "country" in texts:
        found = standardize_country(texts["country"])
        _refuse("country", found)
        country = out["country"] = found.value
    for name, value in texts.items():
        if name == "country":
            continue
        if value is None:
            out[name] = None
        elif name == "email":
            found = standardize_email(value)
            _refuse(name, found)
            out[name] = found.value
        elif name == "phone":
            found = standardize_phone(value, region=country or region)
            _refuse(name, found)
            out[name] = found.value
        elif name in ("first_name", "middle_name"):
            parsed = standardize_name(first=value, last=None, full=None)
            _refuse(name, Result(parsed.first, parsed.flag, parsed.notes))
            out[name] = parsed.first if name == "first_name" else value
        elif name == "last_name":
            parsed = standardize_name(first=None, last=value, full=None)
            _refuse(name, Result(parsed.last, parsed.flag, parsed.notes))
            out[name] = parsed.last
        elif name == "postcode":
            found = standardize_postcode(value, country=country)
            _refuse(name, found)
            out[name] = found.value
        elif name == "region":
            out[name] = standardize_region(value, country=country).value or value
        elif name == "company_name":
            found = standardize_company(value)
            _refuse(name, found)
            out[name] = found.value
        else:
            out[name] = value
    if "birth_date" in changes:
        # Stored as ISO text (it is encrypted like the other personal data).
        raw = changes["birth_date"]
        if raw is None:
            out["birth_date"] = None
        elif isinstance(raw, date):
            day = raw.date() if isinstance(raw, datetime) else raw
            out["birth_date"] = day.isoformat()
        else:
            try:
                out["birth_date"] = parse_date(str(raw)).isoformat()
            except ParseError as exc:
                raise InputError(str(exc), column="birth_date") from exc
    if "company_id" in changes:
        company = changes["company_id"]
        if company is not None:
            if isinstance(company, bool) or not isinstance(company, int):
                raise InputError("expected a company id", column="company_id")
            exists = conn.execute(
                text("SELECT 1 FROM company WHERE id = :id"), {"id": company}
            ).first()
            if exists is None:
                raise InputError(f"there is no company {company}", column="company_id")
        out["company_id"] = company
    if "custom" in changes:
        given = changes["custom"]
        if given is not None and not isinstance(given, Mapping):
            raise InputError("expected an object of custom fields", column="custom")
        merged = dict(current.get("custom") or {}) if given is not None else {}
        for key, value in (given or {}).items():
            if value is None:
                merged.pop(str(key), None)
            else:
                merged[str(key)] = value
        out["custom"] = merged or None
    return out


def update_contact(
    conn: Connection,
    *,
    contact_id: int,
    changes: Mapping[str, Any],
    if_match: str | None,
    actor: str,
    region: str | None = None,
    origin: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> dict[str, Any]:
    """Edit golden fields of one contact, in the caller's transaction.

    Values are standardized as an import would (email, phone to E.164 in the contact's
    country or `region`, names, country to ISO alpha-2, postcode, company). Each edited
    field's lineage becomes "manual:<actor>"; a new email or phone also becomes the primary
    contact point, so lookups find it. The audit entry names the fields, never the values.
    A later survivorship rebuild of this contact (resolve, merge) recomputes golden values
    from the source records and does not keep manual edits.

    Args:
        if_match: the ETag the caller read (None skips the check; "*" accepts any).

    Returns:
        The contact as `contact_dict` gives it, with its new ETag.

    Raises:
        NotFoundError: no such contact (or `where`, the caller's row scope, hides it).
        InputError: an unknown or read-only field, or an invalid value.
        PreconditionFailed: `if_match` is not the contact's current ETag.
    """
    row, merged_from = get_contact_row(conn, contact_id)
    cid = int(row["id"])
    # Lock the row before comparing tags (SQLite's BEGIN IMMEDIATE already holds the lock).
    query = sa.select(CONTACT).where(CONTACT.c.id == cid)
    if where is not None:
        query = query.where(where)
    locked = conn.execute(query.with_for_update()).mappings().first()
    if locked is None:
        raise NotFoundError(f"there is no contact {contact_id}")
    sealer = sealer_of(conn)
    row = sealer.open_row("contact", dict(locked))
    current = etag(row)
    if if_match is not None and not _matches(if_match, current):
        raise PreconditionFailed(
            f"contact {cid} changed since it was read (ETag {current}, If-Match {if_match})"
        )
    if not changes:
        raise InputError("no field to change")
    values = standardize_changes(conn, changes, current=row, region=region)
    lineage = row.get("lineage") or {}
    if isinstance(lineage, str):
        lineage = json.loads(lineage)
    lineage = {**lineage, **dict.fromkeys(values, MANUAL_PREFIX + actor)}
    now = utcnow()
    conn.execute(
        CONTACT.update()
        .where(CONTACT.c.id == cid)
        .values(
            **sealer.seal_row("contact", values, subject=contact_subject(conn, cid)),
            lineage=lineage,
            updated_at=now,
        )
    )
    for kind in ("email", "phone"):
        if kind in values:
            _primary_point(conn, sealer, cid, kind, values[kind])
    append_audit(
        conn,
        actor=actor,
        action="contact update",
        entity="contact",
        entity_id=cid,
        details={"fields": sorted(values)},
        origin=origin,
    )
    fresh, _ = get_contact_row(conn, cid, follow=False)
    out = contact_dict(fresh)
    out["merged_into"] = cid if merged_from is not None else None
    return out


def _primary_point(
    conn: Connection, sealer: Sealer, cid: int, kind: str, value: str | None
) -> None:
    """Make `value` the contact's primary point of `kind` (adding it, sealed, when it is
    new); the point already held is found by its blind index, its value being a token."""
    conn.execute(
        text("UPDATE contact_point SET is_primary = :no WHERE contact_id = :c AND kind = :k"),
        {"no": False, "c": cid, "k": kind},
    )
    if value is None:
        return
    done = conn.execute(
        text(
            "UPDATE contact_point SET is_primary = :yes"
            " WHERE contact_id = :c AND kind = :k AND value_index = :ix"
        ),
        {"yes": True, "c": cid, "k": kind, "ix": sealer.point_index(kind, value)},
    ).rowcount
    if not done:
        conn.execute(
            text(
                "INSERT INTO contact_point (contact_id, kind, value, value_index, is_primary)"
                " VALUES (:contact_id, :kind, :value, :value_index, :is_primary)"
            ),
            sealer.seal_row(
                "contact_point",
                {"contact_id": cid, "kind": kind, "value": value, "is_primary": True},
                subject=contact_subject(conn, cid),
            ),
        )


def update_contacts(
    conn: Connection,
    *,
    updates: Sequence[Mapping[str, Any]],
    actor: str,
    region: str | None = None,
    origin: str | None = None,
    where: ColumnElement[bool] | None = None,
    check: Callable[[Mapping[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Apply many edits, each `{"contact_id", "changes", "if_match"?}`, in one transaction;
    each item in its own savepoint, so one bad item does not fail the others.

    `where` is the caller's row scope; `check` refuses changes the caller may not make.

    Returns:
        Per item, in order: {"index", "contact_id", "status": "updated", "contact"} or
        {"index", "contact_id", "status": "error", "error", "code"} with code one of
        invalid, not_found, precondition_failed.
    """
    out: list[dict[str, Any]] = []
    for index, item in enumerate(updates):
        cid = item.get("contact_id") if isinstance(item, Mapping) else None
        try:
            if not isinstance(cid, int) or isinstance(cid, bool):
                raise InputError("each update needs an integer contact_id")
            changes = item.get("changes")
            if not isinstance(changes, Mapping):
                raise InputError("each update needs an object of changes", column="changes")
            if check is not None:
                check(changes)
            with conn.begin_nested():
                done = update_contact(
                    conn,
                    contact_id=cid,
                    changes=changes,
                    if_match=item.get("if_match"),
                    actor=actor,
                    region=region,
                    origin=origin,
                    where=where,
                )
            out.append({"index": index, "contact_id": cid, "status": "updated", "contact": done})
        except RolodexError as exc:
            code = (
                "precondition_failed"
                if isinstance(exc, PreconditionFailed)
                else "not_found"
                if isinstance(exc, NotFoundError)
                else "forbidden"
                if isinstance(exc, PermissionDenied)
                else "invalid"
            )
            out.append(
                {
                    "index": index,
                    "contact_id": cid,
                    "status": "error",
                    "code": code,
                    "error": str(exc),
                }
            )
    return out


# --- creates -----------------------------------------------------------------------------


@dataclass
class CreateResult:
    """What became of one record of a create call."""

    index: int
    status: Status
    contact_id: int | None = None
    source_record_id: int | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why a record is invalid
    flags: dict[str, Any] | None = None  # the cleaning's per-field quality flags

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return asdict(self)


def _header(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every key the records use, canonical contact fields first (in their order)."""
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            seen.setdefault(str(key), None)
    canonical = [name for name in field_names(Kind.CONTACTS) if name in seen]
    return canonical + [k for k in seen if k not in canonical]


def _unusable(record: object) -> str | None:
    """Why a record cannot even be prepared (it has no columns to prepare), or None."""
    if not isinstance(record, Mapping) or not all(isinstance(k, str) for k in record):
        return "a record must be a JSON object"
    if not record:
        return "the record has no fields"
    if any(not key.strip() for key in record):
        return "every field name must be non-empty text"
    if _has_nul(record):
        return NUL_REFUSED
    return None


def create_contacts(
    engine: Engine,
    *,
    records: Sequence[Mapping[str, Any]],
    source: str = "api",
    on_match: OnMatch = "report",
    actor: str,
    settings: Settings,
    scorer: Scorer | None,
    candidates: int = 5,
) -> list[CreateResult]:
    """Create contacts as an import of `records` would, with the real-time match; see the
    module docstring for what happens on a match.

    Args:
        engine: the workspace's engine; the whole call is one transaction.
        records: canonical field names (first_name, last_name, email, phone, company_name,
            country, city, record_id, ...); other keys become custom fields.
        source: the source the records belong to (created on first use).
        on_match: what to do when a stored contact matches: report, merge or create.
        actor: who asks (batch, links, audit).
        settings: cleaning rules and matching thresholds.
        scorer: the trained model's scorer, None to match by exact email and phone keys.
        candidates: candidates reported per record.

    Returns:
        One result per record, in order.

    Raises:
        InputError: `on_match` is not one of report, merge, create.

    Examples:
        >>> create_contacts(engine, records=[{"first_name": "Jane", "email": "j@x.com"}],
        ...                 actor="api", settings=settings, scorer=None)
        [CreateResult(index=0, status='created', contact_id=42, ...)]
    """
    if on_match not in get_args(OnMatch):
        raise InputError(f"on_match must be one of {', '.join(get_args(OnMatch))}")
    results: dict[int, CreateResult] = {}
    good: list[int] = []
    for i, record in enumerate(records):
        unusable = _unusable(record)
        if unusable is None:
            good.append(i)
        else:
            results[i] = CreateResult(i, "invalid", reasons=[unusable])
    if not good:
        return [results[i] for i in range(len(records))]
    given = [records[i] for i in good]
    header = _header(given)
    values = [[record.get(h) for h in header] for record in given]
    sample = values[: settings.import_.sample_rows]
    mapping = infer_mapping(header, sample, kind=Kind.CONTACTS, id_column=None, overrides=None)
    now = utcnow()
    with engine.begin() as conn:
        source_id = repo.get_or_create_source(conn, source)
        declared = repo.ensure_custom_fields(
            conn,
            entity="contact",
            fields={
                name: (header[i], _widened(mapping.custom_types.get(name, "text")))
                for i, name in mapping.custom.items()
            },
            now=now,
        )
        batch_id = repo.create_batch(
            conn,
            source_id=source_id,
            kind=Kind.CONTACTS.value,
            files=["api"],
            mapping={
                "kind": Kind.CONTACTS.value,
                "fields": {name: header[i] for name, i in mapping.fields.items()},
                "custom": {header[i]: name for i, name in mapping.custom.items()},
                "custom_types": dict(declared),
                "id_column": None,
            },
            actor=actor,
        )
        preparer = ChunkPreparer(
            kind=Kind.CONTACTS,
            file="api",
            header=header,
            fields=mapping.fields,
            custom=mapping.custom,
            custom_types=declared,
            # An id is optional per record: one without is keyed by its content.
            has_id_column=False,
            sample=sample,
        )
        chunk = preparer.prepare([RawRow(i + 1, v) for i, v in zip(good, values, strict=True)])
        make_cleaner(Kind.CONTACTS, settings.clean, source=source)(chunk)
        with SeenKeys() as seen:
            seen.claim(chunk)
        db = ConnectionBulk(conn)
        ctx = WriteContext(source_id=source_id, kind=Kind.CONTACTS, batch_id=batch_id)
        written = write_chunk(db, chunk, ctx=ctx)
        stored = {
            str(key): (int(rid), None if contact is None else int(contact))
            for key, rid, contact in db.query_in(
                "SELECT r.record_key, r.id, l.contact_id FROM source_record r"
                " LEFT JOIN contact_link l ON l.source_record_id = r.id"
                " WHERE r.source_id = ? AND r.kind = ? AND r.record_key IN (?*)",
                sorted(set(chunk.keys)),
                [source_id, Kind.CONTACTS.value],
            )
        }
        flags = (
            chunk.values.get_column("flags").to_list()
            if "flags" in chunk.values.columns
            else [None] * len(chunk)
        )
        changed = set(written.changed_records)
        pending: dict[int, int] = {}  # record id -> result index
        refresh: dict[int, int] = {}  # contact id -> a record whose new version it shows
        for row, i in enumerate(good):
            rid, contact = stored.get(chunk.keys[row], (None, None))
            result = CreateResult(i, "invalid", source_record_id=rid)
            raw_flags = flags[row]
            result.flags = json.loads(str(raw_flags)) if raw_flags else None
            results[i] = result
            if chunk.is_fatal(row):
                result.reasons = [p.message for p in chunk.problems[row] if p.fatal]
            elif rid is None:  # cannot happen: every accepted row is stored
                result.reasons = ["not stored"]
            elif contact is None:
                pending[rid] = i
            else:
                result.contact_id = contact
                result.status = "updated" if rid in changed else "unchanged"
                if rid in changed:
                    refresh[contact] = rid
        if refresh:
            write_golden(db, sorted(refresh), now=now, rules=settings.resolve.survivorship)
        found = match_records(
            conn, sorted(pending), options=settings.resolve, scorer=scorer, limit=candidates
        )
        _settle(db, pending, found, results, on_match=on_match, actor=actor, settings=settings)
        counts: dict[str, int] = defaultdict(int)
        for r in results.values():
            counts[r.status] += 1
        conn.execute(
            text(
                "UPDATE import_batch SET rows_read = :read, rows_accepted = :accepted,"
                " rows_updated = :updated, rows_unchanged = :unchanged,"
                " rows_quarantined = :quarantined WHERE id = :id"
            ),
            {
                "read": written.read,
                "accepted": written.accepted,
                "updated": written.updated,
                "unchanged": written.unchanged,
                "quarantined": written.quarantined,
                "id": batch_id,
            },
        )
        repo.finish_batch(conn, batch_id, status="completed")
        append_audit(
            conn,
            actor=actor,
            action="contacts create",
            entity="contact",
            entity_id=batch_id,
            details={"source": source, "on_match": on_match, **dict(sorted(counts.items()))},
        )
    return [results[i] for i in range(len(records))]


def _widened(kind: str) -> str:
    """A sample of whole numbers does not make a field whole (as the import decides)."""
    return "number" if kind == "integer" else kind


def _settle(
    db: ConnectionBulk,
    pending: Mapping[int, int],
    found: Mapping[int, list[dict[str, Any]]],
    results: Mapping[int, CreateResult],
    *,
    on_match: OnMatch,
    actor: str,
    settings: Settings,
) -> None:
    """Create, merge or hold each pending record as its candidates and `on_match` say."""
    now = utcnow()
    create: list[int] = []
    merge: list[tuple[int, dict[str, Any]]] = []
    for rid, i in pending.items():
        result = results[i]
        result.candidates = found.get(rid, [])
        best = next((c for c in result.candidates if c["decision"] == "match"), None)
        if best is None or on_match == "create":
            create.append(rid)
            result.status = "created"
        elif on_match == "merge":
            merge.append((rid, best))
            result.status = "merged"
            result.contact_id = int(best["contact_id"])
        else:
            result.status = "possible_duplicate"
    if create:
        singletons.link_new_contacts(db, sorted(create), now=now)
        made = dict(
            db.query_in(
                "SELECT source_record_id, contact_id FROM contact_link"
                " WHERE source_record_id IN (?*)",
                sorted(create),
            )
        )
        for rid in create:
            results[pending[rid]].contact_id = int(made[rid])
        _queue_reviews(db, create, found, now=now)
    if merge:
        stamp = db.stamp(now)
        db.executemany(
            "INSERT INTO contact_link (source_record_id, contact_id, match_probability,"
            " evidence, linked_by, linked_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    rid,
                    int(best["contact_id"]),
                    best.get("probability"),
                    json.dumps(
                        {"record": best.get("best_record"), "weights": best.get("weights", {})}
                    ),
                    actor,
                    stamp,
                )
                for rid, best in merge
            ],
        )
        write_golden(
            db,
            sorted({int(best["contact_id"]) for _, best in merge}),
            now=now,
            rules=settings.resolve.survivorship,
        )
        follow_activity(db, [rid for rid, _ in merge])
        db.executemany(
            "INSERT INTO merge_event (action, contact_id, source_record_id, actor, reason,"
            " details, occurred_at) VALUES ('link', ?, ?, ?, ?, ?, ?)",
            [
                (
                    int(best["contact_id"]),
                    rid,
                    actor,
                    "matched on create",
                    json.dumps({"records": [rid], "probability": best.get("probability")}),
                    stamp,
                )
                for rid, best in merge
            ],
        )


def _queue_reviews(
    db: ConnectionBulk,
    created: Sequence[int],
    found: Mapping[int, list[dict[str, Any]]],
    *,
    now: datetime,
) -> None:
    """Queue the uncertain pairs of newly created contacts for a person, as resolve would."""
    rows = [
        (
            min(rid, int(c["best_record"])),
            max(rid, int(c["best_record"])),
            float(c["probability"]),
            json.dumps(c.get("weights", {})),
            "pending",
            db.stamp(now),
        )
        for rid in created
        for c in found.get(rid, [])
        if c["decision"] != "different"
        and c.get("best_record") is not None
        and c.get("probability") is not None
    ]
    if rows:
        db.executemany(
            "INSERT INTO match_review (left_record_id, right_record_id, probability, evidence,"
            " status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            sorted(set(rows)),
        )


# --- matching many records at once -------------------------------------------------------


def match_records(
    conn: Connection,
    record_ids: Sequence[int],
    *,
    options: ResolveSettings,
    scorer: Scorer | None,
    limit: int = 5,
) -> dict[int, list[dict[str, Any]]]:
    """Match stored, not yet linked contact records against the linked ones: the single-record
    match of `pipeline.match.match_record` for many records at once (same lookups, same
    scoring against every record of each candidate contact, same thresholds), with one
    query per lookup kind instead of one per record.

    Without `scorer` a candidate is a contact sharing the exact email or phone key.

    Returns:
        record id -> candidates, best first (records without any are left out).
    """
    if not record_ids:
        return {}
    db = ConnectionBulk(conn)
    identifiers = identifier_fields(conn)
    frame = read_records(conn, record_ids, narrow=True, custom=bool(identifiers), linked=False)
    incoming = {int(r["unique_id"]): r for r in feature_rows(m.features(frame, identifiers))}
    hits: dict[int, set[int]] = defaultdict(set)  # incoming record -> stored records
    keyed = ("email", "phone", "phone2") + (("name",) if scorer is not None else ())
    for kind in keyed:
        _lookup(db, kind, incoming, hits)
    if not hits:
        return {}
    contact_of: dict[int, int] = {}
    for start_ids in _slices(sorted({r for found in hits.values() for r in found})):
        for rid, contact in db.query_in(
            "SELECT source_record_id, contact_id FROM contact_link WHERE source_record_id IN (?*)",
            start_ids,
        ):
            contact_of[int(rid)] = int(contact)
    if scorer is None:
        return {
            rid: [
                {"contact_id": c, "probability": None, "decision": "match", "matched_on": "key"}
                for c in sorted({contact_of[r] for r in found if r in contact_of})
            ][:limit]
            for rid, found in hits.items()
            if any(r in contact_of for r in found)
        }
    contacts = sorted(set(contact_of.values()))
    members: dict[int, int] = {}
    for part in _slices(contacts):
        for rid, contact in db.query_in(
            "SELECT source_record_id, contact_id FROM contact_link WHERE contact_id IN (?*)", part
        ):
            members[int(rid)] = int(contact)
    stored_frame = read_records(
        conn, sorted(members), narrow=True, custom=bool(identifiers), linked=False
    )
    stored = feature_rows(m.features(stored_frame, identifiers))
    by_contact: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in stored:
        by_contact[members[int(row["unique_id"])]].append(row)
    tf = stored_term_frequencies(conn, [*incoming.values(), *stored])
    out: dict[int, list[dict[str, Any]]] = {}
    for rid, found in hits.items():
        mine = incoming[rid]
        scored: list[dict[str, Any]] = []
        for contact in sorted({contact_of[r] for r in found if r in contact_of}):
            pairs = []
            for row in by_contact.get(contact, []):
                weights = scorer.weights(mine, row, lambda c, v: tf.get((c, v)))
                pairs.append((scorer.probability(weights), weights, int(row["unique_id"])))
            if not pairs:
                continue
            linkage = fmean(p for p, _, _ in pairs)
            best = max(pairs, key=lambda s: (s[0], -s[2]))
            scored.append(
                {
                    "contact_id": contact,
                    "probability": round(linkage, 6),
                    "decision": "match"
                    if linkage >= options.threshold
                    else "review"
                    if linkage >= options.review_low
                    else "different",
                    "best_record": best[2],
                    "best_probability": round(best[0], 6),
                    "weights": {k: round(v, 3) for k, v in best[1].items()},
                }
            )
        scored.sort(key=lambda c: (-float(c["probability"]), int(c["contact_id"])))
        if scored:
            out[rid] = scored[:limit]
    return out


def _slices(values: Sequence[int], size: int = 20_000) -> list[list[int]]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


def _lookup(
    db: ConnectionBulk,
    kind: str,
    incoming: Mapping[int, Mapping[str, Any]],
    hits: dict[int, set[int]],
) -> None:
    """Find linked stored records sharing a key with the incoming rows (as `lookup_sql`)."""
    wanted: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for rid, row in incoming.items():
        if kind == "name":
            if row["first"] is not None and row["last"] is not None:
                wanted[(row["last"], row["first"])].append(rid)
                wanted[(row["first"], row["last"])].append(rid)  # swapped
        elif row[kind] is not None:
            wanted[(row[kind],)].append(rid)
    if not wanted:
        return
    found: dict[tuple[str, ...], list[int]] = defaultdict(list)
    keys = sorted(wanted)
    sealer = db.sealer
    if kind == "name" and sealer.seals("name"):
        # Encrypted names: look the pairs up by their blind index.
        by_index = {sealer.name_index(last, first): (last, first) for last, first in keys}
        for rid, index in db.query_in(
            "SELECT r.source_record_id, r.name_index FROM contact_record r JOIN contact_link l"
            " ON l.source_record_id = r.source_record_id WHERE r.name_index IN (?*)",
            sorted(str(i) for i in by_index),
        ):
            if (pair := by_index.get(str(index))) is not None:
                found[pair].append(int(rid))
    elif kind == "name":
        for start in range(0, len(keys), 400):
            part = keys[start : start + 400]
            where = " OR ".join(["(r.last_name_key = ? AND r.first_name_key = ?)"] * len(part))
            for rid, last, first in db.query(
                "SELECT r.source_record_id, r.last_name_key, r.first_name_key"
                " FROM contact_record r JOIN contact_link l"
                f" ON l.source_record_id = r.source_record_id WHERE {where}",
                [v for pair in part for v in pair],
            ):
                found[(str(last), str(first))].append(int(rid))
    else:
        # The keys are encrypted: look them up by their blind indexes.
        column = "email_key_index" if kind == "email" else "phone_index"  # phone2 too
        of_index: dict[str, tuple[str, ...]] = {}
        for key in keys:
            index = (
                sealer.index_one("email_key", key[0])
                if kind == "email"
                else sealer.phone_index(key[0])
            )
            if index is not None:
                of_index[index] = key
        for rid, index in db.query_in(
            f"SELECT r.source_record_id, r.{column} FROM contact_record r JOIN contact_link l"
            f" ON l.source_record_id = r.source_record_id WHERE r.{column} IN (?*)",
            sorted(of_index),
        ):
            if (hit := of_index.get(str(index))) is not None:
                found[hit].append(int(rid))
    for key, records in found.items():
        for rid in wanted.get(key, []):
            hits[rid].update(sorted(records)[:_MAX_CANDIDATES])
