"""Resolve against ground truth: the seeded multi-source CRM generator of benchmarks/, small.

The benchmark (benchmarks/resolve_accuracy.py) measures the figures at size; this keeps a
floor under them in the test suite, so a change that breaks matching fails here.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import text

from rolodex.resolve import model as m
from rolodex.resolve.matcher import Matcher
from rolodex.resolve.realtime import Scorer, feature_rows
from rolodex.resolve.run import ResolveSummary, latest_model, read_records
from rolodex.workspace import Workspace

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
    with Workspace(f"sqlite:///{db}", actor="test") as ws:
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
        tf = {(c, v): float(t) for c, v, t in conn.execute(text("SELECT * FROM match_tf"))}
    assert stored is not None
    assert tf  # names, postcodes and cities were counted
    levels = [lvl for c in stored[0]["comparisons"] for lvl in c["comparison_levels"]]
    assert any(lvl.get("tf_adjustment_column") for lvl in levels)
    features = m.features(records)
    rows = {r["unique_id"]: r for r in feature_rows(features)}
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
