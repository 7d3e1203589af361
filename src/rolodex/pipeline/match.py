"""Match one incoming record against the store: clean it as an import would, find candidate
records by indexed keys, and score it with the trained model against every record of each
candidate contact (`Workspace.match`; the API's create and web-form intake use it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from statistics import fmean
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from rolodex.config import CleanSettings, ResolveSettings
from rolodex.exceptions import InputError
from rolodex.resolve import model as m
from rolodex.resolve.realtime import TF_COLUMNS, Scorer, feature_rows, lookup_sql
from rolodex.resolve.run import identifier_fields, latest_model, read_records

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
    clean: CleanSettings,
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
    from rolodex.clean.contacts import clean_contacts

    if scorer is None:
        stored = latest_model(conn)
        if stored is None:
            raise InputError("no matching model yet: run `rolodex resolve` first")
        scorer = Scorer(stored[0])
    # Only the fields given: each cleaning step skips a column that is not there, and one
    # row pays per step, not per value.
    given = {k: str(record[k]) for k in _TEXT_FIELDS if record.get(k) not in (None, "")}
    values = pl.DataFrame({k: [v] for k, v in given.items()}, schema=dict.fromkeys(given, pl.Utf8))
    cleaned = clean_contacts(values, config=clean, region=record.get("region_hint")).values
    frame = cleaned.with_columns(
        pl.lit(-1, pl.Int64).alias("source_record_id"),
        pl.col("flags").str.json_path_match("$.email.tags").alias("email_tags")
        if "flags" in cleaned.columns
        else pl.lit(None, pl.Utf8).alias("email_tags"),
        pl.lit(json.dumps(record.get("custom") or {})).alias("custom"),
    )
    identifiers = identifier_fields(conn)
    incoming = feature_rows(m.features(frame, identifiers))[0]
    found: set[int] = set()
    for sql, params in lookup_sql(incoming):
        rows = conn.execute(text(f"{sql} LIMIT {_MAX_CANDIDATES}"), params)
        found.update(int(r[0]) for r in rows)
    if not found:
        return []
    contacts = {
        int(c)
        for (c,) in conn.execute(
            text(
                "SELECT DISTINCT contact_id FROM contact_link WHERE source_record_id IN"
                f" ({', '.join(str(i) for i in sorted(found))})"
            )
        )
    }
    if not contacts:
        return []
    stored_records = read_records(conn, _records_of(conn, contacts))
    stored_rows = feature_rows(m.features(stored_records, identifiers))
    tf = _term_frequencies(conn, [incoming, *stored_rows])
    by_contact: dict[int, list[tuple[float, dict[str, float], int]]] = defaultdict(list)
    for row, contact in zip(stored_rows, stored_records["contact_id"].to_list(), strict=True):
        weights = scorer.weights(incoming, row, lambda c, v: tf.get((c, v)))
        by_contact[int(contact)].append(
            (scorer.probability(weights), weights, int(row["unique_id"]))
        )
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


def _records_of(conn: Connection, contacts: set[int]) -> list[int]:
    ids = ", ".join(str(c) for c in sorted(contacts))
    return [
        int(r)
        for (r,) in conn.execute(
            text(f"SELECT source_record_id FROM contact_link WHERE contact_id IN ({ids})")
        )
    ]


def _term_frequencies(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, Any], float]:
    """Fetch the stored term frequencies of the values these rows hold."""
    wanted = {(c, row[c]) for row in rows for c in TF_COLUMNS if row[c]}
    out: dict[tuple[str, Any], float] = {}
    for column in TF_COLUMNS:
        values = sorted(v for c, v in wanted if c == column)
        if not values:
            continue
        params = {f"v{i}": v for i, v in enumerate(values)}
        marks = ", ".join(f":v{i}" for i in range(len(values)))
        for value, tf in conn.execute(
            text(f'SELECT value, tf FROM match_tf WHERE "column" = :c AND value IN ({marks})'),
            {"c": column, **params},
        ):
            out[(column, value)] = float(tf)
    return out
