"""Accuracy of identity resolution, end to end through the `rolodex` command, against truth.

    python benchmarks/resolve_accuracy.py --people 20000 [100000 ...] [--seed 7] [--febrl]
        [--skip-baseline] [--json] [--keep] [--label N]

For each data set the script does what a user does: `rolodex init` in a fresh folder, one
`rolodex import FILE --source NAME --kind contacts` per file, `rolodex resolve`, then
`rolodex export links`, and scores the links against the ground truth:

- pairwise precision, recall and F1 over all records (pairs of records that share a contact
  against pairs that share a person; counted from group sizes, never pair by pair);
- cluster figures: the share of people whose records form exactly one predicted cluster,
  the largest predicted cluster, and predicted against true cluster counts;
- the recall ceiling of the data: the share of true pairs joined, through the person's own
  records, by any evidence the records hold at all (a shared normalized email, the last nine
  digits of a phone, first initial + last name, last name + postcode, first name +
  postcode; on FEBRL also date of birth and social security number), read from the files
  themselves. No resolver can be asked to beat it;
- a plain Splink baseline on the same cleaned records the workspace holds (a generic person
  model, connected components at 0.9), so the Rolodex figures have something to beat.

With `--label N` the script then does what a reviewer does: decides up to N pairs of the
review queue (by the truth), runs `rolodex review calibrate` and `rolodex resolve --full`, and
scores the links again, after the decisions alone and after the recalibrated resolve.

Data sets: the generated multi-source CRM data (benchmarks/generate_crm.py) at each
`--people` size, and with `--febrl` FEBRL3 (one file deduplicated) and FEBRL4 (two files
linked) from ../shared/data/febrl. When `rolodex resolve` does not exist yet or fails, the
Rolodex figures say "not available" and the baseline is still scored.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generate_crm import SOURCES, TRUTH_FILE, SourceFile, generate, read_rows

if TYPE_CHECKING:
    from splink.internals.blocking_rule_creator import BlockingRuleCreator
    from splink.internals.comparison_creator import ComparisonCreator

Key = tuple[str, str]
"""A record: (source name, external id), as `rolodex export links` names it."""

FEBRL_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "febrl"
MATCH_THRESHOLD = 0.9  # the baseline's clustering threshold


# =============================================================================================
# Scoring (pure functions)
# =============================================================================================


def pairs(n: int) -> int:
    """Number of unordered pairs among `n` records."""
    return n * (n - 1) // 2


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class PairScores:
    """Pairwise figures: true, predicted and correctly predicted pairs of records."""

    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float | None:
        """Share of predicted pairs that are true; None when nothing was predicted."""
        return _ratio(self.correct_pairs, self.predicted_pairs)

    @property
    def recall(self) -> float | None:
        """Share of true pairs that were predicted; None when there are none."""
        return _ratio(self.correct_pairs, self.true_pairs)

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall (0 when either is 0, None if undefined)."""
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def to_dict(self) -> dict[str, Any]:
        """The counts and the ratios, for --json."""
        return {
            **asdict(self),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def _labels(
    predicted: Mapping[Key, Hashable], truth: Mapping[Key, Hashable]
) -> Iterator[tuple[Hashable, Hashable]]:
    """(predicted cluster, true person) per true record; a record without a link is alone."""
    for record, person in truth.items():
        yield predicted.get(record, ("unlinked", record)), person


def score_pairs(predicted: Mapping[Key, Hashable], truth: Mapping[Key, Hashable]) -> PairScores:
    """Pairwise scores over the records in `truth`.

    Pairs are counted from group sizes: n*(n-1)/2 per predicted cluster, per true person and
    per (cluster, person) intersection, so a cluster of 10,000 records costs one addition.
    Records missing from `predicted` (quarantined, never linked) count as their own cluster;
    records only in `predicted` are ignored.
    """
    by_cluster: Counter[Hashable] = Counter()
    by_person: Counter[Hashable] = Counter()
    both: Counter[tuple[Hashable, Hashable]] = Counter()
    for cluster, person in _labels(predicted, truth):
        by_cluster[cluster] += 1
        by_person[person] += 1
        both[cluster, person] += 1
    return PairScores(
        true_pairs=sum(pairs(n) for n in by_person.values()),
        predicted_pairs=sum(pairs(n) for n in by_cluster.values()),
        correct_pairs=sum(pairs(n) for n in both.values()),
    )


@dataclass(frozen=True, slots=True)
class ClusterScores:
    """Cluster figures: how whole people came out."""

    true_clusters: int
    predicted_clusters: int
    exact_people: int  # people whose records are exactly one predicted cluster
    whole_people: int  # people whose records are all in one cluster (perhaps with others)
    largest_predicted: int
    largest_true: int

    @property
    def exact_share(self) -> float | None:
        """Share of people resolved exactly: not split, not merged with anyone."""
        return _ratio(self.exact_people, self.true_clusters)

    def to_dict(self) -> dict[str, Any]:
        """The counts and the share, for --json."""
        return {**asdict(self), "exact_share": self.exact_share}


def score_clusters(
    predicted: Mapping[Key, Hashable], truth: Mapping[Key, Hashable]
) -> ClusterScores:
    """Cluster figures over the records in `truth` (same conventions as `score_pairs`)."""
    by_cluster: Counter[Hashable] = Counter()
    by_person: Counter[Hashable] = Counter()
    both: Counter[tuple[Hashable, Hashable]] = Counter()
    for cluster, person in _labels(predicted, truth):
        by_cluster[cluster] += 1
        by_person[person] += 1
        both[cluster, person] += 1
    exact = whole = 0
    for (cluster, person), n in both.items():
        if n == by_person[person]:
            whole += 1
            exact += n == by_cluster[cluster]
    return ClusterScores(
        true_clusters=len(by_person),
        predicted_clusters=len(by_cluster),
        exact_people=exact,
        whole_people=whole,
        largest_predicted=max(by_cluster.values(), default=0),
        largest_true=max(by_person.values(), default=0),
    )


# ----------------------------------------------------------------------- the recall ceiling

_FOLD = str.maketrans({"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l"})
_NOT_LETTER = re.compile(r"[^a-z]")
_NOT_DIGIT = re.compile(r"\D")
_TAG = re.compile(r"\+.*$")
_UMLAUT_SPELLED = re.compile(r"(?<=[a-z])([aou])e")


def fold_name(value: str) -> str:
    """A name reduced to what any spelling of it shares: José, JOSE, Mueller, Müller agree."""
    text = unicodedata.normalize("NFKD", value.translate(_FOLD).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NOT_LETTER.sub("", _UMLAUT_SPELLED.sub(r"\1", text))


def email_key(value: str) -> str | None:
    """Lower-case address with +tags dropped, and Gmail's dots and googlemail folded."""
    text = value.strip().lower()
    local, at, domain = text.partition("@")
    if not at or not local or "." not in domain or "@" in domain:
        return None
    local = _TAG.sub("", local)
    if domain in ("gmail.com", "googlemail.com"):
        domain, local = "gmail.com", local.replace(".", "")
    return f"{local}@{domain}" if local else None


def phone_key(value: str) -> str | None:
    """The last nine digits: the same number with or without country code and trunk 0."""
    digits = _NOT_DIGIT.sub("", value)
    return digits[-9:] if len(digits) >= 9 else None


def postcode_key(value: str) -> str:
    """Postcode without spaces and case, and without the leading zeros Excel drops."""
    text = "".join(value.split()).upper()
    return text.lstrip("0") if text.isdigit() else text


def split_full_name(value: str) -> tuple[str, str]:
    """First and last name of a one-field name: "Smith, John" or "John Smith"."""
    text = " ".join(value.split())
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.partition(" ")
    return first, last


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one record holds that could tie it to another record of the same person."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    first_name: str = ""
    last_name: str = ""
    postcode: str = ""
    identifiers: tuple[str, ...] = ()  # other exact identifiers ("dob:19560409")

    def keys(self) -> set[str]:
        """The record's evidence keys; two records sharing any key are connected."""
        found = {f"i:{k}" for k in self.identifiers if k.partition(":")[2]}
        found |= {f"e:{k}" for k in map(email_key, self.emails) if k}
        found |= {f"p:{k}" for k in map(phone_key, self.phones) if k}
        first, last = fold_name(self.first_name), fold_name(self.last_name)
        postcode = postcode_key(self.postcode)
        if first and last:
            found.add(f"n:{first[0]}|{last}")
        if last and postcode:
            found.add(f"lp:{last}|{postcode}")
        if first and postcode:
            found.add(f"fp:{first}|{postcode}")
        return found


@dataclass(frozen=True, slots=True)
class Ceiling:
    """True pairs, and those the records' own evidence connects within each person."""

    true_pairs: int
    connected_pairs: int

    @property
    def share(self) -> float | None:
        """The recall ceiling."""
        return _ratio(self.connected_pairs, self.true_pairs)


def recall_ceiling(truth: Mapping[Key, str], evidence: Mapping[Key, Evidence]) -> Ceiling:
    """Share of true pairs connected, transitively within the person, by shared evidence.

    Union-find over each person's records: two records of a person join when they share an
    evidence key, and every pair inside a joined component counts as reachable. Keys are
    only compared within a person, so strangers sharing a key change nothing.
    """
    parent: dict[Key, Key] = {}

    def find(record: Key) -> Key:
        root = record
        while parent[root] != root:
            root = parent[root]
        while parent[record] != root:
            parent[record], record = root, parent[record]
        return root

    holder: dict[tuple[str, str], Key] = {}
    for record, person in truth.items():
        parent.setdefault(record, record)
        for key in evidence.get(record, Evidence()).keys():
            first = holder.setdefault((person, key), record)
            if first != record:
                a, b = find(first), find(record)
                if a != b:
                    parent[b] = a
    components = Counter(find(record) for record in truth)
    persons = Counter(truth.values())
    return Ceiling(
        true_pairs=sum(pairs(n) for n in persons.values()),
        connected_pairs=sum(pairs(n) for n in components.values()),
    )


# =============================================================================================
# Data sets
# =============================================================================================


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file to import, the source it comes from, and a mapping file if it needs one."""

    path: Path
    source: str
    mapping: Path | None = None


@dataclass
class Dataset:
    """Files to import, the true person of every record, and each record's evidence."""

    name: str
    files: list[InputFile]
    truth: dict[Key, str]
    evidence: dict[Key, Evidence]
    notes: list[str] = field(default_factory=list)


def _values(row: Mapping[str, str], columns: Iterable[str]) -> tuple[str, ...]:
    return tuple(v for c in columns if (v := (row.get(c) or "").strip()))


def evidence_of(row: Mapping[str, str], spec: SourceFile) -> Evidence:
    """Evidence of a generated row, read through its file's column roles."""
    roles = spec.evidence
    first = " ".join(_values(row, roles.get("first_name", ())))
    last = " ".join(_values(row, roles.get("last_name", ())))
    if "full_name" in roles:
        first, last = split_full_name(" ".join(_values(row, roles["full_name"])))
    return Evidence(
        emails=_values(row, roles.get("email", ())),
        phones=_values(row, roles.get("phone", ())),
        first_name=first,
        last_name=last,
        postcode=" ".join(_values(row, roles.get("postcode", ()))),
    )


def crm_dataset(work: Path, people: int, seed: int) -> Dataset:
    """Generate the multi-source CRM data and read its truth and evidence back."""
    data = work / "data"
    counts = generate(people, seed, data)
    truth: dict[Key, str] = {}
    with (data / TRUTH_FILE).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            truth[row["source"], row["external_id"]] = row["person_id"]
    evidence: dict[Key, Evidence] = {}
    for spec in SOURCES:
        for row in read_rows(data, spec):
            evidence[spec.name, row[spec.id_column]] = evidence_of(row, spec)
    return Dataset(
        name=f"crm {people:,} people",
        files=[InputFile(data / spec.file, spec.name) for spec in SOURCES],
        truth=truth,
        evidence=evidence,
        notes=[f"generated: {json.dumps(counts['hard_negatives'])}"],
    )


# FEBRL headers say rec_id, street_number and soc_sec_id, which the automatic mapping does not
# take for an id (and types the numbers as floats); the rest maps by itself.
FEBRL_MAPPING = """\
kind = "contacts"
id_column = "rec_id"

[custom]
"street_number" = "text"
"soc_sec_id" = "text"
"""
_FEBRL_PERSON = re.compile(r"^rec-(\d+)-")


def febrl_dataset(work: Path, name: str, files: Sequence[str]) -> Dataset:
    """A FEBRL data set: each file one source, the person the number inside rec_id."""
    if not FEBRL_DIR.is_dir():
        raise SystemExit(f"--febrl: {FEBRL_DIR} not found")
    mapping = work / "febrl_mapping.toml"
    mapping.write_text(FEBRL_MAPPING, encoding="utf-8")
    truth: dict[Key, str] = {}
    evidence: dict[Key, Evidence] = {}
    inputs = []
    for file in files:
        path = FEBRL_DIR / file
        source = path.stem.replace("dataset", "febrl")
        inputs.append(InputFile(path, source, mapping))
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, skipinitialspace=True):
                rec_id = row["rec_id"].strip()
                found = _FEBRL_PERSON.match(rec_id)
                if found is None:
                    raise SystemExit(f"{path}: unexpected rec_id {rec_id!r}")
                truth[source, rec_id] = found.group(1)
                evidence[source, rec_id] = Evidence(
                    first_name=row["given_name"],
                    last_name=row["surname"],
                    postcode=row["postcode"],
                    identifiers=(
                        f"dob:{row['date_of_birth'].strip()}",
                        f"ssn:{row['soc_sec_id'].strip()}",
                    ),
                )
    note = "recall ceiling also counts a shared date of birth or social security number"
    return Dataset(name, inputs, truth, evidence, notes=[note])


# =============================================================================================
# Running the command
# =============================================================================================


def _tail(text: str) -> str:
    """The message of a failed command, without the box rich draws around it."""
    plain = re.sub(r"[\u2500-\u257f]", " ", text)
    lines = [" ".join(line.split()) for line in plain.splitlines()]
    message = " ".join(line for line in lines if line)
    found = message.lower().rfind("error")  # rich's "Error" box title or our "error:"
    if found >= 0:
        message = message[found + len("error") :].lstrip(" :")
    return message[-300:] or "no message"


def rolodex(db_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `rolodex --db URL ARGS` the way a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "rolodex", "--db", db_url, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def read_links(path: Path) -> dict[Key, str]:
    """The links export: (source, external_id) -> contact_id."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            (row["source"], row["external_id"]): row["contact_id"] for row in csv.DictReader(handle)
        }


@dataclass
class Scored:
    """One resolver's result on one data set, or why there is none."""

    available: bool
    reason: str = ""
    seconds: float | None = None
    pairs: PairScores | None = None
    clusters: ClusterScores | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """For --json."""
        return {
            "available": self.available,
            "reason": self.reason or None,
            "seconds": self.seconds,
            "pairs": self.pairs.to_dict() if self.pairs else None,
            "clusters": self.clusters.to_dict() if self.clusters else None,
            **self.details,
        }


def score(
    predicted: Mapping[Key, Hashable], truth: Mapping[Key, str], seconds: float | None
) -> Scored:
    """Score one resolver's clusters against the truth."""
    unknown = sum(1 for record in predicted if record not in truth)
    unlinked = sum(1 for record in truth if record not in predicted)
    return Scored(
        available=True,
        seconds=seconds,
        pairs=score_pairs(predicted, truth),
        clusters=score_clusters(predicted, truth),
        details={"unlinked_records": unlinked, "records_not_in_truth": unknown},
    )


# =============================================================================================
# The Splink baseline
# =============================================================================================

_BASELINE_QUERY = """
SELECT r.id AS unique_id, s.name AS source,
       coalesce(r.external_id, r.record_key) AS external_id,
       c.first_name, c.last_name, c.email_key, c.email, c.phone_key, c.postcode, c.city,
       CAST(c.birth_date AS TEXT) AS birth_date
FROM contact_record c
JOIN source_record r ON r.id = c.source_record_id
JOIN source s ON s.id = r.source_id
WHERE r.status = 'accepted'
ORDER BY r.id
"""
_BASELINE_COLUMNS = (
    "unique_id",
    "source",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "postcode",
    "city",
    "birth_date",
)


def _baseline_columns(db: Path) -> list[Sequence[Any]]:
    """The cleaned records the baseline matches, decrypted as the workspace reads them
    (emails, phones and birth dates are sealed in the store), one list per column."""
    import polars as pl
    from sqlalchemy import text as sql_text

    from rolodex.store.sealed import sealer_of
    from rolodex.workspace import Workspace

    folder = Path.cwd()
    try:
        os.chdir(db.parent)  # the workspace's key and vault files sit beside its database
        ws = Workspace(f"sqlite:///{db}")
        with ws.engine.connect() as conn:
            found = conn.execute(sql_text(_BASELINE_QUERY))
            frame = pl.DataFrame(
                [tuple(row) for row in found],
                schema=dict.fromkeys(found.keys(), pl.Utf8),
                orient="row",
            )
            frame = sealer_of(conn).open_frame("contact_record", frame)
        ws.engine.dispose()
    finally:
        os.chdir(folder)
    frame = frame.select(
        pl.col("unique_id").cast(pl.Int64),
        "source",
        "external_id",
        pl.col("first_name").str.to_lowercase(),
        pl.col("last_name").str.to_lowercase(),
        pl.coalesce("email_key", pl.col("email").str.to_lowercase()).alias("email"),
        pl.col("phone_key").alias("phone"),
        pl.col("postcode").str.replace_all(" ", "").str.to_uppercase(),
        pl.col("city").str.to_lowercase(),
        "birth_date",
    )
    return [frame[name].to_list() for name in _BASELINE_COLUMNS]


def splink_baseline(db: Path, *, seed: int) -> tuple[dict[Key, Hashable], dict[str, Any]]:
    """Cluster the workspace's cleaned contact records with a plain Splink person model.

    NameComparison on first and last name, EmailComparison, exact phone, postcode, city and
    birth date (columns with no values at all are left out); blocking on email, phone, first +
    last name, last name + postcode; u by random sampling, the match prior from two strict
    rules, EM on two blocking rules; connected components at probability 0.9.

    Returns:
        (source, external_id) -> cluster id, and what the model was built from.
    """
    import duckdb
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    columns = _baseline_columns(db)
    table = pa.table(
        {
            name: pa.array(values, type=pa.int64() if name == "unique_id" else pa.string())
            for name, values in zip(_BASELINE_COLUMNS, columns, strict=True)
        }
    )
    filled = {
        name: sum(v is not None and v != "" for v in values)
        for name, values in zip(_BASELINE_COLUMNS, columns, strict=True)
    }

    def usable(*names: str) -> bool:
        return all(filled[n] > 0 for n in names)

    comparisons: list[ComparisonCreator | dict[str, Any]] = [
        comparison
        for column, comparison in (
            ("first_name", cl.NameComparison("first_name")),
            ("last_name", cl.NameComparison("last_name")),
            ("email", cl.EmailComparison("email")),
            ("phone", cl.ExactMatch("phone")),
            ("postcode", cl.ExactMatch("postcode")),
            ("city", cl.ExactMatch("city")),
            ("birth_date", cl.ExactMatch("birth_date")),
        )
        if usable(column)
    ]
    blocking: list[BlockingRuleCreator | dict[str, Any]] = [
        block_on(*names)
        for names in (
            ("email",),
            ("phone",),
            ("first_name", "last_name"),
            ("last_name", "postcode"),
        )
        if usable(*names)
    ]
    strict: list[str | BlockingRuleCreator] = [
        block_on(*names)
        for names in (("email",), ("first_name", "last_name", "postcode"))
        if usable(*names)
    ]
    em_rules = [
        names
        for names in (("first_name", "last_name"), ("email",), ("postcode",))
        if usable(*names)
    ][:2]
    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    db_api = DuckDBAPI(connection)
    records = db_api.register(table)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_matching_columns=False,
    )
    linker = Linker(records, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(strict, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    for names in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*names))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=MATCH_THRESHOLD
    )
    cluster_of = dict(clusters.as_duckdbpyrelation().project("unique_id, cluster_id").fetchall())
    predicted: dict[Key, Hashable] = {}
    ids, sources, externals = columns[0], columns[1], columns[2]
    for record, source, external in zip(ids, sources, externals, strict=True):
        # a record Splink left out of every cluster stands alone
        predicted[str(source), str(external)] = cluster_of.get(record, ("alone", record))
    connection.close()
    return predicted, {
        "comparisons": [c for c in _BASELINE_COLUMNS[3:] if usable(c)],
        "em_blocking": [" + ".join(names) for names in em_rules],
        "records": len(ids),
    }


# =============================================================================================
# One data set, end to end
# =============================================================================================


@dataclass
class Result:
    """Everything measured on one data set."""

    dataset: str
    records: int
    people: int
    largest_true: int
    ceiling: Ceiling
    imports: list[dict[str, Any]]
    rolodex: Scored
    baseline: Scored | None
    as_imported: Scored | None  # links before resolve, when resolve is not available
    notes: list[str]
    labelled: Scored | None = None  # after deciding review pairs by the truth
    calibrated: Scored | None = None  # after recalibrating on those labels and resolving again
    calibration: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """For --json."""
        return {
            "dataset": self.dataset,
            "records": self.records,
            "people": self.people,
            "largest_true_cluster": self.largest_true,
            "true_pairs": self.ceiling.true_pairs,
            "recall_ceiling": self.ceiling.share,
            "connected_pairs": self.ceiling.connected_pairs,
            "imports": self.imports,
            "rolodex": self.rolodex.to_dict(),
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "links_without_resolve": self.as_imported.to_dict() if self.as_imported else None,
            "notes": self.notes,
            "labelled": self.labelled.to_dict() if self.labelled else None,
            "calibrated": self.calibrated.to_dict() if self.calibrated else None,
            "calibration": self.calibration or None,
        }


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def label_and_calibrate(
    url: str, work: Path, truth: Mapping[Key, str], count: int
) -> tuple[Scored, Scored, dict[str, Any]]:
    """Do what a reviewer does: decide up to `count` review pairs (here by the truth), then
    `rolodex review calibrate` and `rolodex resolve --full`. Scores the links after the
    decisions alone and after the recalibrated resolve."""
    listed = rolodex(url, "review", "list", "--json", "--limit", str(count), cwd=work)
    if listed.returncode:
        raise SystemExit(f"rolodex review list failed: {_tail(listed.stderr)}")
    verdicts: dict[str, list[str]] = {"accept": [], "reject": []}
    for pair in json.loads(listed.stdout):
        left = truth.get((pair["left"]["source"], pair["left"]["external_id"]))
        right = truth.get((pair["right"]["source"], pair["right"]["external_id"]))
        if left is not None and right is not None:
            verdicts["accept" if left == right else "reject"].append(str(pair["id"]))
    for verb, ids in verdicts.items():
        done = rolodex(url, "review", verb, *ids, cwd=work) if ids else None
        if done is not None and done.returncode:
            raise SystemExit(f"rolodex review {verb} failed: {_tail(done.stderr)}")
    decided = sum(len(ids) for ids in verdicts.values())
    links = work / "links.csv"
    rolodex(url, "export", "links", "--out", str(links), cwd=work)
    labelled = score(read_links(links), truth, None)
    calibrated = rolodex(url, "review", "calibrate", "--json", cwd=work)
    if calibrated.returncode:
        raise SystemExit(f"rolodex review calibrate failed: {_tail(calibrated.stderr)}")
    report = json.loads(calibrated.stdout)
    report["decided"] = decided
    started = time.perf_counter()
    done = rolodex(url, "resolve", "--full", cwd=work)
    if done.returncode:
        raise SystemExit(f"rolodex resolve --full failed: {_tail(done.stderr)}")
    seconds = time.perf_counter() - started
    rolodex(url, "export", "links", "--out", str(links), cwd=work)
    _say(f"  decided {decided} review pairs, recalibrated, resolved again: {seconds:.1f} s")
    return labelled, score(read_links(links), truth, seconds), report


def run(dataset: Dataset, work: Path, *, seed: int, baseline: bool, label: int = 0) -> Result:
    """Import, resolve, export and score one data set in the folder `work`."""
    db = work / "rolodex.db"
    url = f"sqlite:///{db}"
    done = rolodex(url, "init", cwd=work)
    if done.returncode:
        raise SystemExit(f"rolodex init failed: {_tail(done.stderr)}")
    imports = []
    for item in dataset.files:
        args = ["import", str(item.path), "--source", item.source, "--kind", "contacts", "--json"]
        if item.mapping is not None:
            args += ["--mapping", str(item.mapping)]
        started = time.perf_counter()
        done = rolodex(url, *args, cwd=work)
        if done.returncode:
            raise SystemExit(f"rolodex import {item.path.name} failed: {_tail(done.stderr)}")
        for summary in json.loads(done.stdout):
            imports.append(
                {
                    "file": item.path.name,
                    "source": item.source,
                    "read": summary["read"],
                    "accepted": summary["accepted"],
                    "quarantined": summary["quarantined"],
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        _say(f"  imported {item.path.name}: {imports[-1]['read']:,} rows")

    started = time.perf_counter()
    done = rolodex(url, "resolve", cwd=work)
    resolve_seconds = time.perf_counter() - started
    links = work / "links.csv"
    exported = rolodex(url, "export", "links", "--out", str(links), cwd=work)
    if exported.returncode:
        raise SystemExit(f"rolodex export links failed: {_tail(exported.stderr)}")
    as_imported = None
    if done.returncode:
        reason = _tail(done.stderr or done.stdout)
        result = Scored(available=False, reason=reason)
        as_imported = score(read_links(links), dataset.truth, None)
        _say(f"  rolodex resolve not available: {reason}")
    else:
        result = score(read_links(links), dataset.truth, resolve_seconds)
        _say(f"  rolodex resolve: {resolve_seconds:.1f} s")

    base = None
    if baseline:
        started = time.perf_counter()
        try:
            predicted, details = splink_baseline(db, seed=seed)
        except ImportError as exc:
            base = Scored(available=False, reason=f"splink not installed ({exc.name})")
        else:
            base = score(predicted, dataset.truth, time.perf_counter() - started)
            base.details.update(details)
            _say(f"  splink baseline: {base.seconds:.1f} s")
    labelled = calibrated = None
    calibration: dict[str, Any] = {}
    if label and result.available:
        labelled, calibrated, calibration = label_and_calibrate(url, work, dataset.truth, label)
    sizes = Counter(dataset.truth.values())
    return Result(
        dataset=dataset.name,
        records=len(dataset.truth),
        people=len(sizes),
        largest_true=max(sizes.values(), default=0),
        ceiling=recall_ceiling(dataset.truth, dataset.evidence),
        imports=imports,
        rolodex=result,
        baseline=base,
        as_imported=as_imported,
        notes=dataset.notes,
        labelled=labelled,
        calibrated=calibrated,
        calibration=calibration,
    )


# =============================================================================================
# Output
# =============================================================================================


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}"


def _prf(scored: Scored | None) -> list[str]:
    if scored is None:
        return ["skipped", "", ""]
    if not scored.available or scored.pairs is None:
        return ["n/a", "", ""]
    p = scored.pairs
    return [_pct(p.precision), _pct(p.recall), _pct(p.f1)]


def _clusters(scored: Scored | None) -> list[str]:
    if scored is None or scored.clusters is None:
        return ["", "", ""]
    c = scored.clusters
    return [_pct(c.exact_share), f"{c.largest_predicted:,}", f"{c.predicted_clusters:,}"]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def report(results: Sequence[Result]) -> str:
    """The figures as plain-text tables (percentages)."""
    pairwise = _table(
        [
            "data set",
            "records",
            "true pairs",
            "ceiling %",
            "Rolodex P",
            "R",
            "F1",
            "Splink P",
            "R",
            "F1",
            "resolve s",
        ],
        [
            [
                r.dataset,
                f"{r.records:,}",
                f"{r.ceiling.true_pairs:,}",
                _pct(r.ceiling.share),
                *_prf(r.rolodex),
                *_prf(r.baseline),
                f"{r.rolodex.seconds:.1f}" if r.rolodex.seconds is not None else "-",
            ]
            for r in results
        ],
    )
    clusters = _table(
        [
            "data set",
            "true people",
            "largest true",
            "Rolodex exact %",
            "largest",
            "clusters",
            "Splink exact %",
            "largest",
            "clusters",
        ],
        [
            [
                r.dataset,
                f"{r.people:,}",
                f"{r.largest_true:,}",
                *_clusters(r.rolodex),
                *_clusters(r.baseline),
            ]
            for r in results
        ],
    )
    lines = ["Pairwise precision, recall and F1 (%), all records", pairwise, ""]
    lines += ["Clusters (exact %: people whose records are exactly one predicted cluster)"]
    lines += [clusters, ""]
    for r in results:
        if not r.rolodex.available:
            line = f"{r.dataset}: Rolodex not available ({r.rolodex.reason})"
            if r.as_imported and r.as_imported.pairs:
                p = r.as_imported.pairs
                line += (
                    f"; links as imported, before any resolve: {p.predicted_pairs:,} predicted"
                    f" pairs, recall {_pct(p.recall)}%"
                )
            lines.append(line)
        for scored, who in ((r.rolodex, "Rolodex"), (r.baseline, "Splink")):
            if scored is not None and scored.details.get("unlinked_records"):
                lines.append(
                    f"{r.dataset}: {scored.details['unlinked_records']:,} records without a"
                    f" link in {who} (quarantined or not exported), scored as alone"
                )
        quarantined = sum(i["quarantined"] for i in r.imports)
        if quarantined:
            lines.append(f"{r.dataset}: {quarantined:,} rows quarantined by the import")
        for note in r.notes:
            lines.append(f"{r.dataset}: {note}")
        for scored, what in (
            (r.labelled, f"after deciding {r.calibration.get('decided', 0):,} review pairs"),
            (r.calibrated, "after recalibrating on them and `resolve --full`"),
        ):
            if scored is not None and scored.pairs is not None:
                p = scored.pairs
                lines.append(
                    f"{r.dataset}: {what}: P {_pct(p.precision)} R {_pct(p.recall)} F1 {_pct(p.f1)}"
                )
        if r.calibration:
            lines.append(
                f"{r.dataset}: calibration shift {r.calibration['shift']:+.2f} bits, log loss"
                f" {r.calibration['log_loss_before']:.3f} -> {r.calibration['log_loss_after']:.3f}"
            )
    return "\n".join(lines)


# =============================================================================================
# Command line
# =============================================================================================


def datasets(opts: argparse.Namespace, work: Path) -> Iterator[tuple[Dataset, Path]]:
    """The data sets the options ask for, each with its own empty workspace folder."""
    for people in opts.people:
        folder = work / f"crm_{people}_{opts.seed}"
        folder.mkdir()
        _say(f"crm {people:,} people: generating")
        yield crm_dataset(folder, people, opts.seed), folder
    if opts.febrl:
        for name, files in (
            ("febrl3", ["dataset3.csv"]),
            ("febrl4", ["dataset4a.csv", "dataset4b.csv"]),
        ):
            folder = work / name
            folder.mkdir()
            _say(f"{name}:")
            yield febrl_dataset(folder, name, files), folder


def main(argv: Sequence[str] | None = None) -> None:
    """Run every data set asked for and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--people", type=int, nargs="+", default=[20_000], help="sizes of generated data"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--febrl", action="store_true", help="also run FEBRL3 and FEBRL4")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run Splink")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--keep", action="store_true", help="keep the workspaces and data")
    parser.add_argument(
        "--label",
        type=int,
        default=0,
        metavar="N",
        help="then decide N review pairs by the truth, recalibrate and resolve again",
    )
    opts = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="rolodex-accuracy-"))
    results = []
    try:
        for dataset, folder in datasets(opts, work):
            results.append(
                run(
                    dataset,
                    folder,
                    seed=opts.seed,
                    baseline=not opts.skip_baseline,
                    label=opts.label,
                )
            )
    finally:
        if opts.keep:
            _say(f"workspaces kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if opts.json:
        print(json.dumps({"results": [r.to_dict() for r in results], "argv": sys.argv[1:]}))
    else:
        print(report(results))
        print("command: python benchmarks/resolve_accuracy.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
