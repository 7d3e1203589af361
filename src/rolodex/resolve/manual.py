"""People's decisions: merge, unmerge, the review queue, and explanations of a contact.

Every decision is kept as a labelled record pair (`match_decision`), so a later resolve keeps
what a user merged and never re-merges what a user split, and every change is a merge event
saying who, when and why, with what is needed to undo it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from rolodex.exceptions import AlreadyDecided, InputError
from rolodex.model import Contact
from rolodex.model.base import table
from rolodex.resolve.run import follow_activity, write_golden
from rolodex.resolve.survivorship import GOLDEN_FIELDS, Strategy
from rolodex.store.bulk import ConnectionBulk
from rolodex.store.sealed import sealer_of

Rules = Mapping[str, Sequence[Strategy]] | None
"""Survivorship rules over the defaults (the workspace's `[resolve.survivorship]`)."""


def current_contact(conn: Connection, contact_id: int) -> int:
    """Follow merged-away contacts to the one that holds their records now."""
    seen: set[int] = set()
    while True:
        row = conn.execute(
            text("SELECT merged_into_id FROM contact WHERE id = :id"), {"id": contact_id}
        ).first()
        if row is None:
            raise InputError(f"contact {contact_id} does not exist")
        if row[0] is None or contact_id in seen:
            return contact_id
        seen.add(contact_id)
        contact_id = int(row[0])


def records_of(conn: Connection, contact_id: int) -> list[int]:
    """Return the source records linked to a contact, in id order."""
    return [
        int(r)
        for (r,) in conn.execute(
            text(
                "SELECT source_record_id FROM contact_link WHERE contact_id = :id"
                " ORDER BY source_record_id"
            ),
            {"id": contact_id},
        )
    ]


def _decide(
    conn: Connection,
    pairs: Sequence[tuple[int, int]],
    *,
    same: bool,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    """Record (or overturn) people's decisions on record pairs."""
    for a, b in pairs:
        left, right = min(a, b), max(a, b)
        conn.execute(
            text("DELETE FROM match_decision WHERE left_record_id = :l AND right_record_id = :r"),
            {"l": left, "r": right},
        )
        conn.execute(
            text(
                "INSERT INTO match_decision (left_record_id, right_record_id, same, actor,"
                " reason, decided_at) VALUES (:l, :r, :same, :actor, :reason, :now)"
            ),
            {"l": left, "r": right, "same": same, "actor": actor, "reason": reason, "now": now},
        )


def _event(
    conn: Connection,
    action: str,
    contact: int,
    other: int | None,
    *,
    record: int | None,
    actor: str,
    reason: str | None,
    details: dict[str, Any],
    now: datetime,
) -> int:
    row = conn.execute(
        text(
            "INSERT INTO merge_event (action, contact_id, other_contact_id, source_record_id,"
            " actor, reason, details, occurred_at) VALUES (:action, :contact, :other, :record,"
            " :actor, :reason, :details, :now) RETURNING id"
        ),
        {
            "action": action,
            "contact": contact,
            "other": other,
            "record": record,
            "actor": actor,
            "reason": reason,
            "details": json.dumps(details),
            "now": now,
        },
    ).first()
    assert row is not None
    return int(row[0])


def _golden_row(conn: Connection, contact_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(f"SELECT {', '.join(GOLDEN_FIELDS)} FROM contact WHERE id = :id"), {"id": contact_id}
    ).first()
    return {
        k: (str(v) if v is not None else None)
        for k, v in zip(GOLDEN_FIELDS, row or (), strict=False)
    }


def merge(
    conn: Connection,
    first: int,
    second: int,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    rules: Rules = None,
) -> dict[str, Any]:
    """Merge contact `second` into contact `first`; sticky for later resolves.

    Returns:
        The surviving contact, the one merged away, the records that moved and the event id.

    Raises:
        InputError: a contact does not exist, or both are already the same contact.
    """
    keep, gone = current_contact(conn, first), current_contact(conn, second)
    if keep == gone:
        raise InputError(f"contacts {first} and {second} are already one contact ({keep})")
    kept, moving = records_of(conn, keep), records_of(conn, gone)
    anchor = min(kept + moving)
    together = ", ".join(str(r) for r in kept + moving)
    conn.execute(
        text(
            f"DELETE FROM match_decision WHERE NOT same AND left_record_id IN ({together})"
            f" AND right_record_id IN ({together})"
        )
    )
    _decide(
        conn,
        [(anchor, r) for r in kept + moving if r != anchor],
        same=True,
        actor=actor,
        reason=reason,
        now=now,
    )
    # The snapshot keeps the golden values sealed, as the contact row holds them (opened
    # first: a value stored before encryption was turned on is sealed here too).
    sealer = sealer_of(conn)
    before = sealer.seal_row("contact", sealer.open_row("contact", _golden_row(conn, gone)))
    db = ConnectionBulk(conn)
    conn.execute(
        text(
            "UPDATE contact_link SET contact_id = :keep, linked_by = :actor, linked_at = :now,"
            " match_probability = NULL WHERE contact_id = :gone"
        ),
        {"keep": keep, "gone": gone, "actor": actor, "now": now},
    )
    conn.execute(text("DELETE FROM contact_point WHERE contact_id = :gone"), {"gone": gone})
    conn.execute(
        text(
            "UPDATE contact SET merged_into_id = :keep WHERE id = :gone OR merged_into_id = :gone"
        ),
        {"keep": keep, "gone": gone},
    )
    write_golden(db, [keep], now=now, rules=rules)
    follow_activity(db, moving)
    conn.execute(
        text(
            "UPDATE match_review SET status = 'accepted', decided_by = :actor, decided_at = :now"
            " WHERE status = 'pending' AND left_record_id IN (SELECT source_record_id FROM"
            " contact_link WHERE contact_id = :keep) AND right_record_id IN (SELECT"
            " source_record_id FROM contact_link WHERE contact_id = :keep)"
        ),
        {"actor": actor, "now": now, "keep": keep},
    )
    event = _event(
        conn,
        "merge",
        keep,
        gone,
        record=None,
        actor=actor,
        reason=reason,
        details={"records": moving, "golden_before": before},
        now=now,
    )
    return {"contact": keep, "merged": gone, "records": moving, "event": event}


def unmerge(
    conn: Connection,
    contact: int,
    record: int,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    rules: Rules = None,
) -> dict[str, Any]:
    """Split one source record out of a contact; sticky for later resolves.

    The record goes back to the contact it was merged from when that contact is still merged
    away into this one (so merge then unmerge restores the previous state), else to a new
    contact.

    Raises:
        InputError: the record is not part of the contact, or is its only record.
    """
    holder = current_contact(conn, contact)
    members = records_of(conn, holder)
    if record not in members:
        raise InputError(f"source record {record} is not linked to contact {holder}")
    if len(members) == 1:
        raise InputError(f"source record {record} is contact {holder}'s only record")
    others = [r for r in members if r != record]
    conn.execute(
        text(
            "DELETE FROM match_decision WHERE same AND ((left_record_id = :r AND right_record_id"
            " IN (SELECT source_record_id FROM contact_link WHERE contact_id = :c)) OR"
            " (right_record_id = :r AND left_record_id IN (SELECT source_record_id FROM"
            " contact_link WHERE contact_id = :c)))"
        ),
        {"r": record, "c": holder},
    )
    _decide(conn, [(record, r) for r in others], same=False, actor=actor, reason=reason, now=now)
    target = _merged_from(conn, holder, record)
    db = ConnectionBulk(conn)
    if target is None:
        target = db.reserve_ids(table(Contact), 1)[0]
        stamp = db.stamp(now)
        db.execute(
            "INSERT INTO contact (id, created_at, updated_at) VALUES (?, ?, ?)",
            [target, stamp, stamp],
        )
    conn.execute(
        text(
            "UPDATE contact_link SET contact_id = :target, linked_by = :actor, linked_at = :now,"
            " match_probability = NULL, evidence = NULL WHERE source_record_id = :r"
        ),
        {"target": target, "actor": actor, "now": now, "r": record},
    )
    write_golden(db, [holder, target], now=now, rules=rules)
    follow_activity(db, [record])
    event = _event(
        conn,
        "unmerge",
        holder,
        target,
        record=record,
        actor=actor,
        reason=reason,
        details={"records": [record]},
        now=now,
    )
    return {"contact": holder, "new_contact": target, "record": record, "event": event}


def _merged_from(conn: Connection, holder: int, record: int) -> int | None:
    """Find the merged-away contact `record` came from, if it is still merged into `holder`."""
    rows = conn.execute(
        text(
            "SELECT e.other_contact_id, CAST(e.details AS TEXT) FROM merge_event e"
            " JOIN contact c ON c.id = e.other_contact_id WHERE e.action = 'merge'"
            " AND c.merged_into_id = :holder ORDER BY e.id DESC"
        ),
        {"holder": holder},
    )
    for other, details in rows:
        if record in json.loads(details or "{}").get("records", []):
            return int(other)
    return None


def explain(conn: Connection, contact_id: int) -> dict[str, Any]:
    """Say which source records make a contact, why each belongs, and where each golden
    value came from."""
    holder = current_contact(conn, contact_id)
    rows = conn.execute(
        text(
            "SELECT l.source_record_id, s.name, coalesce(r.external_id, r.record_key),"
            " l.linked_by, l.match_probability, CAST(l.evidence AS TEXT),"
            " cr.first_name, cr.last_name, cr.email, cr.phone"
            " FROM contact_link l JOIN source_record r ON r.id = l.source_record_id"
            " JOIN source s ON s.id = r.source_id"
            " LEFT JOIN contact_record cr ON cr.source_record_id = l.source_record_id"
            " WHERE l.contact_id = :c ORDER BY l.source_record_id"
        ),
        {"c": holder},
    ).all()
    sealer = sealer_of(conn)
    email_of = sealer.open("email", [r[8] for r in rows])
    phone_of = sealer.open("phone", [r[9] for r in rows])
    first_of = sealer.open("name", [r[6] for r in rows])
    last_of = sealer.open("name", [r[7] for r in rows])
    records = []
    for i, (rid, source, external, by, prob, evidence, *_) in enumerate(rows):
        email, phone, first, last = email_of[i], phone_of[i], first_of[i], last_of[i]
        found = json.loads(evidence) if evidence else None
        decided = sorted(found["weights"].items(), key=lambda kv: -abs(kv[1]))[:3] if found else []
        records.append(
            {
                "source_record_id": int(rid),
                "source": source,
                "external_id": external,
                "linked_by": by,
                "probability": prob,
                "matched_with": found["record"] if found else None,
                "deciding_fields": [{"field": f, "weight": w} for f, w in decided if w],
                "name": " ".join(x for x in (first, last) if x) or None,
                "email": email,
                "phone": phone,
            }
        )
    golden = conn.execute(
        text(
            f"SELECT {', '.join(GOLDEN_FIELDS)}, CAST(lineage AS TEXT) FROM contact WHERE id = :c"
        ),
        {"c": holder},
    ).first()
    assert golden is not None
    lineage = json.loads(golden[-1] or "{}")
    by_id = {r["source_record_id"]: r for r in records}
    opened = sealer.open_row("contact", dict(zip(GOLDEN_FIELDS, golden[:-1], strict=True)))
    values = []
    for name, value in opened.items():
        if value is None:
            continue
        origin = lineage.get(name)
        source = by_id.get(origin) if origin is not None else None
        values.append(
            {
                "field": name,
                "value": str(value),
                "source_record_id": origin,
                "source": source["source"] if source else None,
                "external_id": source["external_id"] if source else None,
            }
        )
    events = [
        {
            "id": int(i),
            "action": a,
            "other_contact_id": o,
            "actor": who,
            "reason": why,
            "occurred_at": str(at),
        }
        for i, a, o, who, why, at in conn.execute(
            text(
                "SELECT id, action, other_contact_id, actor, reason, occurred_at FROM merge_event"
                " WHERE contact_id = :c OR other_contact_id = :c ORDER BY id"
            ),
            {"c": holder},
        )
    ]
    return {
        "contact_id": holder,
        "asked_for": contact_id,
        "records": records,
        "values": values,
        "events": events,
    }


_SIDE = ("first_name", "last_name", "email", "phone", "company_name", "street", "postcode", "city")


def review_list(
    conn: Connection, *, status: str = "pending", limit: int = 50
) -> list[dict[str, Any]]:
    """Return review pairs with both records side by side and the per-field evidence."""
    rows = conn.execute(
        text(
            "SELECT id, left_record_id, right_record_id, probability, CAST(evidence AS TEXT),"
            " status FROM match_review WHERE status = :s ORDER BY probability DESC, id LIMIT :n"
        ),
        {"s": status, "n": limit},
    ).all()
    out = []
    for rid, left, right, prob, evidence, st in rows:
        out.append(
            {
                "id": int(rid),
                "probability": float(prob),
                "status": st,
                "evidence": json.loads(evidence or "{}"),
                "left": _side(conn, int(left)),
                "right": _side(conn, int(right)),
            }
        )
    return out


def _side(conn: Connection, record: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            f"SELECT s.name, coalesce(r.external_id, r.record_key), l.contact_id,"
            f" {', '.join('cr.' + c for c in _SIDE)} FROM source_record r"
            " JOIN source s ON s.id = r.source_id"
            " JOIN contact_record cr ON cr.source_record_id = r.id"
            " LEFT JOIN contact_link l ON l.source_record_id = r.id WHERE r.id = :r"
        ),
        {"r": record},
    ).first()
    if row is None:
        return {"source_record_id": record}
    source, external, contact, *values = row
    return {
        "source_record_id": record,
        "source": source,
        "external_id": external,
        "contact_id": contact,
        **sealer_of(conn).open_row("contact_record", dict(zip(_SIDE, values, strict=True))),
    }


def review_decide(
    conn: Connection,
    review_id: int,
    *,
    accept: bool,
    actor: str,
    reason: str | None,
    now: datetime,
    rules: Rules = None,
) -> dict[str, Any]:
    """Accept (merge the two contacts) or reject (keep apart, for good) one review pair.

    Raises:
        InputError: no pending review pair has that id.
    """
    row = conn.execute(
        text(
            "SELECT left_record_id, right_record_id FROM match_review"
            " WHERE id = :id AND status = 'pending'"
        ),
        {"id": review_id},
    ).first()
    if row is None:
        status = conn.execute(
            text("SELECT status FROM match_review WHERE id = :id"), {"id": review_id}
        ).scalar()
        if status is not None:
            # A merge settles every pending pair inside the merged contact.
            raise AlreadyDecided(f"review pair {review_id} was already {status}")
        raise InputError(f"no pending review pair {review_id} (see `rolodex review list`)")
    left, right = int(row[0]), int(row[1])
    conn.execute(
        text(
            "UPDATE match_review SET status = :s, decided_by = :actor, decided_at = :now"
            " WHERE id = :id"
        ),
        {"s": "accepted" if accept else "rejected", "actor": actor, "now": now, "id": review_id},
    )
    _decide(conn, [(left, right)], same=accept, actor=actor, reason=reason, now=now)
    result: dict[str, Any] = {"review": review_id, "accepted": accept}
    if accept:
        contacts = [
            conn.execute(
                text("SELECT contact_id FROM contact_link WHERE source_record_id = :r"), {"r": r}
            ).scalar_one()
            for r in (left, right)
        ]
        if contacts[0] != contacts[1]:
            result["merge"] = merge(
                conn,
                int(contacts[0]),
                int(contacts[1]),
                actor=actor,
                reason=reason or f"review {review_id} accepted",
                now=now,
                rules=rules,
            )
    return result
