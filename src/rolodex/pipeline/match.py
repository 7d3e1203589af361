"""Match one incoming record against the store: clean it as an import would, find candidate
records by indexed keys, and score it with the trained model against every record of each
candidate contact (`Workspace.match`; the API's create and web-form intake use it).

Everything here is plain Python over a few rows: the single-value standardizers and
`model.feature_row` rather than the column functions, whose fixed cost per call is far above
the 10 ms a real-time match may take. Tests hold both paths equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from statistics import fmean
from typing import Any

from sqlalchemy import Connection, text

from rolodex.clean.contacts import match_values
from rolodex.config import ResolveSettings
from rolodex.exceptions import InputError
from rolodex.resolve import model as m
from rolodex.resolve.realtime import Scorer, lookup_sql, stored_term_frequencies
from rolodex.resolve.run import identifier_fields, latest_model, read_records
from rolodex.store.sealed import sealer_of

_TEXT_FIELDS = (
    "salutation",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "full_name",
    "email",
    "email2",
    "phone",
    "mobile",
    "work_phone",
    "other_phone",
    "company_name",
    "website",
    "street",
    "street2",
    "city",
    "region",
    "postcode",
    "country",
    "birth_date",
)
_MAX_CANDIDATES = 200


def match_record(
    conn: Connection,
    record: Mapping[str, Any],
    *,
    options: ResolveSettings,
    scorer: Scorer | None = None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """Return the contacts `record` may belong to, best first.

    Each candidate carries its mean match probability to the contact's records (the linkage
    batch clustering uses), the best record pair's per-field weights, and the decision the
    same thresholds give: "match", "review" or "different".

    Raises:
        InputError: no model is trained yet (run `rolodex resolve` first).
    """
    if scorer is None:
        stored = latest_model(conn)
        if stored is None:
            raise InputError("no matching model yet: run `rolodex resolve` first")
        scorer = Scorer(stored[0])
    given = {k: str(record[k]) for k in _TEXT_FIELDS if record.get(k) not in (None, "")}
    identifiers = identifier_fields(conn)
    cleaned = match_values(given, region=record.get("region_hint"))
    incoming = m.feature_row(
        {**cleaned, "source_record_id": -1, "custom": record.get("custom")}, identifiers
    )
    found: set[int] = set()
    for sql, params in lookup_sql(incoming, sealer_of(conn)):
        rows = conn.execute(text(f"{sql} LIMIT {_MAX_CANDIDATES}"), params)
        found.update(int(r[0]) for r in rows)
    if not found:
        return []
    stored_rows = _candidate_rows(conn, found, identifiers)
    if not stored_rows:
        return []
    tf = stored_term_frequencies(conn, [incoming, *(row for row, _ in stored_rows)])
    by_contact: dict[int, list[tuple[float, dict[str, float], int]]] = defaultdict(list)
    for row, contact in stored_rows:
        weights = scorer.weights(incoming, row, lambda c, v: tf.get((c, v)))
        by_contact[contact].append((scorer.probability(weights), weights, int(row["unique_id"])))
    out: list[dict[str, Any]] = []
    for contact, scored in by_contact.items():
        linkage = fmean(p for p, _, _ in scored)
        best = max(scored, key=lambda s: (s[0], -s[2]))
        decision = (
            "match"
            if linkage >= options.threshold
            else "review"
            if linkage >= options.review_low
            else "different"
        )
        out.append(
            {
                "contact_id": contact,
                "probability": round(linkage, 6),
                "decision": decision,
                "best_record": best[2],
                "best_probability": round(best[0], 6),
                "weights": {k: round(v, 3) for k, v in best[1].items()},
            }
        )
    out.sort(key=lambda c: (-float(c["probability"]), int(c["contact_id"])))
    return out[:limit]


def _candidate_rows(
    conn: Connection, found: set[int], identifiers: list[str]
) -> list[tuple[dict[str, Any], int]]:
    """Feature rows of every accepted record of the contacts the `found` records belong to,
    each with its contact."""
    ids = ", ".join(str(i) for i in sorted(found))
    members = [
        int(r)
        for (r,) in conn.execute(
            text(
                "SELECT source_record_id FROM contact_link WHERE contact_id IN"
                f" (SELECT contact_id FROM contact_link WHERE source_record_id IN ({ids}))"
            )
        )
    ]
    records = read_records(conn, members, narrow=True, custom=bool(identifiers))
    return [
        (m.feature_row(row, identifiers), int(row["contact_id"]))
        for row in records.iter_rows(named=True)
    ]
