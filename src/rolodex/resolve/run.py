"""Resolve contacts: match the standardized records of all sources, cluster them into people,
and turn each cluster into one golden contact with field-level lineage.

The store keeps the truth; the work happens on Arrow/Polars frames and in DuckDB (Splink):
records are read once, matched and clustered in memory, and only what changed is written
back (links of records that moved, golden contacts whose records changed, contacts merged
away, review pairs), in one transaction, so a failed run changes nothing.

Golden contact ids are stable: a cluster keeps the id most of its records already had. A
contact whose records all went elsewhere is not deleted; it is kept with `merged_into_id`
set, so ids users hold keep answering and an unmerge can bring it back.
"""

from __future__ import annotations

import json
import re
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from rolodex.config import ResolveSettings
from rolodex.model import Contact, ContactPoint, MatchTermFrequency
from rolodex.model.base import table
from rolodex.resolve import model as m
from rolodex.resolve.calibrate import Calibration, calibrate
from rolodex.resolve.cluster import ClusterSettings, cluster_records
from rolodex.resolve.matcher import Matcher, block_and_score, pair_frame
from rolodex.resolve.realtime import TF_COLUMNS, Scorer, feature_rows
from rolodex.resolve.singletons import ACTIVITY_TABLES, POINT_COLUMNS
from rolodex.resolve.survivorship import GOLDEN_FIELDS, Strategy, contact_points, golden_values
from rolodex.store.bulk import ConnectionBulk, read_frame
from rolodex.store.sealed import SEALED, SUBJECT_COLUMN, sealer_of

RESOLVED_BY = "resolve"

_TEXT = (
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
    "job_title",
    "department",
    "street",
    "street2",
    "city",
    "region",
    "postcode",
    "country",
    "gender",
    "language",
    "lifecycle_stage",
    "owner",
    "linkedin",
    "twitter",
    "email_key",
    "phone_key",
    "first_name_key",
    "last_name_key",
    "company_key",
    "company_domain",
    "street_key",
)


@dataclass
class ResolveSummary:
    """What a resolve run found and changed."""

    records: int = 0
    candidate_pairs: int = 0
    rescored_pairs: int = 0
    clusters: int = 0
    multi_record_clusters: int = 0
    largest_cluster: int = 0
    records_moved: int = 0
    contacts_created: int = 0
    contacts_merged_away: int = 0
    contacts_updated: int = 0
    review_pending: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    trained: bool = False
    training: dict[str, Any] | None = None
    dry_run: bool = False
    mode: str = "full"
    pending: int = 0  # incremental runs: records new or changed since the last run
    companies: int = 0  # golden companies after company resolution
    companies_merged_away: int = 0
    contacts_with_company: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


# What matching and clustering read of every record; golden records read all of `_TEXT`.
_MATCHED = (
    "email_key",
    "phone_key",
    *m.PHONE_COLUMNS,  # the second number `phone2`
    "first_name_key",
    "last_name_key",
    "company_key",
    "company_domain",
    "street_key",
    "postcode",
    "city",
)


# The subject whose key seals a record's data (its payload's; `store.sealed.subject_of`):
# golden values and contact points made from the record are sealed under it too, so that
# erasing the record's person shreds every version of them, old backups included.
_SUBJECT_SQL = "CASE WHEN s.payload LIKE 'sub1:%' THEN substr(s.payload, 6, 24) END"


def read_records(
    conn: Connection,
    record_ids: Sequence[int] | None = None,
    *,
    narrow: bool = False,
    custom: bool = True,
    linked: bool = True,
) -> pl.DataFrame:
    """Read the accepted contact records with their current link, trust and time, as Arrow.

    Text is cast in SQL so both databases hand over the same types; personal data (emails,
    phones, streets, their match keys, the date of birth) is decrypted here, in memory, so
    matching and survivorship see the values as the clean stage wrote them. `narrow` reads
    only what matching needs: the match keys, and of the flags only the email's tags,
    extracted in SQL (a full resolve of a million records reads them all, so this is most of
    its reading time and memory); `custom` False leaves the custom fields out (null);
    `linked` False leaves out the contact link (incremental runs read links only for the
    records they touch).
    """
    texts = _MATCHED if narrow else _TEXT
    cols = ", ".join(f"CAST(r.{c} AS TEXT) AS {c}" for c in texts)
    where = ""
    if record_ids is not None:
        ids = ", ".join(str(int(i)) for i in record_ids) or "NULL"
        where = f" AND r.source_record_id IN ({ids})"
    if not narrow:
        extra = (
            "CAST(r.flags AS TEXT) AS flags,"
            " CAST(coalesce(r.source_updated_at, s.updated_at, s.created_at) AS TEXT)"
            " AS updated_at, src.trust_rank, src.name AS source, s.external_id,"
            f" {_SUBJECT_SQL} AS subject"
        )
        joins = " JOIN source src ON src.id = s.source_id"
    elif conn.dialect.name == "postgresql":
        extra, joins = "CAST(r.flags AS jsonb) -> 'email' ->> 'tags' AS email_tags", ""
    else:
        extra, joins = "json_extract(r.flags, '$.email.tags') AS email_tags", ""
    if linked:
        extra += ", l.contact_id"
        joins += " LEFT JOIN contact_link l ON l.source_record_id = r.source_record_id"
    sql = (
        f"SELECT r.source_record_id, {cols}, CAST(r.birth_date AS TEXT) AS birth_date,"
        f" {'CAST(r.custom AS TEXT)' if custom else 'NULL'} AS custom, {extra}"
        f" FROM contact_record r JOIN source_record s ON s.id = r.source_record_id{joins}"
        f" WHERE s.status = 'accepted'{where} ORDER BY r.source_record_id"
    )
    schema = {
        "source_record_id": pl.Int64,
        **dict.fromkeys(texts, pl.Utf8),
        "birth_date": pl.Utf8,
        "custom": pl.Utf8,
        **(
            {"email_tags": pl.Utf8}
            if narrow
            else {
                "flags": pl.Utf8,
                "updated_at": pl.Utf8,
                "trust_rank": pl.Int64,
                "source": pl.Utf8,
                "external_id": pl.Utf8,
                "subject": pl.Utf8,
            }
        ),
        **({"contact_id": pl.Int64} if linked else {}),
    }
    frame = sealer_of(conn).open_frame("contact_record", read_frame(conn, sql, schema))
    frame = frame.with_columns(pl.col("birth_date").str.slice(0, 10).str.to_date(strict=False))
    if narrow:
        return frame
    return frame.with_columns(
        pl.col("flags").str.json_path_match("$.email.tags").alias("email_tags"),
        pl.col("updated_at")
        .str.slice(0, 19)
        .str.replace("T", " ")
        .str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False),
    )


def identifier_fields(conn: Connection) -> list[str]:
    """Return the contact custom fields that hold personal identifiers (by their names)."""
    names = [
        str(n)
        for (n,) in conn.execute(
            text("SELECT name FROM custom_field_definition WHERE entity = 'contact' ORDER BY id")
        )
    ]
    return m.identifier_fields(names)


def latest_model(conn: Connection) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Return the workspace's current contact model and its training info, if trained."""
    row = conn.execute(
        text(
            "SELECT model, info FROM match_model WHERE entity = 'contact' ORDER BY id DESC LIMIT 1"
        )
    ).first()
    if row is None:
        return None
    model, info = row
    if isinstance(model, str):
        model = json.loads(model)
    if isinstance(info, str):
        info = json.loads(info)
    return model, info or {}


def decisions(conn: Connection) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return the pairs people said are the same customer, and the pairs they said are not."""
    same: list[tuple[int, int]] = []
    different: list[tuple[int, int]] = []
    for left, right, is_same in conn.execute(
        text("SELECT left_record_id, right_record_id, same FROM match_decision")
    ):
        (same if is_same else different).append((int(left), int(right)))
    return same, different


def last_run(conn: Connection) -> tuple[int, datetime] | None:
    """Return the newest record id the last resolve saw and when it finished."""
    row = conn.execute(
        text("SELECT max_record_id, finished_at FROM resolve_run ORDER BY id DESC LIMIT 1")
    ).first()
    if row is None:
        return None
    value = row[1]
    if not isinstance(value, datetime):  # SQLite hands the stored text back
        value = datetime.fromisoformat(re.sub(r"[+-]\d\d(:?\d\d)?$", "", str(value)))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # Compared with record times read to the second: a record stored in the run's last
    # second counts as changed (matched again) rather than being missed.
    return int(row[0]), value.replace(microsecond=0)


def resolve_contacts(
    conn: Connection,
    *,
    options: ResolveSettings,
    actor: str,
    now: datetime,
    retrain: bool = False,
    dry_run: bool = False,
    full: bool = False,
    changed: set[int] | None = None,
) -> ResolveSummary:
    """Match contact records, cluster them and bring golden contacts in line.

    After a first run, only records that arrived or changed since the last run are matched
    (against every stored record), and only the contacts they touch are re-clustered;
    `full` (or `retrain`) matches everything again.

    Args:
        conn: a connection inside the caller's transaction; nothing is written on dry runs.
        options: thresholds and caps.
        actor: who runs it, for merge events.
        now: the run's timestamp.
        retrain: train a new model even if the workspace has one (implies `full`).
        dry_run: compute and report what would change, write nothing.
        full: match every record, not only the new and changed ones.
        changed: when given, receives the ids of the contacts this run rebuilt or merged
            away (what the caller's follow-up, linking companies, must look at again).

    Returns:
        Counts, timings and examples of merges.
    """
    summary = ResolveSummary(dry_run=dry_run)
    clock = _Clock(summary.seconds)
    previous = last_run(conn)
    stored = None if retrain else latest_model(conn)
    if stored is not None and not m.compatible(stored[0]):
        # A model trained by an older version, whose comparison levels this one no longer
        # has: train anew (and match everything again) rather than score with stale levels.
        stored = None
    incremental = not full and stored is not None and previous is not None
    summary.mode = "incremental" if incremental else "full"
    identifier_names = identifier_fields(conn)
    frequencies: dict[str, pl.DataFrame] | None = None  # a full run's, kept for match_tf
    with ExitStack() as stack:
        if incremental:
            assert stored is not None
            assert previous is not None
            found = _incremental(
                conn, stored[0], previous, identifier_names, options, summary, clock
            )
            if found is None:
                return summary
            records, edges, score_frame, newest = found
        else:
            records = read_records(conn, narrow=True, custom=bool(identifier_names))
            summary.records = len(records)
            clock.lap("read")
            if records.is_empty():
                return summary
            newest = int(records["source_record_id"].max())  # type: ignore[arg-type]
            features = m.features(records, identifier_names)
            # What the rest of the run needs of a million records; the features hold the
            # rest.
            records = records.select("source_record_id", "contact_id", "email_key", "phone_key")
            matcher = stack.enter_context(Matcher(features, stored[0] if stored else None))
            score_frame = matcher.score
            if stored is None:
                info = matcher.train(seed=options.seed, u_pairs=options.u_pairs)
                summary.trained = True
                summary.training = info.__dict__
                clock.lap("train")
                if not dry_run:
                    conn.execute(
                        text(
                            "INSERT INTO match_model (entity, model, info, trained_at)"
                            " VALUES ('contact', :model, :info, :now)"
                        ),
                        {
                            "model": json.dumps(matcher.model()),
                            "info": json.dumps(info.__dict__),
                            "now": now,
                        },
                    )
            else:
                summary.training = stored[1]
            edges = matcher.predict(options.candidate)
            frequencies = matcher.term_frequencies()
            clock.lap("predict")
        summary.candidate_pairs = len(edges)
        rescored: list[pl.DataFrame] = []

        def score(pairs: Sequence[tuple[int, int]]) -> list[float]:
            found = score_frame(pairs)
            # Kept for evidence and review, which only look at pairs this likely.
            rescored.append(found.filter(pl.col("probability") >= options.review_low))
            answers = pair_frame(pairs).join(
                found.select("left", "right", "probability").unique(["left", "right"]),
                on=["left", "right"],
                how="left",
                maintain_order="left",
            )
            return answers["probability"].fill_null(0.0).to_list()

        same, different = decisions(conn)
        ids = records["source_record_id"]
        result = cluster_records(
            ids.to_list(),
            edges.select("left", "right", "probability"),
            settings=ClusterSettings(
                threshold=options.threshold,
                max_group=options.max_group,
                max_identifiers={"email": options.max_emails, "phone": options.max_phones},
                candidate=options.candidate,
            ),
            score=score,
            identifiers=_Identifiers(records),
            must_link=_among(same, ids),
            cannot_link=_among(different, ids),
        )
        clock.lap("cluster")
    summary.rescored_pairs = result.rescored_pairs
    summary.refused = dict(result.refused)
    scored = pl.concat([edges, *rescored], how="vertical_relaxed").unique(
        ["left", "right"], keep="first"
    )
    plan = _plan(records, result.cluster_of, result.probability, scored, options)
    summary.clusters = plan.clusters
    summary.multi_record_clusters = plan.multi
    summary.largest_cluster = plan.largest
    summary.records_moved = len(plan.moved)
    summary.examples = plan.examples(lambda ids: _names(conn, ids))
    if dry_run:
        summary.contacts_created = len(plan.new_clusters)
        summary.contacts_merged_away = len(plan.retired)
        summary.review_pending = len(plan.review)
        return summary
    db = ConnectionBulk(conn)
    contact_of = _assign_new_ids(db, plan)
    summary.contacts_created = len(plan.new_clusters)
    _write_links(db, plan, contact_of, now=now)
    touched = {contact_of[c] for c in plan.touched}
    if changed is not None:
        # Every contact of a record this run looked at: a new or changed record may name
        # another company even when its contact keeps its records.
        changed.update(touched, plan.retired, records["contact_id"].drop_nulls().to_list())
    summary.contacts_updated = write_golden(
        db, sorted(touched), now=now, rules=options.survivorship
    )
    summary.contacts_merged_away = _retire(db, plan, contact_of, actor=actor, now=now)
    follow_activity(db, [r for r, _ in plan.moved] + plan.unlinked)
    summary.review_pending = _write_review(
        db, plan.review, now=now, scope=None if not incremental else set(ids)
    )
    if frequencies is not None:
        write_term_frequencies(db, frequencies)
    clock.lap("write")
    conn.execute(
        text(
            "INSERT INTO resolve_run (mode, max_record_id, summary, finished_at)"
            " VALUES (:mode, :top, :summary, :now)"
        ),
        {
            "mode": summary.mode,
            "top": newest if previous is None else max(newest, previous[0]),
            "summary": json.dumps(
                {k: v for k, v in asdict(summary).items() if k not in ("examples", "training")},
                default=str,
            ),
            "now": now,
        },
    )
    return summary


def recalibrate(
    conn: Connection,
    *,
    now: datetime,
    spread: float = 1.0,
    dry_run: bool = False,
    anchors: int = 2_000,
    seed: int = 42,
) -> Calibration | None:
    """Fit the stored contact model to the labels people gave and store the result as the
    workspace's model (`calibrate` says how); None when no model is trained yet.

    The labels are every `match_decision`: review accepts and rejects, merges and unmerges.
    """
    stored = latest_model(conn)
    if stored is None:
        return None
    decided = [
        (int(a), int(b), bool(same))
        for a, b, same in conn.execute(
            text("SELECT left_record_id, right_record_id, same FROM match_decision")
        )
    ]
    names = identifier_fields(conn)
    every = m.features(read_records(conn, narrow=True, custom=bool(names), linked=False), names)
    # Anchors: the candidate pairs of a random sample of records, as the model scores them.
    sample = every["unique_id"].sample(min(anchors, len(every)), seed=seed).sort().to_list()
    counts = {c: m.term_frequencies(every.get_column(c), stored[0]) for c in TF_COLUMNS}
    held = block_and_score(every, sample, stored[0], counts).select("left", "right")
    wanted = {r for a, b, _ in decided for r in (a, b)}
    wanted |= set(held["left"].to_list()) | set(held["right"].to_list())
    rows = {
        int(r["unique_id"]): r
        for r in feature_rows(every.filter(pl.col("unique_id").is_in(sorted(wanted))))
    }
    tf = _lookup(counts, rows.values())
    report, model = calibrate(
        stored[0],
        rows,
        decided,
        tf,
        anchors=[(int(a), int(b)) for a, b in held.iter_rows()],
        spread=spread,
    )
    if report.labels and not dry_run:
        conn.execute(
            text(
                "INSERT INTO match_model (entity, model, info, trained_at)"
                " VALUES ('contact', :model, :info, :now)"
            ),
            {
                "model": json.dumps(model),
                "info": json.dumps({**stored[1], "calibration": asdict(report)}),
                "now": now,
            },
        )
    return report


class _Identifiers(Mapping[int, Mapping[str, str | None]]):
    """Record id -> {"email": key, "phone": key}, read from the records frame on demand:
    clustering looks at the few records whose merges it checks, and a dict per record of
    a million costs hundreds of megabytes (Python objects per record, even as lists, still
    cost a hundred; a typed array and Arrow columns do not)."""

    def __init__(self, records: pl.DataFrame) -> None:
        ordered = records.select("source_record_id", "email_key", "phone_key").sort(
            "source_record_id"
        )
        self._ids = array("q", ordered["source_record_id"].to_arrow().to_pylist())
        self._emails = ordered["email_key"].to_arrow()
        self._phones = ordered["phone_key"].to_arrow()

    def __getitem__(self, record: int) -> Mapping[str, str | None]:
        i = bisect_left(self._ids, record)
        if i == len(self._ids) or self._ids[i] != record:
            raise KeyError(record)
        return {"email": self._emails[i].as_py(), "phone": self._phones[i].as_py()}

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def _among(pairs: Sequence[tuple[int, int]], ids: pl.Series) -> list[tuple[int, int]]:
    """The pairs both of whose records are among `ids`."""
    if not pairs:
        return []
    frame = pl.DataFrame(pairs, schema={"a": pl.Int64, "b": pl.Int64}, orient="row")
    inside = frame.filter(pl.col("a").is_in(ids.implode()) & pl.col("b").is_in(ids.implode()))
    return [(int(a), int(b)) for a, b in inside.iter_rows()]


def _pending(conn: Connection, top: int, finished: datetime) -> list[int]:
    """The accepted records stored after the last run (by id or time) or linked to no one."""
    db = ConnectionBulk(conn)
    rows = db.query(
        "SELECT r.source_record_id FROM contact_record r"
        " JOIN source_record s ON s.id = r.source_record_id"
        " LEFT JOIN contact_link l ON l.source_record_id = r.source_record_id"
        " WHERE s.status = 'accepted' AND (r.source_record_id > ?"
        " OR s.updated_at >= ? OR l.contact_id IS NULL)",
        [top, db.since(finished.replace(tzinfo=UTC))],
    )
    return [int(r) for (r,) in rows]


def _contacts_of(conn: Connection, records: Iterable[int]) -> pl.DataFrame:
    """Every record linked to a contact of one of `records`: source_record_id, contact_id."""
    out: list[tuple[int, int]] = []
    ids = sorted(set(records))
    for start in range(0, len(ids), 20_000):
        part = ", ".join(str(i) for i in ids[start : start + 20_000])
        out.extend(
            (int(r), int(c))
            for r, c in conn.execute(
                text(
                    "SELECT source_record_id, contact_id FROM contact_link WHERE contact_id IN"
                    f" (SELECT contact_id FROM contact_link WHERE source_record_id IN ({part}))"
                )
            ).all()
        )
    return pl.DataFrame(
        out, schema={"source_record_id": pl.Int64, "contact_id": pl.Int64}, orient="row"
    ).unique("source_record_id")


def _incremental(
    conn: Connection,
    model: dict[str, Any],
    previous: tuple[int, datetime],
    identifiers: Sequence[str],
    options: ResolveSettings,
    summary: ResolveSummary,
    clock: _Clock,
) -> (
    tuple[pl.DataFrame, pl.DataFrame, Callable[[Sequence[tuple[int, int]]], pl.DataFrame], int]
    | None
):
    """Find what the new and changed records touch, and score it.

    One read of what the features need of every stored record; blocking over all of them
    finds the pending records' candidates, which are scored with the stored model in DuckDB
    (the same scores as Splink gives, with term frequencies over every record as a full run
    counts them). The records joined to a pending one, and every record of their contacts
    (re-clustered whole), are what clustering gets; the pairs it asks about are scored in
    Python, again the same.

    Returns:
        The touched records (narrow `read_records` columns), the scored edges at the candidate
        threshold plus the pairs inside the touched contacts, the scoring function for
        clustering's rescoring, and the highest record id; None when nothing is stored.
    """
    top, finished = previous
    keys = read_records(conn, narrow=True, custom=bool(identifiers), linked=False)
    summary.records = len(keys)
    if keys.is_empty():
        return None
    newest = int(keys["source_record_id"].max())  # type: ignore[arg-type]
    pending = _pending(conn, top, finished)
    summary.pending = len(pending)
    every = m.features(keys, identifiers)
    # Term frequencies over every record now stored, as Splink counts them in a full run.
    counts = {c: m.term_frequencies(every.get_column(c), model) for c in TF_COLUMNS}
    found = block_and_score(every, pending, model, counts)
    edges = found.filter(pl.col("probability") >= options.candidate)
    touched = set(pending) | set(edges["left"].to_list()) | set(edges["right"].to_list())
    # The touched records and every record of their contacts, with their links.
    linked = _contacts_of(conn, touched)
    wanted = pl.Series(sorted(touched | set(linked["source_record_id"].to_list())))
    records = (
        keys.filter(pl.col("source_record_id").is_in(wanted.implode()))
        .join(linked, on="source_record_id", how="left")
        .sort("source_record_id")
    )
    del keys
    clock.lap("read")
    # Feature rows of the touched records, for the pairs clustering asks about.
    rows = {
        int(r["unique_id"]): r
        for r in feature_rows(
            every.filter(pl.col("unique_id").is_in(records["source_record_id"].implode()))
        )
    }
    tf = _lookup(counts, rows.values())
    del every
    scorer = Scorer(model)

    def score_frame(pairs: Sequence[tuple[int, int]]) -> pl.DataFrame:
        return scorer.score_frame(rows, [p for p in pairs if p[0] in rows and p[1] in rows], tf)

    # Pairs inside the touched contacts, so their current members are judged together.
    have = set(zip(edges["left"].to_list(), edges["right"].to_list(), strict=True))
    inner: list[tuple[int, int]] = []
    groups = (
        records.filter(pl.col("contact_id").is_not_null())
        .group_by("contact_id")
        .agg(pl.col("source_record_id").sort())
    )
    for members in groups["source_record_id"].to_list():
        if len(members) < 2 or len(members) > options.max_group:
            continue
        inner.extend(
            (a, b) for i, a in enumerate(members) for b in members[i + 1 :] if (a, b) not in have
        )
    if inner:
        edges = pl.concat([edges, score_frame(inner)], how="vertical_relaxed")
    clock.lap("predict")
    return records, edges, score_frame, newest


def _lookup(
    counts: Mapping[str, pl.DataFrame], rows: Iterable[Mapping[str, Any]]
) -> dict[tuple[str, Any], float]:
    """The term frequencies (column -> value, tf frames) of the values these feature rows
    hold, as the (column, value) -> tf mapping the Python scorer reads."""
    rows = list(rows)
    tf: dict[tuple[str, Any], float] = {}
    for column, known in counts.items():
        wanted = pl.Series([r[column] for r in rows], dtype=pl.Utf8).drop_nulls()
        hits = known.filter(pl.col("value").is_in(wanted.unique().implode()))
        tf.update(((column, v), t) for v, t in hits.iter_rows())
    return tf


class _Clock:
    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self.last = perf_counter()

    def lap(self, name: str) -> None:
        now = perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.last
        self.last = now


@dataclass
class _Plan:
    """What the clusters mean for the store: which contact each cluster becomes."""

    cluster_of: dict[int, int]
    contact_for: dict[int, int]  # cluster -> existing contact id it keeps
    new_clusters: list[int]  # clusters that need a new contact
    moved: list[tuple[int, int]]  # (record, old contact) for linked records that move
    unlinked: list[int]  # records that had no contact yet
    touched: set[int]  # clusters whose golden contact must be rebuilt
    retired: dict[int, int]  # old contact -> cluster that took most of its records
    probability: dict[int, float]
    evidence: dict[int, str]  # record -> JSON of its strongest pair inside its cluster
    review: list[tuple[int, int, float, str]]  # (left, right, probability, evidence JSON)
    clusters: int = 0
    multi: int = 0
    largest: int = 0

    def examples(
        self, names_of: Callable[[list[int]], dict[int, str]], limit: int = 5
    ) -> list[dict[str, Any]]:
        """Describe a few clusters that join records of different contacts (`names_of`
        gives the records' names)."""
        members: dict[int, list[int]] = defaultdict(list)
        for record, cluster in self.cluster_of.items():
            members[cluster].append(record)
        moved = {r for r, _ in self.moved}
        groups = []
        for cluster in sorted(self.touched):
            group = members[cluster]
            if len(group) > 1 and any(r in moved for r in group):
                groups.append(sorted(group))
            if len(groups) >= limit:
                break
        names = names_of(sorted({r for group in groups for r in group}))
        return [{"records": g, "names": sorted({names.get(r, "") for r in g})} for g in groups]


def _names(conn: Connection, record_ids: list[int]) -> dict[int, str]:
    """Each record's name as people read it (the email when it has none)."""
    if not record_ids:
        return {}
    ids = ", ".join(str(int(i)) for i in record_ids)
    found = conn.execute(
        text(
            "SELECT source_record_id, first_name, last_name, email FROM contact_record"
            f" WHERE source_record_id IN ({ids})"
        )
    )
    rows = sealer_of(conn).open_rows("contact_record", [dict(r) for r in found.mappings()])
    return {
        int(r["source_record_id"]): " ".join(x for x in (r["first_name"], r["last_name"]) if x)
        or (r["email"] or "")
        for r in rows
    }


def _plan(
    records: pl.DataFrame,
    cluster_of: Mapping[int, int],
    probability: Mapping[int, float],
    scored: pl.DataFrame,
    options: ResolveSettings,
) -> _Plan:
    """Give each cluster a contact id (the one most of its records have) and list changes."""
    current = {
        int(r): (int(c) if c is not None else None)
        for r, c in records.select("source_record_id", "contact_id").iter_rows()
    }
    members: dict[int, list[int]] = defaultdict(list)
    for record, cluster in cluster_of.items():
        members[cluster].append(record)
    votes: list[tuple[int, int, int]] = []  # (-count, contact, cluster)
    for cluster, group in members.items():
        counts = Counter(current[r] for r in group if current.get(r) is not None)
        votes.extend((-n, contact, cluster) for contact, n in counts.items() if contact is not None)
    votes.sort()
    contact_for: dict[int, int] = {}
    taken: set[int] = set()
    for _, contact, cluster in votes:
        if cluster not in contact_for and contact not in taken:
            contact_for[cluster] = contact
            taken.add(contact)
    new_clusters = sorted(c for c in members if c not in contact_for)
    moved = [
        (r, old)
        for r, old in current.items()
        if old is not None and contact_for.get(cluster_of[r]) != old
    ]
    unlinked = [r for r, old in current.items() if old is None]
    touched = {cluster_of[r] for r, _ in moved} | {cluster_of[r] for r in unlinked}
    touched |= set(new_clusters)
    # A contact that kept its id but lost records must be rebuilt too.
    losers = {old for _, old in moved}
    touched |= {c for c, contact in contact_for.items() if contact in losers}
    all_old = {c for c in current.values() if c is not None}
    retired_old = all_old - taken
    records_of: dict[int, list[int]] = defaultdict(list)
    for r, c in current.items():
        if c in retired_old:
            records_of[c].append(r)
    retired: dict[int, int] = {}
    for old in retired_old:
        targets = Counter(cluster_of[r] for r in records_of[old])
        retired[old] = min(targets, key=lambda c: (-targets[c], c))
    evidence, review = _evidence(scored, cluster_of, options)
    sizes = [len(g) for g in members.values()]
    return _Plan(
        cluster_of=dict(cluster_of),
        contact_for=contact_for,
        new_clusters=new_clusters,
        moved=moved,
        unlinked=unlinked,
        touched=touched,
        retired=retired,
        probability=dict(probability),
        evidence=evidence,
        review=review,
        clusters=len(members),
        multi=sum(1 for s in sizes if s > 1),
        largest=max(sizes, default=0),
    )


def _evidence(
    scored: pl.DataFrame, cluster_of: Mapping[int, int], options: ResolveSettings
) -> tuple[dict[int, str], list[tuple[int, int, float, str]]]:
    """Pick each record's strongest pair inside its cluster, and the uncertain pairs between
    clusters that a person should look at (left, right, probability, evidence), both with
    the per-field weights as JSON text."""
    if scored.is_empty():
        return {}, []
    weights = [c for c in scored.columns if c.startswith("w_")]
    keyed = pl.DataFrame(
        {"record": list(cluster_of), "cluster": list(cluster_of.values())},
        schema={"record": pl.Int64, "cluster": pl.Int64},
    )
    frame = scored.join(
        keyed.rename({"record": "left", "cluster": "cl"}), on="left", how="left"
    ).join(keyed.rename({"record": "right", "cluster": "cr"}), on="right", how="left")
    inside = frame.filter(pl.col("cl") == pl.col("cr"))
    both = pl.concat(
        [
            inside.select(
                pl.col("left").alias("record"),
                pl.col("right").alias("other"),
                "probability",
                *weights,
            ),
            inside.select(
                pl.col("right").alias("record"),
                pl.col("left").alias("other"),
                "probability",
                *weights,
            ),
        ]
    )
    best = both.sort(["record", "probability", "other"], descending=[False, True, False]).unique(
        "record", keep="first"
    )
    # JSON text built in Polars: a million records' evidence as Python dicts takes gigabytes.
    by_field = pl.struct(pl.col(w).fill_null(0.0).round(3).alias(w[2:]) for w in weights)
    evidence = dict(
        best.select(
            "record",
            pl.struct(
                pl.col("other").alias("record"),
                pl.col("probability").round(6),
                by_field.alias("weights"),
            )
            .struct.json_encode()
            .alias("evidence"),
        ).iter_rows()
    )
    band = frame.filter(
        (pl.col("cl") != pl.col("cr"))
        & (pl.col("probability") >= options.review_low)
        & (pl.col("probability") < options.threshold)
    )
    review = band.select(
        "left", "right", "probability", by_field.struct.json_encode().alias("evidence")
    ).rows()
    return evidence, review


def _assign_new_ids(db: ConnectionBulk, plan: _Plan) -> dict[int, int]:
    """Map every cluster to its contact id, reserving ids for the new ones."""
    contact_of = dict(plan.contact_for)
    fresh = db.reserve_ids(table(Contact), len(plan.new_clusters))
    contact_of.update(zip(plan.new_clusters, fresh, strict=True))
    if fresh:
        stamp = db.stamp(datetime.now(UTC))
        db.executemany(
            "INSERT INTO contact (id, created_at, updated_at) VALUES (?, ?, ?)",
            [(c, stamp, stamp) for c in fresh],
        )
    return contact_of


def _write_links(
    db: ConnectionBulk, plan: _Plan, contact_of: Mapping[int, int], *, now: datetime
) -> None:
    """Point moved and new records at their contact; refresh probability and evidence of the
    records of rebuilt contacts."""
    stamp = db.stamp(now)
    rows = [
        (
            contact_of[plan.cluster_of[r]],
            plan.probability.get(r),
            plan.evidence.get(r),
            RESOLVED_BY,
            stamp,
            r,
        )
        for r, cluster in plan.cluster_of.items()
        if cluster in plan.touched and r not in plan.unlinked
    ]
    if rows:
        db.executemany(
            "UPDATE contact_link SET contact_id = ?, match_probability = ?, evidence = ?,"
            " linked_by = ?, linked_at = ? WHERE source_record_id = ?",
            rows,
        )
    if plan.unlinked:
        db.executemany(
            "INSERT INTO contact_link (source_record_id, contact_id, match_probability,"
            " evidence, linked_by, linked_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    r,
                    contact_of[plan.cluster_of[r]],
                    plan.probability.get(r),
                    plan.evidence.get(r),
                    RESOLVED_BY,
                    stamp,
                )
                for r in plan.unlinked
            ],
        )


def write_golden(
    db: ConnectionBulk,
    contact_ids: Sequence[int],
    *,
    now: datetime,
    rules: Mapping[str, Sequence[Strategy]] | None = None,
) -> int:
    """Rebuild the golden values, lineage and contact points of `contact_ids` from their
    linked records (survivorship, with `rules` over the defaults), and clear their
    merged-away mark."""
    if not contact_ids:
        return 0
    conn = db.conn
    done = 0
    for start in range(0, len(contact_ids), 20_000):
        part = list(contact_ids[start : start + 20_000])
        ids = ", ".join(str(int(c)) for c in part)
        linked = [
            int(r)
            for (r,) in conn.execute(
                text(f"SELECT source_record_id FROM contact_link WHERE contact_id IN ({ids})")
            )
        ]
        records = read_records(conn, linked)
        frame = records.rename({"contact_id": "cluster"})
        golden = golden_values(frame, rules)
        points = contact_points(frame)
        subjects = dict(zip(frame["source_record_id"], frame["subject"], strict=True))
        _update_contacts(db, golden, now=now, subjects=subjects)
        conn.execute(text(f"DELETE FROM contact_point WHERE contact_id IN ({ids})"))
        if not points.is_empty():
            db.ingest(
                table(ContactPoint),
                points.rename({"cluster": "contact_id"})
                .select(
                    *POINT_COLUMNS,
                    pl.col("source_record_id")
                    .replace_strict(subjects, default=None, return_dtype=pl.Utf8)
                    .alias(SUBJECT_COLUMN),
                )
                .to_arrow(),
            )
        # Contacts left without records (all moved away) are handled by the caller.
        done += golden.height
    return done


def _update_contacts(
    db: ConnectionBulk,
    golden: pl.DataFrame,
    *,
    now: datetime,
    subjects: Mapping[int, str | None] | None = None,
) -> None:
    """Write golden values and lineage onto existing contact rows, personal data sealed
    (the statement bypasses `ingest`, which would seal it), each value under the subject of
    the record it came from (`subjects`: record id -> subject)."""
    stamp = db.stamp(now)
    lineage_cols = [f"{f}__from" for f in GOLDEN_FIELDS if f"{f}__from" in golden.columns]
    held = subjects or {}

    def origin(name: str) -> list[str | None]:
        if f"{name}__from" not in golden.columns:
            return [None] * golden.height
        return [None if r is None else held.get(r) for r in golden[f"{name}__from"].to_list()]

    sealed = {
        name: db.sealer.seal(
            group,
            [
                None if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
                for v in golden.get_column(name).to_list()
            ],
            subjects=origin(name),
        )
        for name, group in SEALED["contact"].items()
        if name in golden.columns
    }
    rows = []
    for i, row in enumerate(golden.iter_rows(named=True)):
        lineage = {
            col[: -len("__from")]: int(row[col]) for col in lineage_cols if row[col] is not None
        }
        values = []
        for name in GOLDEN_FIELDS:
            value = sealed[name][i] if name in sealed else row.get(name)
            if name == "custom" and isinstance(value, str):
                value = value if value not in ("", "{}") else None
            values.append(value)
        rows.append((*values, json.dumps(lineage), stamp, int(row["cluster"])))
    assignments = ", ".join(f"{name} = ?" for name in GOLDEN_FIELDS)
    db.executemany(
        f"UPDATE contact SET {assignments}, lineage = ?, updated_at = ?,"
        " merged_into_id = NULL WHERE id = ?",
        rows,
    )


def _retire(
    db: ConnectionBulk, plan: _Plan, contact_of: Mapping[int, int], *, actor: str, now: datetime
) -> int:
    """Mark contacts that lost all their records as merged into the contact that took most,
    with a merge event that says which records moved (so an unmerge can restore them)."""
    if not plan.retired:
        return 0
    stamp = db.stamp(now)
    moved_from: dict[int, list[int]] = defaultdict(list)
    for record, old in plan.moved:
        moved_from[old].append(record)
    survivors = [(contact_of[cluster], old) for old, cluster in sorted(plan.retired.items())]
    db.executemany("DELETE FROM contact_point WHERE contact_id = ?", [(o,) for _, o in survivors])
    db.executemany("UPDATE contact SET merged_into_id = ? WHERE id = ?", survivors)
    # Earlier tombstones pointing at a retired contact follow it to its survivor.
    db.executemany("UPDATE contact SET merged_into_id = ? WHERE merged_into_id = ?", survivors)
    db.executemany(
        "INSERT INTO merge_event (action, contact_id, other_contact_id, actor, reason,"
        " details, occurred_at) VALUES ('merge', ?, ?, ?, ?, ?, ?)",
        [
            (
                survivor,
                old,
                actor,
                "matched by resolve",
                json.dumps({"records": sorted(moved_from.get(old, []))}),
                stamp,
            )
            for survivor, old in survivors
        ],
    )
    return len(plan.retired)


def write_term_frequencies(db: ConnectionBulk, frequencies: Mapping[str, pl.DataFrame]) -> None:
    """Keep how common each name, postcode, city and company is, as this run counted them
    (column -> value, tf), for single-record matching."""
    db.execute("DELETE FROM match_tf")
    for column in TF_COLUMNS:
        frame = frequencies.get(column)
        if frame is not None and not frame.is_empty():
            frame = frame.select(pl.lit(column).alias("column"), "value", "tf")
            if column == "name" and db.sealer.seals("name"):
                stored = [
                    None if v is None else db.sealer.tf_value(column, str(v))
                    for v in frame["value"]
                ]
                frame = frame.with_columns(pl.Series("value", stored, pl.Utf8))
            db.ingest(table(MatchTermFrequency), frame.to_arrow())


def follow_activity(db: ConnectionBulk, record_ids: Iterable[int]) -> None:
    """Point the activity rows (orders, tickets, subscriptions, deals, campaign members, ...)
    of `record_ids` at the contacts those records are linked to now."""
    ids = sorted(set(record_ids))
    for start in range(0, len(ids), 20_000):
        part = ", ".join(str(int(r)) for r in ids[start : start + 20_000])
        for name in (table(model).name for model in ACTIVITY_TABLES):
            db.execute(
                f'UPDATE "{name}" SET contact_id = (SELECT l.contact_id FROM contact_link l'
                f' WHERE l.source_record_id = "{name}".customer_record_id)'
                f" WHERE customer_record_id IN ({part})"
            )


def _write_review(
    db: ConnectionBulk,
    review: list[tuple[int, int, float, str]],
    *,
    now: datetime,
    scope: set[int] | None,
) -> int:
    """Queue the uncertain pairs nobody decided yet; drop pending ones this run re-judged
    (all of them on a full run, those among `scope`'s records on an incremental one)."""
    stamp = db.stamp(now)
    if scope is None:
        db.execute("DELETE FROM match_review WHERE status = 'pending'")
    else:
        ids = sorted(scope)
        for start in range(0, len(ids), 20_000):
            part = ", ".join(str(i) for i in ids[start : start + 20_000])
            db.execute(
                "DELETE FROM match_review WHERE status = 'pending' AND"
                f" (left_record_id IN ({part}) OR right_record_id IN ({part}))"
            )
    # Pairs already queued or decided, looked up by the left records of this run's pairs.
    lefts = sorted({left for left, _, _, _ in review})
    decided: set[tuple[int, int]] = set()
    for start in range(0, len(lefts), 20_000):
        part = ", ".join(str(i) for i in lefts[start : start + 20_000])
        for name in ("match_review", "match_decision"):
            decided.update(
                (int(a), int(b))
                for a, b in db.query(
                    f"SELECT left_record_id, right_record_id FROM {name}"
                    f" WHERE left_record_id IN ({part})"
                )
            )
    rows = [
        (left, right, probability, evidence, "pending", stamp)
        for left, right, probability, evidence in review
        if (left, right) not in decided
    ]
    if rows:
        db.executemany(
            "INSERT INTO match_review (left_record_id, right_record_id, probability, evidence,"
            " status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)
