"""Resolve against ground truth: the seeded multi-source CRM generator of benchmarks/, small.

The benchmark (benchmarks/resolve_accuracy.py) measures the figures at size; this keeps a
floor under them in the test suite, so a change that breaks matching fails here.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from sqlalchemy import text

from rolodex.clean.contacts import clean_contacts, match_values
from rolodex.collect.fields import Kind
from rolodex.collect.rows import RawRow
from rolodex.pipeline.match import _candidate_rows
from rolodex.pipeline.replay import batch_preparer
from rolodex.resolve import model as m
from rolodex.resolve.matcher import Matcher, block_and_score
from rolodex.resolve.realtime import TF_COLUMNS, Scorer, feature_rows, stored_term_frequencies
from rolodex.resolve.run import ResolveSummary, latest_model, read_records
from rolodex.store import repo
from rolodex.workspace import Workspace
from tests.conftest import TEST_KEYS

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    """Load a benchmark script as a module (they are scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], str]]:
    """Six source files of 600 people, and who is who."""
    out = tmp_path_factory.mktemp("crm")
    _load("generate_crm").generate(600, 11, out)
    with (out / "truth.csv").open(newline="", encoding="utf-8") as fh:
        truth = {(r["source"], r["external_id"]): r["person_id"] for r in csv.DictReader(fh)}
    return out, truth


@pytest.fixture(scope="module")
def resolved(
    generated: tuple[Path, dict[tuple[str, str], str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Workspace, ResolveSummary]]:
    """The generated sources imported into one workspace and resolved."""
    folder, _ = generated
    db = tmp_path_factory.mktemp("ws") / "rolodex.db"
    # The keys every test gets (tests/conftest.py), here for the whole module: the store is
    # encrypted, as a deployment's is.
    with (
        pytest.MonkeyPatch.context() as patch,
        Workspace(f"sqlite:///{db}", actor="test") as ws,
    ):
        patch.setenv("ROLODEX_KEYS", TEST_KEYS)
        patch.delenv("ROLODEX_KEY_FILE", raising=False)
        ws.init()
        for spec in _load("generate_crm").SOURCES:
            ws.import_file(folder / spec.file, source=spec.name, kind="contacts")
        yield ws, ws.resolve()


def test_resolve_finds_people_across_sources(
    generated: tuple[Path, dict[tuple[str, str], str]],
    resolved: tuple[Workspace, ResolveSummary],
    tmp_path: Path,
) -> None:
    _, truth = generated
    ws, summary = resolved
    scoring = _load("resolve_accuracy")
    ws.export("links", tmp_path / "links.csv")
    with (tmp_path / "links.csv").open(newline="", encoding="utf-8") as fh:
        links = {(r["source"], r["external_id"]): r["contact_id"] for r in csv.DictReader(fh)}
    known = {k: v for k, v in links.items() if k in truth}
    assert len(known) >= 0.99 * len(truth)
    scores = scoring.score_pairs(known, truth)
    assert scores.precision >= 0.93  # measured 0.97
    assert scores.recall >= 0.78  # measured 0.83
    assert summary.largest_cluster <= 10  # no chaining into giant clusters


def test_single_record_scores_equal_batch_scores(
    resolved: tuple[Workspace, ResolveSummary],
) -> None:
    """With term frequencies in play (a thousand records), the Python scorer behind
    `Workspace.match` and Splink in DuckDB give every pair the same probability."""
    ws, _ = resolved
    with ws.engine.connect() as conn:
        records = read_records(conn)
        stored = latest_model(conn)
        assert conn.execute(text("SELECT count(*) FROM match_tf")).scalar()
        features = m.features(records)
        rows = {r["unique_id"]: r for r in feature_rows(features)}
        # Read back as single-record matching reads them (encrypted names by blind index).
        tf = stored_term_frequencies(conn, list(rows.values()))
    assert stored is not None
    assert {c for c, _ in tf} >= {"name", "city"}  # names, postcodes and cities were counted
    levels = [lvl for c in stored[0]["comparisons"] for lvl in c["comparison_levels"]]
    assert any(lvl.get("tf_adjustment_column") for lvl in levels)
    scorer = Scorer(stored[0])
    with Matcher(features, stored[0]) as matcher:
        candidates = matcher.predict(0.0001)
        pairs = list(zip(candidates["left"].to_list(), candidates["right"].to_list(), strict=True))
        ids = sorted(rows)
        pairs += [(ids[i], ids[-1 - i]) for i in range(200)]  # and pairs blocking never makes
        batch = matcher.score(pairs)
    assert len(batch) > 300
    for left, right, probability in batch.select("left", "right", "probability").iter_rows():
        weights = scorer.weights(rows[left], rows[right], lambda c, v: tf.get((c, v)))
        assert scorer.probability(weights) == pytest.approx(probability, abs=1e-9), (left, right)


def _canonical_chunks(ws: Workspace) -> Iterator[tuple[str, pl.DataFrame]]:
    """Each stored batch's raw rows mapped to canonical values again, as the import (and
    `rolodex clean`) hand them to the clean stage: (source, values)."""
    with ws.engine.connect() as conn:
        batches = conn.execute(
            text(
                "SELECT DISTINCT r.batch_id, s.name FROM source_record r"
                " JOIN source s ON s.id = r.source_id WHERE r.kind = 'contacts'"
                " ORDER BY r.batch_id"
            )
        ).all()
        for batch_id, source in batches:
            mapping = repo.get_batch(conn, int(batch_id))["mapping"] or {}
            rows = conn.execute(
                text(
                    "SELECT payload, file, row_number FROM source_record"
                    " WHERE batch_id = :b ORDER BY id"
                ),
                {"b": batch_id},
            ).all()
            payloads = [json.loads(p) for p in ws.sealer.open("payload", [p for p, _, _ in rows])]
            preparer = batch_preparer(Kind.CONTACTS, str(rows[0][1]), list(payloads[0]), mapping)
            chunk = preparer.prepare(
                [
                    RawRow(int(n or 0), list(v.values()))
                    for v, (_, _, n) in zip(payloads, rows, strict=True)
                ]
            )
            yield str(source), chunk.values


def test_real_time_cleaning_and_features_equal_the_import(
    resolved: tuple[Workspace, ResolveSummary],
) -> None:
    """`Workspace.match` cleans one record with the single-value standardizers and builds its
    features in Python; on every record of six messy sources both equal the import's."""
    ws, _ = resolved
    seen = 0
    for source, values in _canonical_chunks(ws):
        region = ws.settings.clean.region_for(source)
        cleaned = clean_contacts(values, config=ws.settings.clean, region=region).values
        batch = cleaned.with_columns(
            pl.int_range(pl.len()).alias("source_record_id"),
            pl.col("flags").str.json_path_match("$.email.tags").alias("email_tags"),
        )
        expected = feature_rows(m.features(batch))
        for i, row in enumerate(values.iter_rows(named=True)):
            given = {k: str(v) for k, v in row.items() if v not in (None, "")}
            got = match_values(given, region=region)
            for column in ("email_key", "first_name_key", "last_name_key", "phone_key"):
                want = batch[column][i] if column in batch.columns else None
                assert got[column] == want, (source, i, column, given)
            one = m.feature_row({**got, "source_record_id": i})
            assert one == expected[i], (source, i, given)
            seen += 1
    assert seen > 900


def test_stored_candidate_rows_equal_batch_features(
    resolved: tuple[Workspace, ResolveSummary],
) -> None:
    """The real-time match reads its candidates' features straight from SQL; they equal the
    features batch resolve builds from the same records."""
    ws, _ = resolved
    with ws.engine.connect() as conn:
        records = read_records(conn)
        expected = {r["unique_id"]: r for r in feature_rows(m.features(records))}
        got = _candidate_rows(conn, set(expected), [])
    assert {r["unique_id"] for r, _ in got} == set(expected)
    for row, contact in got:
        assert row == expected[row["unique_id"]]
        assert contact is not None


def test_feature_row_reads_identifiers_like_the_columns() -> None:
    custom = [
        {"ssn": "123-45-6789"},
        {"customer_no": 1804974.0},
        {"customer_no": 42, "ssn": None},
        {"Tax_ID": "DE 123"},
        {"ssn": True},
        {},
    ]
    records = pl.DataFrame(
        {
            "source_record_id": list(range(len(custom))),
            "custom": [json.dumps(c) for c in custom],
            "first_name_key": ["ann", "", None, "bo", "j", None],
            "last_name_key": ["lee", "x", None, None, "doe", None],
            "email_key": ["annlee@x.com", "info@y.org", None, "bo@z.de", "jdoe@q.com", None],
            "email_tags": [None, '["role"]', None, '["free"]', None, None],
            "city": ["São Paulo", "  ", None, "Köln-Süd", "NYC", None],
            "postcode": ["sw1a 1aa", "", None, "50667", "10001", None],
        }
    )
    names = m.identifier_fields(["ssn", "customer_no", "Tax_ID", "notes"])
    expected = feature_rows(m.features(records, names))
    for i, row in enumerate(records.iter_rows(named=True)):
        assert m.feature_row(row, names) == expected[i], i


def test_incremental_scoring_in_duckdb_equals_the_python_scorer(
    resolved: tuple[Workspace, ResolveSummary],
) -> None:
    """Incremental resolve blocks and scores in DuckDB from the model's own SQL; every pair
    it finds gets the probability and per-field weights the Python scorer (equal to Splink,
    above) gives, term frequencies included."""
    ws, _ = resolved
    with ws.engine.connect() as conn:
        records = read_records(conn)
        stored = latest_model(conn)
    assert stored is not None
    features = m.features(records)
    counts = {c: m.term_frequencies(features.get_column(c), stored[0]) for c in TF_COLUMNS}
    tf = {(c, v): t for c, frame in counts.items() for v, t in frame.iter_rows()}
    rows = {r["unique_id"]: r for r in feature_rows(features)}
    pending = sorted(rows)[::3]
    found = block_and_score(features, pending, stored[0], counts)
    assert found.height > 300
    assert found["left"].n_unique() > 50
    scorer = Scorer(stored[0])
    names = [n for n, _ in scorer.comparisons]
    for row in found.iter_rows(named=True):
        left, right = row["left"], row["right"]
        assert left < right
        assert left in pending or right in pending
        weights = scorer.weights(rows[left], rows[right], lambda c, v: tf.get((c, v)))
        assert row["probability"] == pytest.approx(scorer.probability(weights), abs=1e-9)
        for name in names:
            assert row[f"w_{name}"] == pytest.approx(weights[name], abs=1e-9), (left, right, name)


def test_big_training_blocks_are_trained_on_a_sample(
    resolved: tuple[Workspace, ResolveSummary], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An EM session over more pairs than the cap runs on a deterministic sample of them,
    and learns about the same m as over the whole block."""
    from rolodex.resolve import matcher

    ws, _ = resolved
    with ws.engine.connect() as conn:
        features = m.features(read_records(conn, narrow=True, custom=False))

    def same_email_m(model: dict[str, object]) -> float:
        """m of "same address", which the same-name block trains."""
        comparisons = model["comparisons"]
        assert isinstance(comparisons, list)
        email = next(c for c in comparisons if c["output_column_name"] == "email")
        return float(email["comparison_levels"][1]["m_probability"])

    with Matcher(features) as whole:
        info = whole.train()
        full = same_email_m(whole.model())
    assert not any("%" in b for b in info.blocks)
    pairs = matcher._pairs_on(features, ("name",))
    cap = pairs // 3
    monkeypatch.setattr(matcher, "_MAX_TRAINING_PAIRS", cap)
    share = -(-pairs // cap)
    with Matcher(features) as part:
        info = part.train()
        sampled = same_email_m(part.model())
    assert f"l.name = r.name AND (l.unique_id + r.unique_id) % {share} = 0" in info.blocks
    assert sampled == pytest.approx(full, abs=0.1)
